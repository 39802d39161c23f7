package debugexporter

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestRedactsSecrets checks that the debug output shows no password of a
// URL, no query token and no header value that is a credential.
func TestRedactsSecrets(t *testing.T) {
	for _, v := range []Verbosity{Normal, Detailed} {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("GET")
		a := sp.Attributes()
		a.PutStr("url.full", "https://user:PASSWORD@api.example.com/x?token=SECRET1")
		a.PutStr("http.request.header.authorization", "Bearer SECRET2")
		a.PutStr("http.route", "/orders")
		var out bytes.Buffer
		e, err := New("debug", &out, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.ExportTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, secret := range []string{"PASSWORD", "SECRET1", "SECRET2"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s output shows %s:\n%s", v, secret, s)
			}
		}
		if !strings.Contains(s, "/orders") || !strings.Contains(s, "https://REDACTED@api.example.com/x?token=REDACTED") {
			t.Errorf("%s output lost what is not secret:\n%s", v, s)
		}
	}
}
