package extension_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

const otelFunc = "github.com/lambdaotel/lambdaotel/internal/fixtures/otelfunc"

// env is a running sandbox with a function and the extension, and a sink
// as the backend.
type env struct {
	sb   *sandbox.Env
	sink *sink.Sink
	logs *lambdatest.LogBuffer
}

type envOptions struct {
	function  string            // the function's import path; otelfunc when empty
	protocol  string            // the function's OTLP protocol: "grpc" or "http/protobuf"
	config    string            // the extension's config (lambdatest.NewExtension's placeholders)
	extEnv    map[string]string // more environment variables
	sinkFault func(sink.Request) sink.Fault
	sandbox   sandbox.Config
}

// defaultConfig receives on the test's ports and exports to the sink over
// OTLP/HTTP with gzip, flushing at the end of every invocation.
const defaultConfig = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%GRPC_PORT%
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
processors:
  batch:
  resource:
    attributes:
      - key: deployment.environment.name
        value: test
        action: upsert
exporters:
  otlphttp:
    endpoint: http://%SINK_HTTP%
    compression: gzip
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch, resource]
      exporters: [otlphttp]
    metrics:
      receivers: [otlp]
      exporters: [otlphttp]
    logs:
      receivers: [otlp]
      exporters: [otlphttp]
lambdaotel:
  flush:
    strategy: end
