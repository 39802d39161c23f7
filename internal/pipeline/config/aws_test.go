package config

import (
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// TestAWSDefault checks LAMBDAOTEL_EXPORTER=aws: signed per-signal
// endpoints (traces through the awsxray exporter), log group and stream
// headers, metrics on request.
func TestAWSDefault(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantURLs    map[pipeline.Signal]string
		wantGroup   string
		wantStream  string
		wantWarning string
		wantErr     string
	}{
		{
			name:      "lambda defaults",
			env:       map[string]string{"LAMBDAOTEL_EXPORTER": "aws", "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "orders"},
			wantURLs:  map[pipeline.Signal]string{pipeline.Traces: "https://xray.eu-west-1.amazonaws.com/v1/traces", pipeline.Logs: "https://logs.eu-west-1.amazonaws.com/v1/logs"},
			wantGroup: "/aws/lambda/orders", wantStream: "lambdaotel",
			wantWarning: "metrics are not exported",
		},
		{
			name: "own group and stream, metrics, endpoints overridden",
			env: map[string]string{"LAMBDAOTEL_EXPORTER": "AWS", "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "orders",
				"LAMBDAOTEL_AWS_LOG_GROUP": "otel", "LAMBDAOTEL_AWS_LOG_STREAM": "s1", "LAMBDAOTEL_AWS_METRICS": "true",
				"AWS_ENDPOINT_URL_XRAY": "http://127.0.0.1:9/", "LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://x"},
			wantURLs: map[pipeline.Signal]string{pipeline.Traces: "http://127.0.0.1:9/v1/traces", pipeline.Logs: "https://logs.us-east-1.amazonaws.com/v1/logs",
				pipeline.Metrics: "https://monitoring.us-east-1.amazonaws.com/v1/metrics"},
			wantGroup: "otel", wantStream: "s1",
			wantWarning: "LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT is set but not used",
		},
		{name: "no region", env: map[string]string{"LAMBDAOTEL_EXPORTER": "aws"}, wantErr: "LAMBDAOTEL_EXPORTER: aws: AWS_REGION is not set"},
		{name: "other value", env: map[string]string{"LAMBDAOTEL_EXPORTER": "datadog"}, wantErr: `LAMBDAOTEL_EXPORTER: unsupported value "datadog"; supported: aws`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Default(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range pipeline.Signals {
				ps := cfg.PipelinesFor(s)
				want := tc.wantURLs[s]
				if want == "" {
					if len(ps) != 0 {
						t.Errorf("%s: a pipeline, want none", s)
					}
					continue
				}
				if len(ps) != 1 {
					t.Fatalf("%s: %d pipelines", s, len(ps))
				}
				e := cfg.Exporters[ps[0].Exporters[0]]
				if s == pipeline.Traces {
					// The awsxray exporter: signed with the region's xray.
					if a := e.AWSXRay; a == nil || a.Region != tc.env["AWS_REGION"] || a.TracesURL(func(k string) string { return tc.env[k] }) != want {
						t.Errorf("traces exporter %+v (AWSXRay %+v), want awsxray to %s", e, a, want)
					}
					continue
				}
				if got := e.OTLPHTTP.URL(s); got != want {
					t.Errorf("%s URL = %q, want %q", s, got, want)
				}
				x := cfg.Extensions[e.Auth]
				if x == nil || x.SigV4 == nil || x.SigV4.Region != tc.env["AWS_REGION"] {
					t.Errorf("%s: authenticator %q = %+v", s, e.Auth, x)
				}
				if s == pipeline.Logs && (e.OTLPHTTP.Headers["x-aws-log-group"] != tc.wantGroup || e.OTLPHTTP.Headers["x-aws-log-stream"] != tc.wantStream) {
					t.Errorf("log headers = %v", e.OTLPHTTP.Headers)
				}
			}
			if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, tc.wantWarning) {
				t.Errorf("warnings lack %q:\n%s", tc.wantWarning, w)
			}
		})
	}
}

// TestAWSEndpointRecognised checks that an AWS OTLP endpoint given in
// LAMBDAOTEL_EXPORTER_OTLP_* is signed, and that a file sending there
// unsigned gets a warning.
func TestAWSEndpointRecognised(t *testing.T) {
	env := map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://xray.eu-central-1.amazonaws.com/v1/traces"}
	cfg, err := Default(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Exporters[cfg.PipelinesFor(pipeline.Traces)[0].Exporters[0]]
	if e.Auth != "sigv4auth" || cfg.Extensions["sigv4auth"] == nil {
		t.Errorf("exporter %s: Auth = %q, extensions %v", e.ID, e.Auth, cfg.Extensions)
	}
	f, err := Parse([]byte(authBase+"exporters:\n  otlphttp: {traces_endpoint: \"https://xray.eu-central-1.amazonaws.com/v1/traces\"}\n"), "c.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(f.Warnings, "\n"); !strings.Contains(w, "accepts only SigV4-signed requests: add auth: {authenticator: sigv4auth}") {
		t.Errorf("warnings:\n%s", w)
	}
}
