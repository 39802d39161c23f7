package lambdaotel_test

// End-to-end tests: functions built with lambdaotel and aws-lambda-go run in
// the local Lambda environment (sandbox) with the lambdaotel extension,
// which exports to a sink. Each test asserts what reached the sink.
//
// The test binary is also a function: with LAMBDAOTEL_TEST_FUNCTION set,
// TestMain runs testFunction with lambdaotel.Start instead of the tests.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel"
	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

const (
	apiGatewayCmd  = "github.com/lambdaotel/lambdaotel/examples/apigateway"
	sqsCmd         = "github.com/lambdaotel/lambdaotel/examples/sqs"
	testFunctionOn = "LAMBDAOTEL_TEST_FUNCTION"
)

func TestMain(m *testing.M) {
	switch os.Getenv(testFunctionOn) {
	case "":
	case "triggers":
		lambdaotel.Start(triggersFunction)
		return
	default:
		lambdaotel.Start(testFunction)
		return
	}
	if os.Getenv(testStreamingOn) != "" {
		lambdaotel.Start(streamingFunction)
		return
	}
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

// testEvent says what testFunction does.
type testEvent struct {
	Action   string `json:"action"` // "", "error", "panic" or "sleep"
	SleepMs  int    `json:"sleepMs"`
	Children int    `json:"children"`
	Tag      string `json:"tag"`
}

var testLogger = slog.New(lambdaotel.NewLogHandler(nil))

// testFunction is the function of the tests that are not about the
// examples.
func testFunction(ctx context.Context, e testEvent) (map[string]string, error) {
	tracer := otel.Tracer("test-function")
	counter, _ := otel.Meter("test-function").Int64Counter("test.invocations")
	counter.Add(ctx, 1)
	for i := range e.Children {
		_, s := tracer.Start(ctx, fmt.Sprintf("child-%d", i), trace.WithAttributes(attribute.String("tag", e.Tag)))
		s.End()
	}
	testLogger.InfoContext(ctx, "handling", "action", e.Action, "tag", e.Tag)
	switch e.Action {
	case "error":
		return nil, errors.New("failed on purpose")
	case "panic":
		panic("panicked on purpose")
	case "sleep":
		time.Sleep(time.Duration(e.SleepMs) * time.Millisecond)
	}
	return map[string]string{"tag": e.Tag}, nil
}

// Extension configurations: OTLP in on the test's ports, OTLP/HTTP out to
// the sink; platformConfig adds the telemetryapi receiver, whose platform
// span per invocation becomes the parent of the function's root span. The
// extension flushes at the end of every invocation (its adaptive strategy
// would flush periodically when invocations come as fast as the tests
// make them), and spills to a directory of the test's own.
var (
	otlpConfig     = lambdatest.OTLPConfig
	platformConfig = lambdatest.WithTelemetryAPI(otlpConfig)
)

// configs are the two ways the tests run.
var configs = []struct {
	name     string
	config   string
	platform bool
}{
	{"otlp", otlpConfig, false},
	{"telemetryapi", platformConfig, true},
}

type env struct {
	sb   *sandbox.Env
	sink *sink.Sink
	logs *lambdatest.LogBuffer
	name string // the function's name
}

type envOptions struct {
	function string // import path of the function; empty: the test binary
	// mode is what the test binary runs: "" testFunction, "triggers"
	// triggersFunction.
	mode     string
	config   string
	protocol string // the function's OTLP protocol: "" (http/protobuf) or "grpc"
	// defaultEndpoint leaves OTEL_EXPORTER_OTLP_ENDPOINT unset: the
	// function sends to the default endpoint.
	defaultEndpoint bool
	sandbox         sandbox.Config
	env             map[string]string // more function environment variables
}

func startEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if testing.Short() {
		// make test-go-min runs the library's own tests alone with the
		// oldest Go it declares.
		t.Skip("end to end: builds the extension and runs the sandbox")
	}
	dir := t.TempDir()
	task := filepath.Join(dir, "task")
	bootstrap := ""
	if o.function == "" {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bootstrap = self
	} else {
		bootstrap = buildtest.Binary(t, o.function)
	}
	buildtest.Install(t, bootstrap, filepath.Join(task, "bootstrap"))
	e := &env{sink: lambdatest.StartSink(t, nil), logs: &lambdatest.LogBuffer{}}
	x := lambdatest.NewExtension(t, dir, o.config, e.sink)
	cfg := o.sandbox
	cfg.TaskRoot, cfg.Layers = task, []string{x.Layer}
	if cfg.FunctionName == "" {
		cfg.FunctionName = "orders"
	}
	e.name = cfg.FunctionName
	cfg.Env = x.Env(o.protocol)
	if o.defaultEndpoint {
		delete(cfg.Env, "OTEL_EXPORTER_OTLP_ENDPOINT")
		delete(cfg.Env, "OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if o.function == "" {
		cfg.Env[testFunctionOn] = cmp.Or(o.mode, "1")
	}
	for k, v := range o.env {
		cfg.Env[k] = v
	}
	if v := os.Getenv("LAMBDAOTEL_TEST_LOG_LEVEL"); v != "" {
		cfg.Env["LAMBDAOTEL_LOG_LEVEL"] = v // the extension's
	}
	e.sb = lambdatest.StartSandbox(t, cfg, e.logs)
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			sink.PrintTraces(&b, e.sink.Traces())
			t.Logf("traces at the sink:\n%s", b.String())
		}
	})
	return e
}

