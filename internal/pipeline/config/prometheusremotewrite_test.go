package config

import (
	"strings"
	"testing"
	"time"
)

const prwConfig = `receivers:
  otlp:
    protocols:
      http:
extensions:
  sigv4auth:
    region: eu-west-1
    service: aps
exporters:
  prometheusremotewrite:
%s
service:
  extensions: [sigv4auth]
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheusremotewrite]
`

// TestPrometheusRemoteWrite reads the exporter's options, their defaults,
// and the keys accepted with a warning.
func TestPrometheusRemoteWrite(t *testing.T) {
	body := `    endpoint: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write
    auth: {authenticator: sigv4auth}
    headers: {X-Scope-OrgID: tenant}
    namespace: shop
    external_labels: {env: prod}
    resource_to_telemetry_conversion: {enabled: true}
    add_metric_suffixes: false
    send_metadata: true
    max_batch_size_bytes: 100000
    target_info: {enabled: false}
    export_created_metric: {enabled: true}
    compression: snappy
    protobuf_message: prometheus.WriteRequest
    timeout: 2s
    remote_write_queue: {enabled: true, num_consumers: 5}
    retry_on_failure: {enabled: true}
    wal: {directory: /tmp/wal}`
	cfg, err := Parse([]byte(strings.Replace(prwConfig, "%s", body, 1)), "config.yaml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	ex := cfg.Exporters["prometheusremotewrite"]
	o := ex.PrometheusRemoteWrite
	if o == nil || ex.Auth != "sigv4auth" {
		t.Fatalf("exporter %+v", ex)
	}
	want := PrometheusRemoteWriteExporter{
		Endpoint: "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
		Headers:  map[string]string{"X-Scope-OrgID": "tenant"}, Timeout: 2 * time.Second, Namespace: "shop",
		ExternalLabels: map[string]string{"env": "prod"}, ResourceToTelemetry: true, AddMetricSuffixes: false,
		SendMetadata: true, MaxBatchSizeBytes: 100000, TargetInfo: false, CreatedMetric: true,
	}
	if got := *o; got.Endpoint != want.Endpoint || got.Timeout != want.Timeout || got.Namespace != want.Namespace ||
		got.ExternalLabels["env"] != "prod" || !got.ResourceToTelemetry || got.AddMetricSuffixes || !got.SendMetadata ||
		got.MaxBatchSizeBytes != 100000 || got.TargetInfo || !got.CreatedMetric || got.Headers["X-Scope-OrgID"] != "tenant" {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	warnings := strings.Join(cfg.Warnings, "\n")
	for _, w := range []string{"remote_write_queue: accepted and ignored", "retry_on_failure: accepted and ignored", "wal: accepted and ignored"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings %q: want %q", cfg.Warnings, w)
		}
	}
	if s := cfg.Summary(); !strings.Contains(s, "Prometheus remote write 1.0 to https://aps-workspaces") || !strings.Contains(s, "authenticated by sigv4auth") {
		t.Errorf("summary:\n%s", s)
	}

	// An AMP endpoint without an authenticator: a warning.
	unsigned := strings.Replace(strings.Replace(prwConfig, "%s", "    endpoint: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write", 1), "  extensions: [sigv4auth]\n", "", 1)
	cfg, err = Parse([]byte(unsigned), "config.yaml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "accepts only SigV4-signed requests: add auth: {authenticator: sigv4auth}") {
		t.Errorf("warnings %q: want one about signing", cfg.Warnings)
	}

	// translation_strategy, the newer spelling of add_metric_suffixes.
	cfg, err = Parse([]byte(strings.Replace(prwConfig, "%s", "    endpoint: http://h/w\n    translation_strategy: UnderscoreEscapingWithoutSuffixes", 1)), "config.yaml", envMap(nil))
	if err != nil || cfg.Exporters["prometheusremotewrite"].PrometheusRemoteWrite.AddMetricSuffixes {
		t.Errorf("translation_strategy UnderscoreEscapingWithoutSuffixes: %v", err)
	}

	// Defaults.
	cfg, err = Parse([]byte(strings.Replace(prwConfig, "%s", "    endpoint: http://127.0.0.1:9090/api/v1/write", 1)), "config.yaml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	o = cfg.Exporters["prometheusremotewrite"].PrometheusRemoteWrite
	if !o.AddMetricSuffixes || !o.TargetInfo || o.CreatedMetric || o.ResourceToTelemetry || o.SendMetadata ||
		o.MaxBatchSizeBytes != DefaultMaxBatchSizeBytes || o.Timeout != DefaultPrometheusRemoteWriteTimeout {
		t.Errorf("defaults: %+v", o)
	}
}

func TestPrometheusRemoteWriteErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"no endpoint", "    namespace: x", "endpoint is required: the remote write URL"},
		{"gzip", "    endpoint: http://h/w\n    compression: gzip", `compression: unsupported value "gzip"; remote write 1.0 requests are always snappy-compressed`},
		{"remote write 2.0", "    endpoint: http://h/w\n    protobuf_message: io.prometheus.write.v2.Request", `protobuf_message: unsupported value "io.prometheus.write.v2.Request"`},
		{"protocol header", "    endpoint: http://h/w\n    headers: {Content-Encoding: gzip}", "Content-Encoding is set by the remote write protocol"},
		{"label name", "    endpoint: http://h/w\n    external_labels: {1x: a}", `invalid label name "1x"`},
		{"unknown key", "    endpoint: http://h/w\n    scope_info: {enabled: true}", `unknown key "scope_info"; supported: endpoint, headers`},
		{"UTF-8 names", "    endpoint: http://h/w\n    translation_strategy: NoTranslation", `translation_strategy: "NoTranslation" keeps UTF-8 names`},
		{"batch size", "    endpoint: http://h/w\n    max_batch_size_bytes: 10", "max_batch_size_bytes: expected a whole number from 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(prwConfig, "%s", tt.body, 1)), "config.yaml", envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want %q", err, tt.want)
			}
		})
	}
	// Metrics only.
	y := strings.Replace(prwConfig, "%s", "    endpoint: http://h/w", 1) + "    traces:\n      receivers: [otlp]\n      exporters: [prometheusremotewrite]\n"
	if _, err := Parse([]byte(y), "config.yaml", envMap(nil)); err == nil || !strings.Contains(err.Error(), `exporter "prometheusremotewrite" (prometheusremotewrite) exports metrics only; remove it from this traces pipeline`) {
		t.Errorf("traces pipeline: %v", err)
	}
}
