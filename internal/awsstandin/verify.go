// Package awsstandin is a loopback stand-in for the AWS endpoints
// lambdaotel talks to: the X-Ray and CloudWatch OTLP endpoints, Amazon
// Managed Service for Prometheus' remote write, STS
// AssumeRole, Secrets Manager GetSecretValue, SSM GetParameter and S3
// GetObject. Every request's Signature Version 4 is verified by this
// package's own implementation of the algorithm, written from AWS's
// specification and independent of the SDK signer the product uses; it is
// checked against AWS's published test vectors. Answers, including
// errors, have the shape and codes of the real services.
package awsstandin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// sigError is a failed verification: the AWS error code and message.
type sigError struct {
	Code, Message string
}

func (e *sigError) Error() string { return e.Code + ": " + e.Message }

// authorization is a parsed Authorization header.
type authorization struct {
	AccessKey, Date, Region, Service string
	SignedHeaders                    []string
	Signature                        string
}

func parseAuthorization(h string) (*authorization, error) {
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, algo) {
		return nil, &sigError{"IncompleteSignatureException", "Authorization header requires the AWS4-HMAC-SHA256 algorithm"}
	}
	a := &authorization{}
	for _, part := range strings.Split(h[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return nil, &sigError{"IncompleteSignatureException", fmt.Sprintf("invalid credential scope %q", v)}
			}
			a.AccessKey, a.Date, a.Region, a.Service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKey == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return nil, &sigError{"IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature"}
	}
	return a, nil
}

// uriEncode percent-encodes all but the unreserved characters (and "/"
// when keepSlash), in upper-case hex, as SigV4 specifies.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalRequest builds SigV4's canonical request of r as received,
// with body's hash, signing the headers named in signed. wirePath is the
// path as it came on the wire (already percent-encoded once by the
// client): S3 signs it as it is, every other service encodes it again.
func canonicalRequest(r *http.Request, wirePath string, signed []string, payloadHash string, s3 bool) string {
	path := wirePath
	if path == "" {
		path = "/"
	}
	if !s3 {
		path = uriEncode(path, true)
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	type kv struct{ k, v string }
	var kvs []kv
	for k, vs := range q {
		for _, v := range vs {
			kvs = append(kvs, kv{uriEncode(k, false), uriEncode(v, false)})
		}
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].k != kvs[j].k {
			return kvs[i].k < kvs[j].k
		}
		return kvs[i].v < kvs[j].v
	})
	pairs := make([]string, len(kvs))
	for i, p := range kvs {
		pairs[i] = p.k + "=" + p.v
	}
	var hb strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = []string{fmt.Sprint(r.ContentLength)}
		default:
			vals = r.Header.Values(name)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		hb.WriteString(name + ":" + strings.Join(vals, ",") + "\n")
	}
	return strings.Join([]string{r.Method, path, strings.Join(pairs, "&"), hb.String(), strings.Join(signed, ";"), payloadHash}, "\n")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signature computes the SigV4 signature of a canonical request.
func signature(secret, amzDate, date, region, service, canonical string) string {
	scope := date + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

// credential is a key pair the stand-in accepts, with its session token.
type credential struct {
	secret, token string
	expires       time.Time
}

// verify checks r's signature (body is its whole body) for service in
// region with the credentials in creds, at now (skew up to 15 minutes).
func verify(r *http.Request, body []byte, service, region string, creds func(accessKey string) (credential, bool), now time.Time) (*authorization, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, &sigError{"MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	c, ok := creds(a.AccessKey)
	if !ok {
		return nil, &sigError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if !c.expires.IsZero() && now.After(c.expires) {
		return nil, &sigError{"ExpiredTokenException", "The security token included in the request is expired"}
	}
	if a.Service != service || a.Region != region {
		return nil, &sigError{"InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service/region: '%s/%s', got '%s/%s'", service, region, a.Service, a.Region)}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, a.Date) {
		return nil, &sigError{"IncompleteSignatureException", fmt.Sprintf("invalid or missing X-Amz-Date %q", amzDate)}
	}
	if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return nil, &sigError{"InvalidSignatureException", "Signature expired: " + amzDate + " is now earlier/later than 15 minutes from the server's time"}
	}
	if c.token != "" && r.Header.Get("X-Amz-Security-Token") != c.token {
		return nil, &sigError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	has := map[string]bool{}
	for _, s := range a.SignedHeaders {
		has[s] = true
	}
	for _, must := range []string{"host", "x-amz-date"} {
		if !has[must] {
			return nil, &sigError{"IncompleteSignatureException", "SignedHeaders must include " + must}
		}
	}
	if r.Header.Get("X-Amz-Security-Token") != "" && !has["x-amz-security-token"] {
		return nil, &sigError{"IncompleteSignatureException", "X-Amz-Security-Token is sent but not signed"}
	}
	hash := sha256Hex(body)
	if service == "s3" {
		if got := r.Header.Get("X-Amz-Content-Sha256"); got != hash {
			return nil, &sigError{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
	}
	want := signature(c.secret, amzDate, a.Date, a.Region, a.Service, canonicalRequest(r, r.URL.EscapedPath(), a.SignedHeaders, hash, service == "s3"))
	if !hmac.Equal([]byte(want), []byte(a.Signature)) {
		code := "InvalidSignatureException"
		if service == "s3" {
			code = "SignatureDoesNotMatch"
		}
		return nil, &sigError{code, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return a, nil
}
