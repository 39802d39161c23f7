package otlpexporter

import (
	"sort"
	"strings"
	"time"
)

// DescribeClient describes a client's options for `config check`'s summary
// (header values hidden).
func DescribeClient(compression string, timeout time.Duration, headers map[string]string, tls TLSConfig) string {
	parts := []string{"compression " + compression}
	if timeout > 0 {
		parts = append(parts, "timeout "+timeout.String())
	} else {
		parts = append(parts, "no timeout (flush budget only)")
	}
	if len(headers) > 0 {
		names := make([]string, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		sort.Strings(names)
		parts = append(parts, "headers "+strings.Join(names, ", ")+" (values hidden)")
	}
	if tls.CAFile != "" {
		parts = append(parts, "CA "+tls.CAFile)
	}
	if tls.CertFile != "" {
		parts = append(parts, "client certificate "+tls.CertFile)
	}
	if tls.InsecureSkipVerify {
		parts = append(parts, "server certificate NOT verified")
	}
	return strings.Join(parts, ", ")
}
