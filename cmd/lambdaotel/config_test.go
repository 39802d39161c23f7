package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/hostile"
)

// TestConfigCheck runs `lambdaotel config check` on a valid and on broken
// configurations.
func TestConfigCheck(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("valid.yaml", "receivers:\n  otlp:\n    protocols:\n      http:\nprocessors:\n  batch:\nexporters:\n  otlphttp:\n    endpoint: https://otlp.example.com\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [otlphttp]\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid", []string{"config", "check", valid}, 0, "traces: otlp -> batch (ignored) -> otlphttp"},
		{"unknown exporter", []string{"config", "check", write("bad.yaml", "exporters:\n  kafka:\n")}, 1, `bad.yaml:2:3: exporters: unknown type "kafka"`},
		{"bad CA file", []string{"config", "check", write("ca.yaml", "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlphttp:\n    endpoint: https://x.example.com\n    tls:\n      ca_file: /nonexistent/ca.pem\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n")}, 1, "/nonexistent/ca.pem"},
		{"missing file", []string{"config", "check", filepath.Join(dir, "none.yaml")}, 1, "none.yaml: config file does not exist\n"},
		{"password in an endpoint", []string{"config", "check", write("pw.yaml", "receivers:\n  otlp:\n    protocols:\n      http: {endpoint: 0.0.0.0:4318}\nexporters:\n  otlphttp:\n    endpoint: https://user:PASSWORD@x.example.com?token=SECRET\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n")}, 0, "https://REDACTED@x.example.com"},
		{"non-loopback receiver", []string{"config", "check", filepath.Join(dir, "pw.yaml")}, 0, `"0.0.0.0:4318" is not a loopback address`},
		{"merge bomb", []string{"config", "check", write("bomb.yaml", string(hostile.MergeBomb(40)))}, 1, "expand to more than 100000 keys"},
		{"usage", []string{"config"}, 2, "usage: lambdaotel config check FILE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			code := exitCode(cmd)
			if code != c.code || !strings.Contains(out.String(), c.want) || strings.Contains(out.String(), "PASSWORD") || strings.Contains(out.String(), "SECRET") {
				t.Errorf("exit %d (want %d), output:\n%s\nwant it to contain %q", code, c.code, out.String(), c.want)
			}
		})
	}
}
