package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// TestHostileConfig checks that configurations made to expand or to be
// large fail at once with an error naming the limit: merge keys nested 28
// deep used to keep init busy past Lambda's 10 s (the work doubles per
// level), a 10 MB file to take gigabytes.
func TestHostileConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"merge keys 28 deep", hostile.MergeBomb(28), "expand to more than 100000 keys"},
		{"merge keys 60 deep", hostile.MergeBomb(60), "expand to more than 100000 keys"},
		{"aliases 9 deep", hostile.AliasBomb(9), "unknown top-level section"},
		{"10 MB", []byte("# " + strings.Repeat("x", 10<<20) + "\n"), "larger than the limit of 262144 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(func(k string) string {
				if k == config.EnvConfig {
					return path
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n"); n > 51 {
				t.Errorf("error of %d lines", n)
			}
		})
	}
	// At a depth that stays under the limit, merges work as YAML says.
	cfg, err := config.Parse(hostile.MergeBomb(5), "small.yaml", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `unknown top-level section "x0"`) {
		t.Fatalf("small merge: %v, %v", cfg, err)
	}
}

// TestSecretsHidden checks that config check's summary and the errors show
// neither a password in an endpoint URL nor a query token nor a header
// value.
func TestSecretsHidden(t *testing.T) {
	noEnv := func(string) string { return "" }
	good := `receivers:
  otlp:
    protocols:
      http:
exporters:
  otlphttp:
    endpoint: https://user:PASSWORD@otlp.example.com:4318?token=SECRET1
    headers: {x-api-key: SECRET2}
  otlp:
    endpoint: https://user:PASSWORD@otlp.example.com:4317
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp, otlp]}
`
	cfg, err := config.Parse([]byte(good), "c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.ReplaceAll(good, "https://user:PASSWORD@otlp.example.com:4318", "ftp://user:PASSWORD@otlp.example.com:99999")
	_, berr := config.Parse([]byte(bad), "c.yaml", noEnv)
	if berr == nil {
		t.Fatal("a bad URL was accepted")
	}
	for what, s := range map[string]string{"summary": cfg.Summary(), "error": berr.Error()} {
		for _, secret := range []string{"PASSWORD", "SECRET1", "SECRET2"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %s:\n%s", what, secret, s)
			}
		}
	}
	if !strings.Contains(cfg.Summary(), "REDACTED@otlp.example.com") {
		t.Errorf("summary does not show where data goes:\n%s", cfg.Summary())
	}
}

// TestNonLoopbackReceiver checks that a receiver listening beyond the
// environment is accepted with a warning.
func TestNonLoopbackReceiver(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		warn     bool
	}{{"0.0.0.0:4318", true}, {":4318", true}, {"10.0.0.1:4318", true}, {"127.0.0.1:4318", false}, {"localhost:4318", false}, {"[::1]:4318", false}} {
		cfg, err := config.Parse([]byte(`receivers:
  otlp:
    protocols:
      http: {endpoint: "`+tc.endpoint+`"}
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`), "c.yaml", func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(strings.Join(cfg.Warnings, "\n"), "not a loopback address")
		if warned != tc.warn {
			t.Errorf("%s: warnings %q", tc.endpoint, cfg.Warnings)
		}
	}
}
