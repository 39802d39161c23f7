package awsstandin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsDir holds AWS's SigV4 test suite (see its SOURCE.md).
const vectorsDir = "../pipeline/sigv4auth/testdata/aws-signing-test-suite/v4"

// TestVerifierTestSuite checks this package's own SigV4 implementation
// against AWS's test suite: the canonical request of each request.txt, and
// the signature of each header-signed-request.txt accepted.
func TestVerifierTestSuite(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(vectorsDir, "*"))
	if len(dirs) == 0 {
		t.Fatal("no vectors")
	}
	passed := 0
	for _, d := range dirs {
		name := filepath.Base(d)
		t.Run(name, func(t *testing.T) {
			var ctx struct {
				Credentials struct {
					Secret string `json:"secret_access_key"`
					Token  string `json:"token"`
				} `json:"credentials"`
				Normalize bool   `json:"normalize"`
				Timestamp string `json:"timestamp"`
			}
			read := func(f string) []byte {
				b, err := os.ReadFile(filepath.Join(d, f))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			json.Unmarshal(read("context.json"), &ctx)
			raw := read("header-signed-request.txt")
			if strings.Contains(name, "normalized") || strings.Contains(name, "multiline") || strings.Contains(name, "relative") {
				t.Skip("path normalization and folded headers: requests lambdaotel's clients never send")
			}
			r, path, body := parseRequest(t, raw)
			a, err := parseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			canon := canonicalRequest(r, path, a.SignedHeaders, sha256Hex(body), false)
			if want := string(read("header-canonical-request.txt")); canon != want {
				t.Fatalf("canonical request:\n%s\nwant:\n%s", canon, want)
			}
			got := signature(ctx.Credentials.Secret, r.Header.Get("X-Amz-Date"), a.Date, a.Region, a.Service, canon)
			if want := strings.TrimSpace(string(read("header-signature.txt"))); got != want {
				t.Fatalf("signature %s, want %s", got, want)
			}
			passed++
		})
	}
	if passed < 20 {
		t.Errorf("only %d vectors passed", passed)
	}
}

// parseRequest reads a request of the suite; the path is returned as
// written (the client's unencoded path).
func parseRequest(t *testing.T, raw []byte) (*http.Request, string, []byte) {
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan()
	parts := strings.SplitN(strings.TrimSuffix(sc.Text(), " HTTP/1.1"), " ", 2)
	path, query, _ := strings.Cut(parts[1], "?")
	r := &http.Request{Method: parts[0], URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			t.Fatalf("header line %q", sc.Text())
		}
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		if strings.EqualFold(k, "Content-Length") {
			r.ContentLength = int64(len(body))
			continue
		}
		r.Header.Add(k, v)
	}
	return r, path, body
}
