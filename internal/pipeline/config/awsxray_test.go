package config

import (
	"strings"
	"testing"
	"time"
)

// TestAWSXRayExporter: the upstream keys are mapped onto X-Ray's OTLP
// endpoint; those without effect are named in one warning; bad values and
// a non-traces pipeline are refused.
func TestAWSXRayExporter(t *testing.T) {
	tests := []struct {
		name     string
		exporter string            // the awsxray exporter's settings, indented by 4
		env      map[string]string // besides AWS_REGION=eu-west-1
		pipeline string            // signal of the pipeline using it; traces if empty
		url      string            // want TracesURL
		check    func(t *testing.T, a *AWSXRayExporter)
		warn     string // want one warning containing this; "" for no warning
		err      string
	}{
		{name: "bare: region from AWS_REGION", url: "https://xray.eu-west-1.amazonaws.com/v1/traces"},
		{name: "region", exporter: "    region: us-east-2\n", url: "https://xray.us-east-2.amazonaws.com/v1/traces"},
		{name: "AWS_ENDPOINT_URL_XRAY", env: map[string]string{"AWS_ENDPOINT_URL_XRAY": "http://127.0.0.1:9000"}, url: "http://127.0.0.1:9000/v1/traces"},
		{name: "endpoint without a path", exporter: "    endpoint: https://vpce-1.xray.us-east-1.vpce.amazonaws.com\n", url: "https://vpce-1.xray.us-east-1.vpce.amazonaws.com/v1/traces"},
		{name: "endpoint with the path", exporter: "    endpoint: https://xray.us-east-1.amazonaws.com/v1/traces\n", url: "https://xray.us-east-1.amazonaws.com/v1/traces"},
		{name: "honoured settings", exporter: "    role_arn: arn:aws:iam::123456789012:role/x\n    external_id: e\n    sts_region: us-west-2\n    request_timeout_seconds: 7\n    no_verify_ssl: true\n    proxy_address: http://proxy:3128\n    aws_log_groups: [/aws/lambda/a]\n    local_mode: true\n    transit_spans_in_otlp_format: true\n    indexed_attributes: [order.id]\n    index_all_attributes: false\n",
			url: "https://xray.eu-west-1.amazonaws.com/v1/traces", check: func(t *testing.T, a *AWSXRayExporter) {
				if a.RoleARN != "arn:aws:iam::123456789012:role/x" || a.ExternalID != "e" || a.STSRegion != "us-west-2" || a.Timeout != 7*time.Second ||
					!a.InsecureSkipVerify || a.ProxyAddress != "http://proxy:3128" || len(a.LogGroups) != 1 || len(a.IndexedAttributes) != 1 || a.IndexAllAttributes {
					t.Errorf("settings %+v", a)
				}
			}},
		{name: "unhonoured settings: one warning", exporter: "    max_retries: 5\n    num_workers: 4\n    resource_arn: arn:aws:lambda:x\n    telemetry:\n      enabled: true\n    retry_on_failure:\n      enabled: true\n",
			url: "https://xray.eu-west-1.amazonaws.com/v1/traces", warn: "exporter awsxray: awsxray sends to X-Ray's OTLP endpoint; these settings have no effect: max_retries (failed requests are retried while the flush budget lasts, lambdaotel.flush.budget); num_workers (",
			check: func(t *testing.T, a *AWSXRayExporter) {
				if len(a.Unhonoured) != 5 {
					t.Errorf("unhonoured %q: want 5", a.Unhonoured)
				}
			}},
		{name: "external_id without a role", exporter: "    external_id: e\n", url: "https://xray.eu-west-1.amazonaws.com/v1/traces", warn: "external_id (no role_arn to assume)"},
		{name: "the X-Ray daemon's address", exporter: "    endpoint: http://127.0.0.1:2000\n", err: `exporters.awsxray.endpoint: http://127.0.0.1:2000 is the X-Ray daemon's address`},
		{name: "bad region", exporter: "    region: Frankfurt\n", err: `exporters.awsxray.region: "Frankfurt" is not an AWS region`},
		{name: "bad role", exporter: "    role_arn: xray-writer\n", err: `exporters.awsxray.role_arn: "xray-writer" is not an ARN`},
		{name: "bad timeout", exporter: "    request_timeout_seconds: soon\n", err: `request_timeout_seconds: expected a whole number`},
		{name: "unknown key", exporter: "    segments: 3\n", err: `exporters.awsxray: unknown key "segments"`},
		{name: "metrics pipeline", pipeline: "metrics", err: `exporter "awsxray" (awsxray) exports traces only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.pipeline
			if sig == "" {
				sig = "traces"
			}
			yaml := "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  awsxray:\n" + tt.exporter +
				"service:\n  pipelines:\n    " + sig + ":\n      receivers: [otlp]\n      exporters: [awsxray]\n"
			env := map[string]string{"AWS_REGION": "eu-west-1"}
			for k, v := range tt.env {
				env[k] = v
			}
			getenv := func(k string) string { return env[k] }
			cfg, err := Parse([]byte(yaml), "config.yaml", getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := cfg.Exporters["awsxray"].AWSXRay
			if a == nil {
				t.Fatalf("exporter %+v", cfg.Exporters["awsxray"])
			}
			if got := a.TracesURL(getenv); got != tt.url {
				t.Errorf("traces URL %q, want %q", got, tt.url)
			}
			var ws []string
			for _, w := range cfg.Warnings {
				if strings.HasPrefix(w, "exporter awsxray") {
					ws = append(ws, w)
				}
			}
			switch {
			case tt.warn == "" && len(ws) > 0:
				t.Errorf("warnings %q, want none", ws)
			case tt.warn != "" && (len(ws) != 1 || !strings.Contains(ws[0], tt.warn)):
				t.Errorf("warnings %q, want one containing %q", ws, tt.warn)
			}
			if tt.check != nil {
				tt.check(t, a)
			}
			if s := cfg.Summary(); !strings.Contains(s, "signed with SigV4 (xray,") {
				t.Errorf("summary:\n%s", s)
			}
		})
	}
}
