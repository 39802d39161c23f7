package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

const noBackendWarning = "no backend is configured: telemetry goes to the debug exporter, which writes a summary to the function's log; " +
	"set LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT to your backend's OTLP endpoint (e.g. https://otlp.example.com:4318) or give a configuration file with LAMBDAOTEL_CONFIG " +
	"(the OTEL_EXPORTER_OTLP_* variables configure the function's SDK and are not read by lambdaotel)"

func TestDefault(t *testing.T) {
	debug := &Exporter{ID: "debug", Type: "debug", Debug: &DebugExporter{Verbosity: "basic"}}
	httpExp := func(id string, h OTLPHTTPExporter) *Exporter {
		if h.Encoding == "" {
			h.Encoding = "proto"
		}
		if h.Compression == "" {
			h.Compression = "none"
		}
		if h.Timeout == 0 {
			h.Timeout = 10 * time.Second
		}
		return &Exporter{ID: id, Type: "otlphttp", OTLPHTTP: &h}
	}
	grpcExp := func(id string, o OTLPExporter) *Exporter {
		if o.Compression == "" {
			o.Compression = "none"
		}
		if o.Timeout == 0 {
			o.Timeout = 10 * time.Second
		}
		return &Exporter{ID: id, Type: "otlp", OTLP: &o}
	}
	tests := []struct {
		name      string
		env       map[string]string
		exporters []*Exporter
		// pipeline exporter per signal: traces, metrics, logs
		pipelines [3]string
		warnings  []string
	}{
		{
			name:      "nothing set: debug exporter and a warning",
			exporters: []*Exporter{debug},
			pipelines: [3]string{"debug", "debug", "debug"},
			warnings:  []string{noBackendWarning},
		},
		{
			name: "the SDK's OTEL_EXPORTER_OTLP_* variables are ignored",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":        "https://otlp.example.com:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otlp.example.com:4318/v1/traces",
				"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
				"OTEL_EXPORTER_OTLP_HEADERS":         "api-key=x",
			},
			exporters: []*Exporter{debug},
			pipelines: [3]string{"debug", "debug", "debug"},
			warnings:  []string{noBackendWarning},
		},
		{
			name:      "endpoint",
			env:       map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com:4318"},
			exporters: []*Exporter{httpExp("otlphttp", OTLPHTTPExporter{Endpoint: "https://otlp.example.com:4318"})},
			pipelines: [3]string{"otlphttp", "otlphttp", "otlphttp"},
		},
		{
			name: "per-signal endpoint is used as it is, the others get /v1/<signal>",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":      "https://otlp.example.com/otlp",
				"LAMBDAOTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://logs.example.com/ingest",
			},
			exporters: []*Exporter{httpExp("otlphttp", OTLPHTTPExporter{Endpoint: "https://otlp.example.com/otlp", LogsEndpoint: "https://logs.example.com/ingest"})},
			pipelines: [3]string{"otlphttp", "otlphttp", "otlphttp"},
		},
		{
			name:      "only a traces endpoint: the other signals go to debug",
			env:       map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger.internal:4318/v1/traces"},
			exporters: []*Exporter{httpExp("otlphttp", OTLPHTTPExporter{TracesEndpoint: "http://jaeger.internal:4318/v1/traces"}), debug},
			pipelines: [3]string{"otlphttp", "debug", "debug"},
			warnings: []string{"no backend is configured for metrics and logs: it goes to the debug exporter, which writes a summary to the function's log; " +
				"set LAMBDAOTEL_EXPORTER_OTLP_METRICS_ENDPOINT or LAMBDAOTEL_EXPORTER_OTLP_LOGS_ENDPOINT"},
		},
		{
			name: "headers with percent-encoding, compression, timeout, json",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":    "https://api.honeycomb.io",
				"LAMBDAOTEL_EXPORTER_OTLP_HEADERS":     "x-honeycomb-team=abc%20def, x-honeycomb-dataset = my%2Cset ,authorization=Basic%20dXNlcjpwYXNz%3D,",
				"LAMBDAOTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
				"LAMBDAOTEL_EXPORTER_OTLP_TIMEOUT":     "2500",
				"LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL":    "http/json",
				"LAMBDAOTEL_EXPORTER_OTLP_CERTIFICATE": "/var/task/ca.pem",
			},
			exporters: []*Exporter{httpExp("otlphttp", OTLPHTTPExporter{
				Endpoint: "https://api.honeycomb.io",
				Headers: map[string]string{
					"x-honeycomb-team":    "abc def",
					"x-honeycomb-dataset": "my,set",
					"authorization":       "Basic dXNlcjpwYXNz=",
				},
				Compression: "gzip",
				Timeout:     2500 * time.Millisecond,
				Encoding:    "json",
				TLS:         TLS{CAFile: "/var/task/ca.pem"},
			})},
			pipelines: [3]string{"otlphttp", "otlphttp", "otlphttp"},
		},
		{
			name: "protocol grpc gives an otlp exporter",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com:4317",
				"LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
				"LAMBDAOTEL_EXPORTER_OTLP_HEADERS":  "api-key=secret",
			},
			exporters: []*Exporter{grpcExp("otlp", OTLPExporter{Endpoint: "https://otlp.example.com:4317", Headers: map[string]string{"api-key": "secret"}})},
			pipelines: [3]string{"otlp", "otlp", "otlp"},
		},
		{
			name: "grpc without scheme, insecure, mutual TLS",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":           "collector.internal:4317",
				"LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL":           "grpc",
				"LAMBDAOTEL_EXPORTER_OTLP_INSECURE":           "TRUE",
				"LAMBDAOTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/opt/cert.pem",
				"LAMBDAOTEL_EXPORTER_OTLP_CLIENT_KEY":         "/opt/key.pem",
			},
			exporters: []*Exporter{grpcExp("otlp", OTLPExporter{Endpoint: "collector.internal:4317", TLS: TLS{Insecure: true, CertFile: "/opt/cert.pem", KeyFile: "/opt/key.pem"}})},
			pipelines: [3]string{"otlp", "otlp", "otlp"},
		},
		{
			name: "per-signal settings split the exporter",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":         "https://otlp.example.com:4318",
				"LAMBDAOTEL_EXPORTER_OTLP_LOGS_PROTOCOL":    "grpc",
				"LAMBDAOTEL_EXPORTER_OTLP_LOGS_ENDPOINT":    "https://logs.example.com:4317",
				"LAMBDAOTEL_EXPORTER_OTLP_HEADERS":          "team=a",
				"LAMBDAOTEL_EXPORTER_OTLP_METRICS_HEADERS":  "team=b",
				"LAMBDAOTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example.com/v1/metrics",
			},
			exporters: []*Exporter{
				httpExp("otlphttp/traces", OTLPHTTPExporter{Endpoint: "https://otlp.example.com:4318", Headers: map[string]string{"team": "a"}}),
				httpExp("otlphttp/metrics", OTLPHTTPExporter{MetricsEndpoint: "https://metrics.example.com/v1/metrics", Headers: map[string]string{"team": "b"}}),
				grpcExp("otlp/logs", OTLPExporter{Endpoint: "https://logs.example.com:4317", Headers: map[string]string{"team": "a"}}),
			},
			pipelines: [3]string{"otlphttp/traces", "otlphttp/metrics", "otlp/logs"},
		},
		{
			name: "settings",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9318",
				"LAMBDAOTEL_FLUSH_BUDGET":           "1s",
				"LAMBDAOTEL_LOG_LEVEL":              "warn",
			},
			exporters: []*Exporter{httpExp("otlphttp", OTLPHTTPExporter{Endpoint: "http://127.0.0.1:9318"})},
			pipelines: [3]string{"otlphttp", "otlphttp", "otlphttp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			getenv := func(k string) string {
				asked = append(asked, k)
				return tt.env[k]
			}
			cfg, err := Default(getenv)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range asked {
				if strings.HasPrefix(k, "OTEL_") {
					t.Errorf("Default read %s, which belongs to the function's SDK", k)
				}
			}
			if cfg.Source != DefaultSource {
				t.Errorf("Source = %q", cfg.Source)
			}
			want := map[string]*Exporter{}
			for _, e := range tt.exporters {
				want[e.ID] = e
			}
			if !reflect.DeepEqual(cfg.Exporters, want) {
				got := &Config{Exporters: cfg.Exporters}
				t.Errorf("exporters:\n got %s\nwant %s", dump(got), dump(&Config{Exporters: want}))
			}
			for i, s := range pipeline.Signals {
				p := cfg.Pipelines[string(s)]
				if p == nil {
					t.Fatalf("no %s pipeline", s)
				}
				if !reflect.DeepEqual(p.Receivers, []string{"otlp", "telemetryapi"}) || len(p.Processors) != 0 ||
					!reflect.DeepEqual(p.Exporters, []string{tt.pipelines[i]}) || p.Signal != s {
					t.Errorf("%s pipeline = %+v, want exporter %s", s, p, tt.pipelines[i])
				}
			}
			if !reflect.DeepEqual(cfg.Warnings, tt.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", cfg.Warnings, tt.warnings)
			}
			recv := cfg.Receivers["otlp"].OTLP
			if recv.GRPC.Endpoint != "127.0.0.1:4317" || recv.HTTP.Endpoint != "127.0.0.1:4318" {
				t.Errorf("otlp receiver = grpc %+v http %+v", recv.GRPC, recv.HTTP)
			}
			if tapi := cfg.Receivers["telemetryapi"].TelemetryAPI; !reflect.DeepEqual(tapi.Types, []string{"platform", "function", "extension"}) {
				t.Errorf("telemetryapi types = %v", tapi.Types)
			}
		})
	}
}

