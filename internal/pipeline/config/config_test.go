package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourceprocessor"
)

// envMap returns a getenv over m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// stripPos zeroes the positions so that configs can be compared by value.
func stripPos(c *Config) *Config {
	for _, r := range c.Receivers {
		r.Pos = Position{}
	}
	for _, p := range c.Processors {
		p.Pos = Position{}
	}
	for _, e := range c.Exporters {
		e.Pos = Position{}
	}
	for _, p := range c.Pipelines {
		p.Pos = Position{}
	}
	return c
}

func parseFile(t *testing.T, path string, env map[string]string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, path, envMap(env))
}

func TestParseUpstreamLayerConfig(t *testing.T) {
	cfg, err := parseFile(t, "testdata/upstream.yaml", map[string]string{
		"BACKEND_URL":        "https://otlp.example.com:4318",
		"BACKEND_TOKEN":      "s3cret",
		"SW_APM_DATA_CENTER": "na-01",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Source: "testdata/upstream.yaml",
		Receivers: map[string]*Receiver{
			"otlp": {ID: "otlp", Type: "otlp", OTLP: &OTLPReceiver{
				GRPC: &GRPCServer{Endpoint: "localhost:4317"},
				HTTP: &HTTPServer{Endpoint: "localhost:4318"},
			}},
		},
		Processors: map[string]*Processor{
			"batch":    {ID: "batch", Type: "batch"},
			"decouple": {ID: "decouple", Type: "decouple"},
		},
		Exporters: map[string]*Exporter{
			"debug": {ID: "debug", Type: "debug", Debug: &DebugExporter{Verbosity: "detailed"}},
			"otlphttp": {ID: "otlphttp", Type: "otlphttp", OTLPHTTP: &OTLPHTTPExporter{
				Endpoint:    "https://otlp.example.com:4318",
				Headers:     map[string]string{"Authorization": "Bearer s3cret"},
				Compression: "gzip",
				Timeout:     30 * time.Second,
				Encoding:    "proto",
			}},
			"otlp": {ID: "otlp", Type: "otlp", OTLP: &OTLPExporter{
				Endpoint:    "https://otel.collector.na-01.example.com:443",
				Headers:     map[string]string{"Authorization": "Bearer s3cret"},
				Compression: "gzip",
				Timeout:     5 * time.Second,
			}},
		},
		Pipelines: map[string]*Pipeline{
			"traces":  {ID: "traces", Signal: pipeline.Traces, Receivers: []string{"otlp"}, Processors: []string{"batch", "decouple"}, Exporters: []string{"otlphttp", "debug"}},
			"metrics": {ID: "metrics", Signal: pipeline.Metrics, Receivers: []string{"otlp"}, Processors: []string{"decouple"}, Exporters: []string{"otlp"}},
			"logs":    {ID: "logs", Signal: pipeline.Logs, Receivers: []string{"otlp"}, Exporters: []string{"otlphttp"}},
		},
		Settings: with(nil),
		Warnings: []string{
			"processor batch: accepted and ignored: lambdaotel flushes at the end of each invocation and bounds its buffer itself",
			"processor decouple: accepted and ignored: lambdaotel's receivers always answer at once and export after the function responds",
		},
	}
	if got := stripPos(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func TestParseFullConfig(t *testing.T) {
	cfg, err := parseFile(t, "testdata/full.yaml", map[string]string{"API_KEY": "k"})
	if err != nil {
		t.Fatal(err)
	}
	// Positions point at the component's key.
	if got, want := cfg.Exporters["otlp_http/backend"].Pos, (Position{File: "testdata/full.yaml", Line: 38, Column: 3}); got != want {
		t.Errorf("exporter position = %v, want %v", got, want)
	}
	if got, want := cfg.Pipelines["traces/platform"].Pos.String(), "testdata/full.yaml:67:5"; got != want {
		t.Errorf("pipeline position = %v, want %v", got, want)
	}
	want := &Config{
		Source: "testdata/full.yaml",
		Receivers: map[string]*Receiver{
			"otlp/app": {ID: "otlp/app", Type: "otlp", OTLP: &OTLPReceiver{
				GRPC: &GRPCServer{Endpoint: "127.0.0.1:5317", MaxRecvMsgSizeMiB: 8},
				HTTP: &HTTPServer{Endpoint: "127.0.0.1:4318"},
			}},
			"telemetryapi": {ID: "telemetryapi", Type: "telemetryapi", TelemetryAPI: &TelemetryAPIReceiver{
				Types: []string{"platform", "function", "extension"},
			}},
			"telemetryapi/platform": {ID: "telemetryapi/platform", Type: "telemetryapi", TelemetryAPI: &TelemetryAPIReceiver{
				Types: []string{"platform"}, Port: 4326,
			}},
		},
		Processors: map[string]*Processor{
			"memory_limiter": {ID: "memory_limiter", Type: "memory_limiter"},
			"resource": {ID: "resource", Type: "resource", Options: &resourceprocessor.Config{Attributes: []resourceprocessor.AttributeAction{
				{Key: "deployment.environment", Action: resourceprocessor.Upsert, Value: "dev"},
				{Key: "team.size", Action: resourceprocessor.Insert, Value: int64(7)},
				{Key: "sampling.ratio", Action: resourceprocessor.Insert, Value: 0.25},
				{Key: "billing.enabled", Action: resourceprocessor.Update, Value: true},
				{Key: "service.namespace", Action: resourceprocessor.Insert, FromAttribute: "faas.name"},
				{Key: "process.command_args", Action: resourceprocessor.Delete},
			}}},
		},
		Exporters: map[string]*Exporter{
			"otlp_http/backend": {ID: "otlp_http/backend", Type: "otlphttp", OTLPHTTP: &OTLPHTTPExporter{
				Endpoint:     "https://otlp.example.com:4318/otlp/",
				LogsEndpoint: "https://logs.example.com/ingest",
				Headers:      map[string]string{"x-api-key": "k"},
				Compression:  "none",
				Timeout:      2 * time.Second,
				TLS:          TLS{CAFile: "/var/task/ca.pem"},
				Encoding:     "json",
			}},
			"otlp_grpc/gateway": {ID: "otlp_grpc/gateway", Type: "otlp", OTLP: &OTLPExporter{
				Endpoint:    "gateway.internal:4317",
				Compression: "gzip",
				Timeout:     5 * time.Second,
				TLS:         TLS{Insecure: true},
			}},
			"debug": {ID: "debug", Type: "debug", Debug: &DebugExporter{Verbosity: "basic"}},
		},
		Pipelines: map[string]*Pipeline{
			"traces":          {ID: "traces", Signal: pipeline.Traces, Receivers: []string{"otlp/app", "telemetryapi"}, Processors: []string{"memory_limiter", "resource"}, Exporters: []string{"otlp_http/backend", "otlp_grpc/gateway"}},
			"traces/platform": {ID: "traces/platform", Signal: pipeline.Traces, Receivers: []string{"telemetryapi/platform"}, Exporters: []string{"debug"}},
			"metrics":         {ID: "metrics", Signal: pipeline.Metrics, Receivers: []string{"otlp/app"}, Processors: []string{"resource"}, Exporters: []string{"otlp_grpc/gateway"}},
			"logs":            {ID: "logs", Signal: pipeline.Logs, Receivers: []string{"telemetryapi"}, Exporters: []string{"otlp_http/backend"}},
		},
		Settings: with(func(s *Settings) {
			s.Flush.Budget = 750 * time.Millisecond
			s.Buffer.MaxBytes = 32 << 20
			s.LogLevel = slog.LevelDebug
		}),
		Warnings: []string{
			"processor memory_limiter: accepted and ignored: lambdaotel bounds its buffer itself (lambdaotel.buffer.max_bytes)",
			"exporters.otlp_grpc/gateway.retry_on_failure: accepted and ignored: lambdaotel exports within each invocation's flush budget and handles failed batches itself",
			"extensions: accepted and ignored: lambdaotel does not run collector extensions (health_check)",
			"service.extensions: accepted and ignored: lambdaotel does not run collector extensions (health_check)",
		},
	}
	if got := stripPos(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %s\nwant %s", dump(got), dump(want))
	}

	var ids []string
	for _, p := range cfg.PipelinesFor(pipeline.Traces) {
		ids = append(ids, p.ID)
	}
	if got := strings.Join(ids, " "); got != "traces traces/platform" {
		t.Errorf("PipelinesFor(traces) = %s", got)
	}
	if got := cfg.Exporters["otlp_http/backend"].OTLPHTTP.URL(pipeline.Traces); got != "https://otlp.example.com:4318/otlp/v1/traces" {
		t.Errorf("traces URL = %s", got)
	}
}

func dump(c *Config) string {
	var b strings.Builder
	b.WriteString("{")
	for _, id := range sortedKeys(c.Receivers) {
		r := c.Receivers[id]
		b.WriteString("\n  receiver " + id + ": ")
		b.WriteString(sprint(*r))
		if r.OTLP != nil {
			b.WriteString(" grpc=" + sprint(r.OTLP.GRPC) + " http=" + sprint(r.OTLP.HTTP))
		}
		if r.TelemetryAPI != nil {
			b.WriteString(" " + sprint(*r.TelemetryAPI))
		}
	}
	for _, id := range sortedKeys(c.Processors) {
		p := c.Processors[id]
		b.WriteString("\n  processor " + id + ": " + sprint(*p))
		if p.Options != nil {
			b.WriteString(" " + sprint(p.Options))
		}
	}
	for _, id := range sortedKeys(c.Exporters) {
		e := c.Exporters[id]
		b.WriteString("\n  exporter " + id + ": " + sprint(*e))
		switch {
		case e.OTLP != nil:
			b.WriteString(" " + sprint(*e.OTLP))
		case e.OTLPHTTP != nil:
			b.WriteString(" " + sprint(*e.OTLPHTTP))
		case e.Debug != nil:
			b.WriteString(" " + sprint(*e.Debug))
		}
	}
	for _, id := range sortedKeys(c.Pipelines) {
		b.WriteString("\n  pipeline " + id + ": " + sprint(*c.Pipelines[id]))
	}
	b.WriteString("\n  settings: " + sprint(c.Settings))
	b.WriteString("\n  source: " + c.Source)
	for _, w := range c.Warnings {
		b.WriteString("\n  warning: " + w)
	}
	b.WriteString("\n}")
	return b.String()
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

// TestParseErrors checks the exact message of every kind of mistake.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{
			name: "YAML syntax: mapping value",
			yaml: "receivers:\n  otlp: protocols: grpc\n",
			want: "config.yaml:2: invalid YAML: mapping values are not allowed in this context",
		},
		{
			name: "YAML syntax: unclosed bracket",
			yaml: "receivers:\n  otlp:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp\n      exporters: [debug]\n",
			want: "config.yaml:6: invalid YAML: did not find expected ',' or ']'",
		},
		{
			name: "empty file",
			yaml: "# nothing here\n",
			want: "config.yaml: the configuration is empty; it needs receivers, exporters and service.pipelines",
		},
		{
			name: "not a mapping",
			yaml: "- receivers\n",
			want: `config.yaml:1:1: the configuration must be a mapping with receivers, exporters and service, got a list`,
		},
		{
			name: "unknown top-level section",
			yaml: minimal + "receiver:\n  otlp:\n",
			want: `config.yaml:13:1: unknown top-level section "receiver"; supported: receivers, processors, exporters, service, extensions, connectors, lambdaotel`,
		},
		{
			name: "unknown exporter type",
			yaml: minimalWith("exporters", "  kafka:\n    brokers: [localhost:9092]\n"),
			want: `config.yaml:8:3: exporters: unknown type "kafka"; supported: otlp, otlphttp, debug, awsxray, awsemf, prometheusremotewrite`,
		},
		{
			name: "unknown exporter type with a name",
			yaml: minimalWith("exporters", "  kafka/events:\n    brokers: [localhost:9092]\n"),
			want: `config.yaml:8:3: exporters: unknown type "kafka"; supported: otlp, otlphttp, debug, awsxray, awsemf, prometheusremotewrite`,
		},
		{
			name: "logging exporter's loglevel",
			yaml: minimalWith("exporters", "  logging:\n    loglevel: verbose\n"),
			want: `config.yaml:9:15: exporters.logging.loglevel: unsupported value "verbose"; supported: debug, info, warn, error`,
		},
		{
			name: "unknown processor type",
			yaml: minimal + "processors:\n  tail_sampling:\n    decision_wait: 10s\n  resourcedetection:\n    detectors: [env, ec2]\n",
			want: `config.yaml:14:3: processors: unknown type "tail_sampling"; supported: batch, coldstart, decouple, memory_limiter, resource, resourcedetection; tail sampling needs a collector that sees whole traces: run it behind the exporter` + "\n" +
				`config.yaml:17:22: processors.resourcedetection.detectors: detector "ec2" does not apply in Lambda; supported: env, lambda, system (remove it: lambda detects the function's cloud and faas attributes)`,
		},
		{
			name: "unknown receiver type",
			yaml: minimalWith("receivers", "  telemetryapireceiver:\n"),
			want: `config.yaml:5:3: receivers: unknown type "telemetryapireceiver"; supported: otlp, telemetryapi; the Telemetry API receiver's type is "telemetryapi"`,
		},
		{
			name: "invalid component id",
			yaml: minimalWith("exporters", "  otlp/:\n    endpoint: a:1\n"),
			want: `config.yaml:8:3: exporters: invalid id "otlp/": the name after "/" is empty`,
		},
		{
			name: "unknown key in exporter",
			yaml: minimalWith("exporters", "  otlphttp:\n    endpoint: https://otlp.example.com\n    retries: 3\n"),
			want: `config.yaml:10:5: exporters.otlphttp: unknown key "retries"; supported: endpoint, traces_endpoint, metrics_endpoint, logs_endpoint, headers, compression, timeout, tls, encoding, auth`,
		},
		{
			name: "unknown key in tls",
			yaml: minimalWith("exporters", "  otlp/b:\n    endpoint: a.example.com:4317\n    tls:\n      ca_pem: xxx\n"),
			want: `config.yaml:11:7: exporters.otlp/b.tls: unknown key "ca_pem"; supported: insecure, insecure_skip_verify, ca_file, cert_file, key_file`,
		},
		{
			name: "unknown key in otlp receiver protocol",
			yaml: strings.Replace(minimal, "      grpc:\n", "      grpc:\n        transport: tcp\n", 1),
			want: `config.yaml:5:9: receivers.otlp.protocols.grpc: unknown key "transport"; supported: endpoint, max_recv_msg_size_mib`,
		},
		{
			name: "pipeline names an undeclared exporter",
			yaml: strings.Replace(minimal, "exporters: [otlp]", "exporters: [otlp, otlphttp/backend]", 1),
			want: `config.yaml:12:25: service.pipelines.traces: exporter "otlphttp/backend" is not declared; declared exporters: otlp`,
		},
		{
			name: "pipeline names an undeclared receiver",
			yaml: strings.Replace(minimal, "receivers: [otlp]", "receivers: [otlp, telemetryapi]", 1),
			want: `config.yaml:11:25: service.pipelines.traces: receiver "telemetryapi" is not declared; declared receivers: otlp`,
		},
		{
			name: "pipeline names an undeclared processor",
			yaml: strings.Replace(minimal, "receivers: [otlp]", "receivers: [otlp]\n      processors: [batch]", 1),
			want: `config.yaml:12:20: service.pipelines.traces: processor "batch" is not declared; no processors are declared`,
		},
		{
			name: "pipeline lists a receiver twice",
			yaml: strings.Replace(minimal, "receivers: [otlp]", "receivers: [otlp, otlp]", 1),
			want: `config.yaml:11:25: service.pipelines.traces: receiver "otlp" is listed twice`,
		},
		{
			name: "pipeline without exporters",
			yaml: strings.Replace(minimal, "      exporters: [otlp]\n", "", 1),
			want: "config.yaml:10:5: service.pipelines.traces: no exporters; a pipeline needs at least one exporter",
		},
		{
			name: "pipeline without receivers",
			yaml: strings.Replace(minimal, "receivers: [otlp]", "receivers: []", 1),
			want: "config.yaml:10:5: service.pipelines.traces: no receivers; a pipeline needs at least one receiver",
		},
		{
			name: "pipeline list is not a list",
			yaml: strings.Replace(minimal, "receivers: [otlp]", "receivers: otlp", 1),
			want: `config.yaml:11:18: service.pipelines.traces.receivers: expected a list, e.g. [a, b], got "otlp"`,
		},
		{
			name: "unknown signal",
			yaml: strings.Replace(minimal, "    traces:", "    profiles:", 1),
			want: `config.yaml:10:5: service.pipelines: unknown signal "profiles" in pipeline "profiles"; supported: traces, metrics, logs`,
		},
		{
			name: "no pipelines",
			yaml: "receivers:\n  otlp:\n    protocols: {http: {}}\nexporters:\n  debug:\nservice:\n  telemetry:\n    logs:\n      level: info\n",
			want: "config.yaml:6:1: service.pipelines: no pipelines; add at least one of traces, metrics, logs",
		},
		{
			name: "no service",
			yaml: "receivers:\n  otlp:\n    protocols: {http: {}}\nexporters:\n  debug:\n",
			want: "config.yaml:1:1: service: missing; add service.pipelines with at least one of traces, metrics, logs",
		},
		{
			name: "connectors",
			yaml: minimal + "connectors:\n  spanmetrics:\n",
			want: "config.yaml:13:1: connectors: not supported by lambdaotel; connect receivers to exporters within each pipeline instead",
		},
		{
			name: "bad otlphttp endpoint scheme",
			yaml: minimalWith("exporters", "  otlphttp:\n    endpoint: htps://otlp.example.com\n"),
			want: `config.yaml:9:15: exporters.otlphttp.endpoint: invalid URL "htps://otlp.example.com": the scheme must be http or https, e.g. https://otlp.example.com:4318`,
		},
		{
			name: "otlphttp endpoint without scheme",
			yaml: minimalWith("exporters", "  otlphttp:\n    endpoint: otlp.example.com:4318\n"),
			want: `config.yaml:9:15: exporters.otlphttp.endpoint: invalid URL "otlp.example.com:4318": the scheme must be http or https, e.g. https://otlp.example.com:4318`,
		},
		{
			name: "otlphttp endpoint with a space in the host",
			yaml: minimalWith("exporters", "  otlphttp:\n    traces_endpoint: \"https://otlp example.com/v1/traces\"\n"),
			want: `config.yaml:9:22: exporters.otlphttp.traces_endpoint: invalid URL "https://otlp example.com/v1/traces": invalid character " " in host name`,
		},
		{
			name: "otlphttp endpoint from an unset variable's default",
			yaml: minimalWith("exporters", "  otlphttp:\n    endpoint: ${env:BACKEND:-https://}\n"),
			want: `config.yaml:9:15: exporters.otlphttp.endpoint: invalid URL "https://": no host; use a URL such as https://otlp.example.com:4318`,
		},
		{
			name: "otlphttp without endpoint",
			yaml: minimalWith("exporters", "  otlphttp:\n    compression: gzip\n"),
			want: `config.yaml:8:3: exporters.otlphttp: endpoint is required: the backend's base URL, e.g. https://otlp.example.com:4318 (/v1/traces, /v1/metrics and /v1/logs are appended)`,
		},
		{
			name: "otlphttp without the endpoint of a signal it exports",
			yaml: strings.Replace(minimalWith("exporters", "  otlphttp:\n    logs_endpoint: https://logs.example.com/v1/logs\n"), "exporters: [otlp]", "exporters: [otlp, otlphttp]", 1),
			want: `config.yaml:14:25: service.pipelines.traces: exporter "otlphttp" has no endpoint for traces; set endpoint or traces_endpoint in exporters.otlphttp`,
		},
		{
			name: "otlp endpoint with a path",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "https://otlp.example.com:4317/v1/traces", 1),
			want: `config.yaml:7:15: exporters.otlp.endpoint: invalid endpoint "https://otlp.example.com:4317/v1/traces": a gRPC endpoint has no path; use host:port or https://host:port`,
		},
		{
			name: "otlp endpoint without port",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "otlp.example.com", 1),
			want: `config.yaml:7:15: exporters.otlp.endpoint: invalid endpoint "otlp.example.com": use host:port (e.g. otlp.example.com:4317) or https://host:port`,
		},
		{
			name: "otlp without endpoint",
			yaml: strings.Replace(minimal, "    endpoint: otlp.example.com:4317\n", "    compression: gzip\n", 1),
			want: `config.yaml:6:3: exporters.otlp: endpoint is required: the backend's host:port or URL, e.g. https://otlp.example.com:4317`,
		},
		{
			name: "bad compression, timeout and tls",
			yaml: strings.Replace(minimal, "    endpoint: otlp.example.com:4317\n", "    endpoint: otlp.example.com:4317\n    compression: snappy\n    timeout: 5\n    tls:\n      cert_file: /c.pem\n      insecure: yes\n", 1),
			want: `config.yaml:8:18: exporters.otlp.compression: unsupported value "snappy"; supported: gzip, zstd, none` + "\n" +
				`config.yaml:9:14: exporters.otlp.timeout: invalid duration "5"; use a number with a unit, e.g. 500ms or 5s` + "\n" +
				`config.yaml:11:7: exporters.otlp.tls: cert_file and key_file go together: set both for mutual TLS, or neither` + "\n" +
				`config.yaml:12:17: exporters.otlp.tls.insecure: expected true or false, got "yes"`,
		},
		{
			name: "header name",
			yaml: minimalWith("exporters", "  otlphttp:\n    endpoint: https://otlp.example.com\n    headers:\n      \"api key\": x\n"),
			want: `config.yaml:11:7: exporters.otlphttp.headers: invalid header name "api key"`,
		},
		{
			name: "debug verbosity",
			yaml: minimalWith("exporters", "  debug:\n    verbosity: loud\n"),
			want: `config.yaml:9:16: exporters.debug.verbosity: unsupported value "loud"; supported: basic, normal, detailed`,
		},
		{
			name: "otlp receiver without protocols",
			yaml: minimalWith("receivers", "  otlp/x:\n"),
			want: `config.yaml:5:3: receivers.otlp/x: protocols is required: enable grpc, http or both, e.g. protocols: {grpc: {}, http: {}}`,
		},
		{
			name: "otlp receiver with a bad endpoint",
			yaml: strings.Replace(minimal, "      grpc:\n", "      grpc:\n        endpoint: 4317\n", 1),
			want: `config.yaml:5:19: receivers.otlp.protocols.grpc.endpoint: invalid address "4317" (address 4317: missing port in address); use host:port, e.g. 127.0.0.1:4317`,
		},
		{
			name: "telemetryapi type",
			yaml: minimalWith("receivers", "  telemetryapi:\n    types: [platform, runtime]\n"),
			want: `config.yaml:6:23: receivers.telemetryapi.types: unknown type "runtime"; supported: platform, function, extension`,
		},
		{
			name: "resource processor mistakes",
			yaml: minimal + "processors:\n  resource:\n    attributes:\n" +
				"      - key: a\n        action: hash\n" +
				"      - key: b\n        action: insert\n" +
				"      - key: c\n        value: x\n        from_attribute: y\n        action: upsert\n" +
				"      - key: d\n        value: [1, 2]\n        action: insert\n" +
				"      - key: e\n        value: 1\n        action: delete\n" +
				"      - value: 1\n        action: insert\n" +
				"      - key: f\n        value: 1\n" +
				"      - key: g\n        pattern: x.*\n        action: delete\n",
			want: `config.yaml:17:17: processors.resource.attributes[0].action: unsupported value "hash"; supported: insert, update, upsert, delete` + "\n" +
				`config.yaml:18:9: processors.resource.attributes[1]: action insert needs value or from_attribute` + "\n" +
				`config.yaml:20:9: processors.resource.attributes[2]: set value or from_attribute, not both` + "\n" +
				`config.yaml:25:16: processors.resource.attributes[3].value: expected a string, number or true/false, got a list` + "\n" +
				`config.yaml:27:9: processors.resource.attributes[4]: action delete takes neither value nor from_attribute` + "\n" +
				`config.yaml:30:9: processors.resource.attributes[5]: key is required` + "\n" +
				`config.yaml:32:9: processors.resource.attributes[6]: action is required; supported: insert, update, upsert, delete` + "\n" +
				`config.yaml:35:9: processors.resource.attributes[7]: unknown key "pattern"; supported: key, value, action, from_attribute`,
		},
		{
			name: "resource processor without attributes",
			yaml: minimal + "processors:\n  resource/empty:\n",
			want: `config.yaml:14:3: processors.resource/empty: attributes is required: a list of {key, action, value or from_attribute}`,
		},
		{
			name: "duplicate key",
			yaml: minimalWith("exporters", "  otlp:\n    endpoint: other.example.com:4317\n"),
			want: `config.yaml:8:3: exporters: key "otlp" is defined twice (first at line 6)`,
		},
		{
			name: "lambdaotel section",
			yaml: minimal + "lambdaotel:\n  flush:\n    budget: 0s\n  buffer:\n    max_bytes: 12 parsecs\n  log_level: verbose\n  spool: true\n",
			want: `config.yaml:15:13: lambdaotel.flush.budget: must be more than 0, e.g. 500ms` + "\n" +
				`config.yaml:17:16: lambdaotel.buffer.max_bytes: invalid size "12 parsecs": unknown unit "parsecs"; use B, KB, MB, GB, KiB, MiB or GiB` + "\n" +
				`config.yaml:18:14: lambdaotel.log_level: unsupported value "verbose"; supported: debug, info, warn, error` + "\n" +
				`config.yaml:19:3: lambdaotel: unknown key "spool"; supported: flush, buffer, spill, self_telemetry, log_level`,
		},
		{
			name: "unset variable",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "${env:BACKEND_ENDPOINT}", 1),
			want: `config.yaml:7:15: ${env:BACKEND_ENDPOINT}: environment variable BACKEND_ENDPOINT is not set; set it in the function's configuration or give a default: ${env:BACKEND_ENDPOINT:-value}`,
		},
		{
			name: "unset variable, short form, in a header",
			yaml: strings.Replace(minimal, "    endpoint: otlp.example.com:4317\n", "    endpoint: otlp.example.com:4317\n    headers:\n      api-key: \"key ${API_KEY}\"\n", 1),
			want: `config.yaml:9:16: ${API_KEY}: environment variable API_KEY is not set; set it in the function's configuration or give a default: ${env:API_KEY:-value}`,
		},
		{
			name: "unsupported provider",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "${file:/var/task/endpoint.txt}", 1),
			want: `config.yaml:7:15: ${file:/var/task/endpoint.txt}: the "file" provider is not supported; supported: env, secretsmanager, ssm`,
		},
		{
			name: "unterminated reference",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "${env:BACKEND", 1),
			want: `config.yaml:7:15: unterminated "${env:BACKEND" in "${env:BACKEND": close it with } (write $$ for a literal $)`,
		},
		{
			name: "invalid variable name",
			yaml: strings.Replace(minimal, "otlp.example.com:4317", "${env:MY-HOST}:4317", 1),
			want: `config.yaml:7:15: ${env:MY-HOST}: invalid environment variable name "MY-HOST"`,
		},
		{
			name: "errors are sorted by line",
			yaml: "receivers:\n  kafka:\nexporters:\n  otlphttp:\n    endpoint: nope\nservice:\n  pipelines:\n    traces:\n      receivers: [kafka]\n      exporters: [otlphttp, zipkin]\n",
			want: `config.yaml:2:3: receivers: unknown type "kafka"; supported: otlp, telemetryapi` + "\n" +
				`config.yaml:5:15: exporters.otlphttp.endpoint: invalid URL "nope": the scheme must be http or https, e.g. https://otlp.example.com:4318` + "\n" +
				`config.yaml:10:29: service.pipelines.traces: exporter "zipkin" is not declared; declared exporters: otlphttp`,
		},
		{
			name: "LAMBDAOTEL_FLUSH_BUDGET",
			yaml: minimal,
			env:  map[string]string{"LAMBDAOTEL_FLUSH_BUDGET": "soon", "LAMBDAOTEL_LOG_LEVEL": "trace"},
			want: `LAMBDAOTEL_FLUSH_BUDGET: invalid duration "soon"; use e.g. 500ms or 2s (a bare number is milliseconds)` + "\n" +
				`LAMBDAOTEL_LOG_LEVEL: unsupported value "trace"; supported: debug, info, warn, error`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), "config.yaml", envMap(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q\n%s", tt.want, cfg.Summary())
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

// minimal is testdata/minimal.yaml: valid, 12 lines.
const minimal = `receivers:
  otlp:
    protocols:
      grpc:
exporters:
  otlp:
    endpoint: otlp.example.com:4317
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
`

// minimalWith adds lines at the end of section ("receivers" or "exporters")
// of minimal.
func minimalWith(section, lines string) string {
	switch section {
	case "receivers":
		return strings.Replace(minimal, "exporters:\n  otlp:", lines+"exporters:\n  otlp:", 1)
	case "exporters":
		return strings.Replace(minimal, "service:\n", lines+"service:\n", 1)
	}
	panic(section)
}

func TestMinimalMatchesTestdata(t *testing.T) {
	data, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != minimal {
		t.Fatal("testdata/minimal.yaml and the minimal constant differ")
	}
	if _, err := Parse(data, "testdata/minimal.yaml", envMap(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestParseSyntaxErrorFile(t *testing.T) {
	_, err := parseFile(t, "testdata/syntax.yaml", nil)
	want := "testdata/syntax.yaml:5: invalid YAML: did not find expected ',' or ']'"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 5 || ce.File != "testdata/syntax.yaml" {
		t.Errorf("error = %#v", ce)
	}
}

func TestParseUnknownExporterFile(t *testing.T) {
	_, err := parseFile(t, "testdata/unknown-exporter.yaml", nil)
	want := `testdata/unknown-exporter.yaml:10:3: exporters: unknown type "kafka"; supported: otlp, otlphttp, debug, awsxray, awsemf, prometheusremotewrite`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 10 || ce.Column != 3 {
		t.Errorf("error = %#v", ce)
	}
}

// TestExpand checks ${...} expansion through a header (always a string)
// and a resource attribute value (typed as YAML would type it).
func TestExpand(t *testing.T) {
	env := map[string]string{"HOST": "otlp.example.com", "N": "42", "EMPTY": "", "TOKEN": "a$b"}
	tests := []struct {
		value     string
		wantStr   string // the header
		wantValue any    // the attribute
	}{
		{`${env:HOST}`, "otlp.example.com", "otlp.example.com"},
		{`${HOST}`, "otlp.example.com", "otlp.example.com"},
		{`"${env:HOST}"`, "otlp.example.com", "otlp.example.com"},
		{`https://${env:HOST}:4318`, "https://otlp.example.com:4318", "https://otlp.example.com:4318"},
		{`${env:MISSING:-fallback}`, "fallback", "fallback"},
		{`${MISSING:-}`, "", ""},
		{`${env:HOST:-fallback}`, "otlp.example.com", "otlp.example.com"},
		{`${env:EMPTY:-fallback}`, "fallback", "fallback"},
		{`${env:MISSING:-a b:c}`, "a b:c", "a b:c"},
		{`price$$5`, "price$5", "price$5"},
		{`$${env:HOST}`, "${env:HOST}", "${env:HOST}"},
		{`$$$${HOST}`, "$${HOST}", "$${HOST}"},
		{`$HOME and $`, "$HOME and $", "$HOME and $"},
		{`${env:TOKEN}`, "a$b", "a$b"}, // values are not expanded again
		{`${env:N}`, "42", int64(42)},
		{`"${env:N}"`, "42", "42"},
		{`${env:N}0`, "420", "420"},
		{`${env:MISSING:-true}`, "true", true},
		{`${env:MISSING:-1.5}`, "1.5", 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			yaml := strings.Replace(minimal, "    endpoint: otlp.example.com:4317\n",
				"    endpoint: otlp.example.com:4317\n    headers:\n      h: "+tt.value+"\n", 1) +
				"processors:\n  resource:\n    attributes:\n      - key: k\n        action: upsert\n        value: " + tt.value + "\n"
			cfg, err := Parse([]byte(yaml), "config.yaml", envMap(env))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Exporters["otlp"].OTLP.Headers["h"]; got != tt.wantStr {
				t.Errorf("header = %q, want %q", got, tt.wantStr)
			}
			if got := cfg.Processors["resource"].Options.(*resourceprocessor.Config).Attributes[0].Value; got != tt.wantValue {
				t.Errorf("attribute = %#v, want %#v", got, tt.wantValue)
			}
		})
	}
}

func TestExpandNotInKeys(t *testing.T) {
	// The exporter's id (a key) is kept as written; the pipeline's list (a
	// value) is expanded, so it names the id with $$ for the literal $.
	yaml := strings.Replace(minimalWith("exporters", "  debug/${env:NAME}:\n"),
		"exporters: [otlp]", "exporters: [otlp, \"debug/$${env:NAME}\"]", 1)
	cfg, err := Parse([]byte(yaml), "config.yaml", envMap(map[string]string{"NAME": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Pipelines["traces"].Exporters; !reflect.DeepEqual(got, []string{"otlp", "debug/${env:NAME}"}) {
		t.Errorf("exporters = %q", got)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	yaml := `receivers:
  otlp:
    protocols:
      http:
exporters:
  otlphttp/a: &common
    endpoint: https://a.example.com
    headers:
      api-key: ${env:KEY}
    timeout: 3s
  otlphttp/b:
    <<: *common
    endpoint: https://b.example.com
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [otlphttp/a, otlphttp/b]
`
	cfg, err := Parse([]byte(yaml), "config.yaml", envMap(map[string]string{"KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Exporters["otlphttp/b"].OTLPHTTP
	if b.Endpoint != "https://b.example.com" || b.Headers["api-key"] != "k" || b.Timeout != 3*time.Second {
		t.Errorf("otlphttp/b = %+v", b)
	}
}

func TestParseWarnings(t *testing.T) {
	yaml := `receivers:
  otlp:
    protocols:
      grpc:
  telemetryapi:
exporters:
  otlp:
    endpoint: otlp.example.com:4317
    sending_queue:
      enabled: false
  debug:
    sampling_initial: 5
processors:
  batch/unused:
service:
  telemetry:
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
`
	env := map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://x.example.com", "LAMBDAOTEL_EXPORTER_OTLP_HEADERS": "a=b"}
	cfg, err := Parse([]byte(yaml), "/var/task/collector.yaml", envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"processor batch/unused: accepted and ignored: lambdaotel flushes at the end of each invocation and bounds its buffer itself",
		"exporters.otlp.sending_queue: accepted and ignored: lambdaotel buffers data itself (lambdaotel.buffer.max_bytes)",
		"exporters.debug.sampling_initial: accepted and ignored: the debug exporter writes every batch",
		"receiver telemetryapi is declared but not used in any pipeline; it will not run",
		"processor batch/unused is declared but not used in any pipeline; it will not run",
		"exporter debug is declared but not used in any pipeline; it will not run",
		"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT is set but not used: the configuration comes from /var/task/collector.yaml; reference it there as ${env:LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT} or remove it",
		"LAMBDAOTEL_EXPORTER_OTLP_HEADERS is set but not used: the configuration comes from /var/task/collector.yaml; reference it there as ${env:LAMBDAOTEL_EXPORTER_OTLP_HEADERS} or remove it",
	}
	if !reflect.DeepEqual(cfg.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", cfg.Warnings, want)
	}
	// service.telemetry.logs.level is used when lambdaotel.log_level is not set.
	if cfg.Settings.LogLevel != slog.LevelWarn {
		t.Errorf("log level = %v, want WARN", cfg.Settings.LogLevel)
	}
}

// with returns the default settings changed by f.
func with(f func(*Settings)) Settings {
	s := defaultSettings()
	if f != nil {
		f(&s)
	}
	return s
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		section string
		env     map[string]string
		want    Settings
	}{
		{"defaults", "", nil, with(nil)},
		{"file", "lambdaotel:\n  flush:\n    budget: 2s\n    strategy: periodic\n    interval: 1m\n  buffer:\n    max_bytes: 1048576\n  spill:\n    enabled: false\n    dir: /tmp/q\n    max_bytes: 64MiB\n  self_telemetry: false\n  log_level: ERROR\n", nil,
			with(func(s *Settings) {
				s.Flush = FlushSettings{Strategy: StrategyPeriodic, Budget: 2 * time.Second, Interval: time.Minute}
				s.Buffer.MaxBytes = 1 << 20
				s.Spill = SpillSettings{Dir: "/tmp/q", MaxBytes: 64 << 20}
				s.SelfTelemetry = false
				s.LogLevel = slog.LevelError
			})},
		{"units", "lambdaotel:\n  buffer:\n    max_bytes: 10MB\n", nil, with(func(s *Settings) { s.Buffer.MaxBytes = 10e6 })},
		{"environment wins", "lambdaotel:\n  flush:\n    budget: 2s\n  log_level: error\n",
			map[string]string{"LAMBDAOTEL_FLUSH_BUDGET": "300ms", "LAMBDAOTEL_LOG_LEVEL": "debug", "LAMBDAOTEL_FLUSH_STRATEGY": "END", "LAMBDAOTEL_FLUSH_INTERVAL": "3s"},
			with(func(s *Settings) {
				s.Flush = FlushSettings{Strategy: StrategyEnd, Budget: 300 * time.Millisecond, Interval: 3 * time.Second}
				s.LogLevel = slog.LevelDebug
			})},
		{"bare milliseconds", "", map[string]string{"LAMBDAOTEL_FLUSH_BUDGET": "1500"},
			with(func(s *Settings) { s.Flush.Budget = 1500 * time.Millisecond })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(minimal+tt.section), "config.yaml", envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Settings != tt.want {
				t.Errorf("settings = %+v, want %+v", cfg.Settings, tt.want)
			}
		})
	}
}

func TestOTLPExporterTarget(t *testing.T) {
	tests := []struct {
		endpoint      string
		insecure      bool
		wantTarget    string
		wantPlaintext bool
	}{
		{"otlp.example.com:4317", false, "otlp.example.com:4317", false},
		{"otlp.example.com:4317", true, "otlp.example.com:4317", true},
		{"https://otlp.example.com:4317", true, "otlp.example.com:4317", false},
		{"http://collector:4317", false, "collector:4317", true},
		{"https://otlp.example.com", false, "otlp.example.com:443", false},
		{"http://[::1]:4317/", false, "[::1]:4317", true},
	}
	for _, tt := range tests {
		e := &OTLPExporter{Endpoint: tt.endpoint, TLS: TLS{Insecure: tt.insecure}}
		target, plaintext := e.Target()
		if target != tt.wantTarget || plaintext != tt.wantPlaintext {
			t.Errorf("Target(%s, insecure=%v) = %s, %v; want %s, %v", tt.endpoint, tt.insecure, target, plaintext, tt.wantTarget, tt.wantPlaintext)
		}
	}
}

func TestOTLPHTTPURL(t *testing.T) {
	tests := []struct {
		e    OTLPHTTPExporter
		s    pipeline.Signal
		want string
	}{
		{OTLPHTTPExporter{Endpoint: "https://a.example.com"}, pipeline.Traces, "https://a.example.com/v1/traces"},
		{OTLPHTTPExporter{Endpoint: "https://a.example.com/"}, pipeline.Metrics, "https://a.example.com/v1/metrics"},
		{OTLPHTTPExporter{Endpoint: "https://a.example.com/otlp"}, pipeline.Logs, "https://a.example.com/otlp/v1/logs"},
		{OTLPHTTPExporter{Endpoint: "https://a.example.com", LogsEndpoint: "https://l.example.com/in"}, pipeline.Logs, "https://l.example.com/in"},
		{OTLPHTTPExporter{TracesEndpoint: "https://t.example.com"}, pipeline.Traces, "https://t.example.com"},
		{OTLPHTTPExporter{TracesEndpoint: "https://t.example.com"}, pipeline.Metrics, ""},
	}
	for _, tt := range tests {
		if got := tt.e.URL(tt.s); got != tt.want {
			t.Errorf("%+v URL(%s) = %q, want %q", tt.e, tt.s, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	cfg, err := parseFile(t, "testdata/full.yaml", map[string]string{"API_KEY": "do-not-print"})
	if err != nil {
		t.Fatal(err)
	}
	want := `configuration: testdata/full.yaml
pipelines:
  traces: otlp/app, telemetryapi -> memory_limiter (ignored) -> resource -> otlp_http/backend, otlp_grpc/gateway
  traces/platform: telemetryapi/platform -> debug
  metrics: otlp/app -> resource -> otlp_grpc/gateway
  logs: telemetryapi -> otlp_http/backend
receivers:
  otlp/app: OTLP on grpc 127.0.0.1:5317 (max 8 MiB), http 127.0.0.1:4318
  telemetryapi: Lambda Telemetry API events: platform, function, extension
  telemetryapi/platform: Lambda Telemetry API events: platform
processors:
  memory_limiter: accepted and ignored
  resource: resource attributes: upsert deployment.environment="dev"; insert team.size=7; insert sampling.ratio=0.25; update billing.enabled=true; insert service.namespace from faas.name; delete process.command_args
exporters:
  debug: stderr (the function's log), verbosity basic
  otlp_grpc/gateway: OTLP/gRPC to gateway.internal:4317 (plaintext), compression gzip, timeout 5s
  otlp_http/backend: OTLP/HTTP (json) traces to https://otlp.example.com:4318/otlp/v1/traces, logs to https://logs.example.com/ingest, compression none, timeout 2s, headers x-api-key (values hidden), CA /var/task/ca.pem
flush: adaptive, budget 750ms, interval 10s; buffer limit: 33554432 bytes; spill to disk: on; log level: debug
warnings:
  - processor memory_limiter: accepted and ignored: lambdaotel bounds its buffer itself (lambdaotel.buffer.max_bytes)
  - exporters.otlp_grpc/gateway.retry_on_failure: accepted and ignored: lambdaotel exports within each invocation's flush budget and handles failed batches itself
  - extensions: accepted and ignored: lambdaotel does not run collector extensions (health_check)
  - service.extensions: accepted and ignored: lambdaotel does not run collector extensions (health_check)
`
	got := cfg.Summary()
	if got != want {
		t.Errorf("Summary:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "do-not-print") {
		t.Error("Summary shows a header value")
	}
}

func TestTelemetryAPIReceiverOptions(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       TelemetryAPIReceiver
		err        string
	}{
		{"defaults", "telemetryapi:\n", TelemetryAPIReceiver{Types: []string{"platform", "function", "extension"}}, ""},
		{"options", "telemetryapi:\n  types: [platform]\n  log_report_lines: true\n  temporality: cumulative\n", TelemetryAPIReceiver{Types: []string{"platform"}, LogReportLines: true, Cumulative: true}, ""},
		{"x-ray", "telemetryapi:\n  adopt_xray_parent: true\n  export_unsampled: true\n", TelemetryAPIReceiver{Types: []string{"platform", "function", "extension"}, AdoptXRayParent: true, ExportUnsampled: true}, ""},
		{"bad adopt_xray_parent", "telemetryapi:\n  adopt_xray_parent: sometimes\n", TelemetryAPIReceiver{}, `receivers.telemetryapi.adopt_xray_parent`},
		{"bad temporality", "telemetryapi:\n  temporality: sometimes\n", TelemetryAPIReceiver{}, `receivers.telemetryapi.temporality: unsupported value "sometimes"; supported: delta, cumulative`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := "receivers:\n" + indent(c.yaml) + "exporters:\n  debug:\nservice:\n  pipelines:\n    logs:\n      receivers: [telemetryapi]\n      exporters: [debug]\n"
			cfg, err := Parse([]byte(text), "c.yaml", func(string) string { return "" })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *cfg.Receivers["telemetryapi"].TelemetryAPI
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

func TestParseStrategy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Strategy
		err  string
	}{
		{"adaptive", StrategyAdaptive, ""},
		{"end", StrategyEnd, ""},
		{"Periodic", StrategyPeriodic, ""},
		{"CONTINUOUS", StrategyContinuous, ""},
		{"eventually", "", `unsupported value "eventually"; supported: adaptive, end, periodic, continuous`},
		{"", "", `unsupported value ""; supported: adaptive, end, periodic, continuous`},
	} {
		got, err := ParseStrategy(c.in)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}
