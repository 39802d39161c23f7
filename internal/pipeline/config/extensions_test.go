package config

import (
	"strings"
	"testing"
)

const authBase = `
receivers:
  otlp:
    protocols: {http: {}}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp]}
`

// TestExtensionsParse checks the authenticator extensions and an
// exporter's auth reference, as upstream configurations write them.
func TestExtensionsParse(t *testing.T) {
	cfg, err := Parse([]byte(`
extensions:
  sigv4auth:
    region: eu-west-1
    service: xray
    assume_role: {arn: "arn:aws:iam::123456789012:role/otel", sts_region: us-east-1}
  basicauth/b: {client_auth: {username: u, password: p}}
  bearertokenauth: {token: t}
  headers_setter: {headers: [{key: X-Scope, value: tenant}, {key: X-Drop, action: delete}]}
  health_check: {}
exporters:
  otlphttp:
    endpoint: https://xray.eu-west-1.amazonaws.com
    auth: {authenticator: sigv4auth}
`+authBase), "config.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Exporters["otlphttp"].Auth; got != "sigv4auth" {
		t.Errorf("Auth = %q", got)
	}
	s := cfg.Extensions["sigv4auth"].SigV4
	if s == nil || s.Region != "eu-west-1" || s.Service != "xray" || s.AssumeRoleARN != "arn:aws:iam::123456789012:role/otel" || s.STSRegion != "us-east-1" {
		t.Errorf("sigv4auth = %+v", s)
	}
	if b := cfg.Extensions["basicauth/b"].Basic; b == nil || b.Username != "u" || b.Password != "p" {
		t.Errorf("basicauth = %+v", b)
	}
	if b := cfg.Extensions["bearertokenauth"].Bearer; b == nil || b.Scheme != "Bearer" || b.Token != "t" {
		t.Errorf("bearertokenauth = %+v", b)
	}
	if h := cfg.Extensions["headers_setter"].Headers; h == nil || len(h.Headers) != 2 || h.Headers[0].Action != Upsert || h.Headers[1].Action != Delete {
		t.Errorf("headers_setter = %+v", h)
	}
	if _, ok := cfg.Extensions["health_check"]; ok {
		t.Error("health_check kept")
	}
	warnings := strings.Join(cfg.Warnings, "\n")
	for _, w := range []string{"accepted and ignored: lambdaotel does not run collector extensions (health_check)", "extension basicauth/b is declared but no exporter uses it"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
	if sum := cfg.Summary(); !strings.Contains(sum, "authenticated by sigv4auth") {
		t.Errorf("summary:\n%s", sum)
	}
}

// TestExtensionsErrors checks the errors for bad authenticators.
func TestExtensionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"undeclared", `
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: sigv4auth}}
`, `config.yaml:3:59: exporters.otlphttp.auth.authenticator: "sigv4auth" is not declared; declare it under extensions (types: sigv4auth, basicauth, bearertokenauth, headers_setter)`},
		{"other declared", `
extensions: {basicauth: {client_auth: {username: u}}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: basicauth/x}}
`, `exporters.otlphttp.auth.authenticator: "basicauth/x" is not declared; declared authenticators: basicauth`},
		{"not an authenticator", `
extensions: {health_check: {}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: health_check}}
`, `extension "health_check" is not an authenticator`},
		{"unknown key", `
extensions: {sigv4auth: {regoin: x}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: sigv4auth}}
`, `extensions.sigv4auth: unknown key "regoin"; supported: region, service, assume_role`},
		{"bad arn", `
extensions: {sigv4auth: {assume_role: {arn: role/x}}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: sigv4auth}}
`, `extensions.sigv4auth.assume_role.arn: "role/x" is not an ARN`},
		{"auth without authenticator", `
exporters:
  otlphttp: {endpoint: "https://x", auth: {name: x}}
`, `exporters.otlphttp.auth: unknown key "name"; supported: authenticator`},
		{"from_context", `
extensions: {headers_setter: {headers: [{key: X-Tenant, from_context: tenant}]}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: headers_setter}}
`, `from_context: not supported`},
		{"oauth2client", `
extensions: {oauth2client: {client_id: x}}
exporters:
  otlphttp: {endpoint: "https://x"}
`, `oauth2client is not supported by lambdaotel`},
		{"service lists undeclared", `
exporters:
  otlphttp: {endpoint: "https://x"}
service:
  extensions: [sigv4auth]
`, `service.extensions: extension "sigv4auth" is not declared under extensions`},
		{"bearer without token", `
extensions: {bearertokenauth: {scheme: Token}}
exporters:
  otlphttp: {endpoint: "https://x", auth: {authenticator: bearertokenauth}}
`, `extensions.bearertokenauth: token or filename is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.yaml + authBase
			if strings.Contains(tc.yaml, "service:") {
				y = strings.Replace(authBase, "service:\n", tc.yaml[strings.Index(tc.yaml, "service:"):], 1)
				y = tc.yaml[:strings.Index(tc.yaml, "service:")] + y
			}
			_, err := Parse([]byte(y), "config.yaml", func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant %s", err, tc.want)
			}
		})
	}
}