func TestDefaultURLs(t *testing.T) {
	cfg, err := Default(envMap(map[string]string{
		"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":         "https://otlp.example.com:4318/",
		"LAMBDAOTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example.com:4318",
	}))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Exporters["otlphttp"].OTLPHTTP
	for s, want := range map[pipeline.Signal]string{
		pipeline.Traces:  "https://otlp.example.com:4318/v1/traces",
		pipeline.Metrics: "https://metrics.example.com:4318", // as it is, no /v1/metrics
		pipeline.Logs:    "https://otlp.example.com:4318/v1/logs",
	} {
		if got := e.URL(s); got != want {
			t.Errorf("URL(%s) = %s, want %s", s, got, want)
		}
	}
}

func TestDefaultErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "endpoint without scheme",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "otlp.example.com:4318"},
			// Each signal would report it; one message is enough.
			want: `LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT: invalid URL "otlp.example.com:4318": the scheme must be http or https, e.g. https://otlp.example.com:4318`,
		},
		{
			name: "bad per-signal endpoint",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://otlp.example.com"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_TRACES_ENDPOINT: invalid URL "ftp://otlp.example.com": the scheme must be http or https, e.g. https://otlp.example.com:4318`,
		},
		{
			name: "grpc endpoint without port",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "otlp.example.com", "LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT: invalid endpoint "otlp.example.com": use host:port (e.g. otlp.example.com:4317) or https://host:port`,
		},
		{
			name: "protocol",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://a.example.com", "LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL": "http"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "http"; supported: http/protobuf, http/json, grpc`,
		},
		{
			name: "headers without =, value not echoed",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://a.example.com", "LAMBDAOTEL_EXPORTER_OTLP_HEADERS": "api-key=a,s3cr3t"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_HEADERS: entry 2 has no "="; use key=value pairs separated by commas, e.g. api-key=secret,team=a`,
		},
		{
			name: "headers with bad percent-encoding",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://a.example.com", "LAMBDAOTEL_EXPORTER_OTLP_HEADERS": "api-key=50%off"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_HEADERS: the value of header "api-key" has invalid percent-encoding`,
		},
		{
			name: "header name",
			env:  map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "https://a.example.com", "LAMBDAOTEL_EXPORTER_OTLP_HEADERS": "api key=x"},
			want: `LAMBDAOTEL_EXPORTER_OTLP_HEADERS: entry 1: invalid header name "api key"`,
		},
		{
			name: "compression, timeout, insecure",
			env: map[string]string{
				"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT":     "https://a.example.com",
				"LAMBDAOTEL_EXPORTER_OTLP_COMPRESSION":  "br",
				"LAMBDAOTEL_EXPORTER_OTLP_TIMEOUT":      "5s",
				"LAMBDAOTEL_EXPORTER_OTLP_INSECURE":     "yes",
				"LAMBDAOTEL_EXPORTER_OTLP_CLIENT_KEY":   "/opt/key.pem",
				"LAMBDAOTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "-1",
			},
			want: `LAMBDAOTEL_EXPORTER_OTLP_COMPRESSION: unsupported compression "br"; supported: gzip, none` + "\n" +
				`LAMBDAOTEL_EXPORTER_OTLP_TIMEOUT: invalid timeout "5s"; give a whole number of milliseconds, e.g. 10000` + "\n" +
				`LAMBDAOTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: LAMBDAOTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and LAMBDAOTEL_EXPORTER_OTLP_CLIENT_KEY go together: set both for mutual TLS, or neither` + "\n" +
				`LAMBDAOTEL_EXPORTER_OTLP_INSECURE: expected true or false, got "yes"` + "\n" +
				`LAMBDAOTEL_EXPORTER_OTLP_LOGS_TIMEOUT: invalid timeout "-1"; give a whole number of milliseconds, e.g. 10000`,
		},
		{
			name: "settings",
			env:  map[string]string{"LAMBDAOTEL_FLUSH_BUDGET": "0"},
			want: `LAMBDAOTEL_FLUSH_BUDGET: invalid duration "0"; use e.g. 500ms or 2s (a bare number is milliseconds)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Default(envMap(tt.env))
			if err == nil {
				t.Fatal("Default succeeded")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T holds no *config.Error", err)
			}
		})
	}
}
