package otlpexporter

import (
	"strings"
	"testing"
	"time"
)

// TestErrorsShowNoSecrets checks that export errors, which the extension
// logs, show neither the password of an endpoint URL nor a query token.
func TestErrorsShowNoSecrets(t *testing.T) {
	addr := closedAddr(t)
	e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: "http://user:PASSWORD@" + addr + "/v1/traces?api_key=SECRET", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
	if err == nil || strings.Contains(err.Error(), "PASSWORD") || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "REDACTED@"+addr) {
		t.Errorf("error %v", err)
	}
	for _, tc := range []struct {
		name string
		make func() error
	}{
		{"bad HTTP URL", func() error {
			_, err := NewHTTP("h", HTTPConfig{TracesURL: "ftp://user:PASSWORD@host/v1/traces"})
			return err
		}},
		{"bad gRPC endpoint", func() error {
			_, err := NewGRPC("g", GRPCConfig{Endpoint: "ftp://user:PASSWORD@host:4317"})
			return err
		}},
	} {
		err := tc.make()
		if err == nil || strings.Contains(err.Error(), "PASSWORD") {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
}