func (e *env) invoke(t *testing.T, req sandbox.Request) *sandbox.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := e.sb.Invoke(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// root returns the span of the sink whose faas.invocation_id is the
// request id and whose scope is lambdaotel's: the function's root span.
func (e *env) root(t *testing.T, requestID string) sink.Span {
	t.Helper()
	var found []sink.Span
	for _, s := range e.sink.Spans() {
		if s.Scope == lambdaotel.ScopeName && s.Attributes["faas.invocation_id"] == requestID {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d root spans of invocation %s at the sink, want 1", len(found), requestID)
	}
	return found[0]
}

// platformSpan returns the extension's span of an invocation.
func (e *env) platformSpan(t *testing.T, requestID string) sink.Span {
	t.Helper()
	for _, s := range e.sink.Spans() {
		if s.Scope != lambdaotel.ScopeName && s.Name == e.name && s.Attributes["faas.invocation_id"] == requestID {
			return s
		}
	}
	t.Fatalf("no platform span of invocation %s at the sink", requestID)
	return sink.Span{}
}

// checkParent checks where root hangs: under the platform span of its
// invocation, itself under upstream, with the telemetryapi receiver;
// directly under upstream (which may be empty) without it.
func (e *env) checkParent(t *testing.T, platform bool, root sink.Span, upstreamTrace, upstreamSpan string) {
	t.Helper()
	parent := root.ParentSpanID.String()
	if root.ParentSpanID.IsEmpty() {
		parent = ""
	}
	if !platform {
		if parent != upstreamSpan || upstreamTrace != "" && root.TraceID.String() != upstreamTrace {
			t.Errorf("root span %q under %q in trace %s, want under %q in %q", root.Name, parent, root.TraceID, upstreamSpan, upstreamTrace)
		}
		return
	}
	p := e.platformSpan(t, root.Attributes["faas.invocation_id"].(string))
	if p.Kind != ptrace.SpanKindServer {
		t.Errorf("platform span kind %v, want server", p.Kind)
	}
	if root.ParentSpanID != p.SpanID || root.TraceID != p.TraceID {
		t.Errorf("root span %q is not a child of the platform span %q (parent %s, platform %s)", root.Name, p.Name, root.ParentSpanID, p.SpanID)
	}
	pp := p.ParentSpanID.String()
	if p.ParentSpanID.IsEmpty() {
		pp = ""
	}
	if pp != upstreamSpan || upstreamTrace != "" && p.TraceID.String() != upstreamTrace {
		t.Errorf("platform span under %q in trace %s, want under %q in %q", pp, p.TraceID, upstreamSpan, upstreamTrace)
	}
}

// childrenOf returns the spans whose parent is s.
func (e *env) childrenOf(s sink.Span) []sink.Span {
	var out []sink.Span
	for _, c := range e.sink.Spans() {
		if c.TraceID == s.TraceID && c.ParentSpanID == s.SpanID {
			out = append(out, c)
		}
	}
	return out
}

// logRecord is a received log record.
type logRecord struct {
	body    string
	attrs   map[string]any
	traceID string
	spanID  string
}

func (e *env) logRecords() []logRecord {
	var out []logRecord
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				if sl.Scope().Name() != lambdaotel.ScopeName {
					continue
				}
				for _, lr := range sl.LogRecords().All() {
					out = append(out, logRecord{body: lr.Body().AsString(), attrs: lr.Attributes().AsRaw(),
						traceID: lr.TraceID().String(), spanID: lr.SpanID().String()})
				}
			}
		}
	}
	return out
}

func (e *env) metricPoints(name string) int {
	n := 0
	for _, md := range e.sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() == name {
						n += m.Sum().DataPoints().Len()
					}
				}
			}
		}
	}
	return n
}