`

func startEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	if o.function == "" {
		o.function = otelFunc
	}
	task := filepath.Join(dir, "task")
	buildtest.Install(t, buildtest.Binary(t, o.function), filepath.Join(task, "bootstrap"))
	if o.config == "" {
		o.config = defaultConfig
	}
	e := &env{sink: lambdatest.StartSink(t, o.sinkFault), logs: &lambdatest.LogBuffer{}}
	x := lambdatest.NewExtension(t, dir, o.config, e.sink)
	cfg := o.sandbox
	cfg.TaskRoot, cfg.Layers = task, []string{x.Layer}
	cfg.Env = x.Env(o.protocol)
	cfg.Env["FIXTURE_PROTOCOL"] = o.protocol
	for k, v := range o.extEnv {
		cfg.Env[k] = v
	}
	e.sb = lambdatest.StartSandbox(t, cfg, e.logs)
	return e
}

func (e *env) invoke(t *testing.T, event string) *sandbox.Result {
	t.Helper()
	return lambdatest.Invoke(t, e.sb, event)
}

// TestFlushBeforeFreeze sends spans, metrics and logs from a function using
// the OpenTelemetry Go SDK over OTLP/HTTP and OTLP/gRPC, exported over
// OTLP/gRPC and OTLP/HTTP: everything an
// invocation reported is at the backend when the invocation ends (the
// environment is frozen then), with names, attributes and parents intact.
func TestFlushBeforeFreeze(t *testing.T) {
	t.Parallel()
	// The function's SDK sends over one protocol, the extension exports over
	// the other, so that every receiver and exporter is crossed.
	grpcExport := strings.ReplaceAll(strings.Replace(defaultConfig, "otlphttp:\n    endpoint: http://%SINK_HTTP%", "otlp:\n    endpoint: http://%SINK_GRPC%", 1), "[otlphttp]", "[otlp]")
	if !strings.Contains(grpcExport, "otlp:\n    endpoint: http://%SINK_GRPC%") || strings.Contains(grpcExport, "[otlphttp]") {
		t.Fatalf("the gRPC export configuration was not made:\n%s", grpcExport)
	}
	cases := []struct{ protocol, config string }{
		{"http/protobuf", grpcExport},
		{"grpc", defaultConfig},
	}
	for _, c := range cases {
		t.Run(c.protocol, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{protocol: c.protocol, config: c.config})
			const invocations, children, logs = 3, 5, 4
			for k := range invocations {
				res := e.invoke(t, fmt.Sprintf(`{"spans":%d,"logs":%d}`, children, logs))
				if res.Error != nil {
					t.Fatalf("invocation %d: %v", k, res.Error)
				}
				if !e.sb.Frozen() {
					t.Fatalf("the environment is not frozen after invocation %d", k)
				}
				// No waiting: the extension exported before it asked for
				// the next event, so it is all at the backend already.
				spans := e.sink.Spans()
				var root *sink.Span
				kids := 0
				for i, s := range spans {
					if s.Attributes["faas.invocation_id"] == res.RequestID && s.Name == "handler" {
						root = &spans[i]
					}
				}
				if root == nil {
					t.Fatalf("invocation %d: the root span is not at the backend (%d spans there)", k, len(spans))
				}
				for _, s := range spans {
					if s.TraceID == root.TraceID && s.ParentSpanID == root.SpanID && strings.HasPrefix(s.Name, "child-") {
						kids++
						if _, ok := s.Attributes["index"]; !ok {
							t.Errorf("child span %s lost its attributes", s.Name)
						}
					}
				}
				if kids != children {
					t.Errorf("invocation %d: %d child spans of the root at the backend, want %d", k, kids, children)
				}
				if root.Resource["service.name"] != "otelfunc" || root.Resource["deployment.environment.name"] != "test" {
					t.Errorf("resource %v: want service.name from the SDK and the resource processor's attribute", root.Resource)
				}
				if got := e.sink.LogRecordCount(); got != (k+1)*logs {
					t.Errorf("after invocation %d: %d log records at the backend, want %d", k, got, (k+1)*logs)
				}
				if got := e.sink.DataPointCount(); got < k+1 {
					t.Errorf("after invocation %d: %d data points at the backend", k, got)
				}
			}
			e.sb.Shutdown()
			if got := e.sink.SpanCount(); got != invocations*(children+1) {
				t.Errorf("%d spans at the backend after shutdown, want %d", got, invocations*(children+1))
			}
		})
	}
}

// TestBadConfig checks that every kind of configuration mistake fails the
// init with Extension.ConfigInvalid and a message that says what to fix.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		config string
		env    map[string]string
		want   string
	}{
		{"missing file", "", map[string]string{"LAMBDAOTEL_CONFIG": "/nonexistent/config.yaml"}, "/nonexistent/config.yaml"},
		{"YAML syntax", "receivers: [otlp\n", nil, "config.yaml:"},
		{"unknown component", "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  kafka:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [kafka]\n", nil, `unknown type "kafka"`},
		{"undeclared component", "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n", nil, "otlphttp"},
		{"bad endpoint", "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlphttp:\n    endpoint: \"ht tp://x\"\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n", nil, "ht tp://x"},
		{"unset variable", "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlphttp:\n    endpoint: ${env:LAMBDAOTEL_TEST_UNSET}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n", nil, "LAMBDAOTEL_TEST_UNSET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := c.config
			if cfg == "" {
				cfg = defaultConfig
			}
			e := startEnv(t, envOptions{config: cfg, extEnv: c.env})
			res := e.invoke(t, `{}`)
			if res.Error == nil || res.Error.Type != "Extension.ConfigInvalid" || res.Init == nil {
				t.Fatalf("result error %+v", res.Error)
			}
			// The message reaches the function's logs (the extension's
			// stderr) and the platform's init event.
			if !strings.Contains(e.logs.String(), c.want) {
				t.Errorf("logs do not name %q:\n%s", c.want, e.logs.String())
			}
			if res.Init.ErrorType != "Extension.ConfigInvalid" || !strings.Contains(res.Init.ErrorMessage, c.want) {
				t.Errorf("init report: %s: %s", res.Init.ErrorType, res.Init.ErrorMessage)
			}
		})
	}
}

// TestBackendDownOrSlow checks that a backend that is down or slow does not
// hold the invocation past the flush budget, and that what could not be
// sent is kept and logged.
func TestBackendDownOrSlow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		config string
		fault  func(sink.Request) sink.Fault
	}{
		{"down", strings.Replace(defaultConfig, "http://%SINK_HTTP%", fmt.Sprintf("http://127.0.0.1:%d", lambdatest.FreePort(t)), 1), nil},
		{"slow", "", func(sink.Request) sink.Fault { return sink.Fault{Delay: 20 * time.Second} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{protocol: "http/protobuf", config: c.config, sinkFault: c.fault,
				extEnv: map[string]string{"LAMBDAOTEL_FLUSH_BUDGET": "300ms"}})
			for range 2 {
				res := e.invoke(t, `{"spans":2}`)
				if res.Error != nil {
					t.Fatal(res.Error)
				}
				// The budget is 300 ms; a flush that waited on the backend
				// would take 20 s (slow) or the exporter's timeout (down).
				if res.Report.PostRuntimeMs > 5000 {
					t.Errorf("postRuntimeMs %.0f: the flush was not bounded by its budget", res.Report.PostRuntimeMs)
				}
			}
			if !strings.Contains(e.logs.String(), "export did not finish within the flush budget: kept on disk") {
				t.Errorf("what could not be sent is not logged:\n%s", e.logs.String())
			}
		})
	}
}

// TestWithoutTelemetryAPI checks that the extension keeps working where the
// Telemetry API is unavailable: it says so once and flushes at the next
// event, so nothing is lost by the end.
func TestWithoutTelemetryAPI(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{protocol: "http/protobuf", sandbox: sandbox.Config{NoTelemetryAPI: true}})
	for range 3 {
		if res := e.invoke(t, `{"spans":1}`); res.Error != nil {
			t.Fatal(res.Error)
		}
	}
	if got := e.sink.SpanCount(); got < 4 {
		t.Errorf("%d spans at the backend after 3 invocations: the first two should have been flushed at the next INVOKE", got)
	}
	e.sb.Shutdown()
	if got := e.sink.SpanCount(); got != 6 {
		t.Errorf("%d spans at the backend after shutdown, want 6", got)
	}
	if n := strings.Count(e.logs.String(), "Telemetry API unavailable"); n != 1 {
		t.Errorf("the extension said %d times that the Telemetry API is unavailable, want once", n)
	}
}

// TestConfigInLayer ships the configuration in the extension's layer, as
// lambdaotel/config.yaml (/opt/lambdaotel/config.yaml in Lambda), with no
// variable naming it: the extension finds it.
func TestConfigInLayer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	task := filepath.Join(dir, "task")
	buildtest.Install(t, buildtest.Binary(t, otelFunc), filepath.Join(task, "bootstrap"))
	s := lambdatest.StartSink(t, nil)
	x := lambdatest.NewExtension(t, dir, defaultConfig, s)
	data, err := os.ReadFile(x.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(x.Layer, "lambdaotel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x.Layer, "lambdaotel", "config.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	env := x.Env("")
	delete(env, "LAMBDAOTEL_CONFIG")
	sb := lambdatest.StartSandbox(t, sandbox.Config{TaskRoot: task, Layers: []string{x.Layer}, Env: env}, &lambdatest.LogBuffer{})
	if res := lambdatest.Invoke(t, sb, `{"spans":1}`); res.Error != nil {
		t.Fatal(res.Error)
	}
	if n := s.SpanCount(); n != 2 {
		t.Errorf("%d spans at the backend, want 2: the layer's configuration was not used", n)
	}
}
