package pipeline

import (
	"net/url"
	"strings"
)

// Redacted is what replaces a secret in messages.
const Redacted = "REDACTED"

// RedactURL returns u, a URL or a host:port endpoint, for messages: the
// user information (user:password@) and the value of every query
// parameter (tokens travel there) replaced by Redacted. A string that is
// not a URL is returned with anything before an @ redacted.
func RedactURL(u string) string {
	if !strings.ContainsAny(u, "@?") {
		return u
	}
	if strings.Contains(u, "://") {
		if pu, err := url.Parse(u); err == nil {
			if pu.User != nil {
				pu.User = url.User(Redacted)
			}
			if pu.RawQuery != "" {
				pairs := strings.Split(pu.RawQuery, "&")
				for i, kv := range pairs {
					k, _, _ := strings.Cut(kv, "=")
					if _, err := url.QueryUnescape(k); err != nil {
						k = Redacted // not even the key can be shown as it is
					}
					pairs[i] = k + "=" + Redacted
				}
				pu.RawQuery = strings.Join(pairs, "&")
			}
			return pu.String()
		}
	}
	// Not a URL that parses: keep only what cannot be a secret.
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		scheme := ""
		if i := strings.Index(u, "://"); i >= 0 && i < at {
			scheme = u[:i+3]
		}
		u = scheme + Redacted + u[at:]
	}
	if q := strings.IndexByte(u, '?'); q >= 0 {
		u = u[:q+1] + Redacted
	}
	return u
}
