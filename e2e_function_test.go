package lambdaotel_test

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestFunctionOutcomes runs the test function through success, an error,
// a panic and a timeout, each in an environment of its own, with and
// without the telemetryapi receiver: each invocation's span is at the
// sink with the outcome recorded, children and log records in its trace.
func TestFunctionOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, event string
		errorType   string // the invocation's error type, as Lambda reports it
		spanError   string // error.type of the span
		status      string // the span's status message starts with it
	}{
		{"success", `{"children":2,"tag":"a"}`, "", "", ""},
		{"error", `{"children":2,"tag":"a","action":"error"}`, "errorString", "*errors.errorString", "failed on purpose"},
		{"panic", `{"children":2,"tag":"a","action":"panic"}`, "string", "string", "panic: panicked on purpose"},
		{"timeout", `{"children":2,"tag":"a","action":"sleep","sleepMs":5000}`, "Sandbox.Timedout", "timeout", "the handler was still running"},
	}
	for _, cfg := range configs {
		for _, c := range cases {
			t.Run(cfg.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, envOptions{config: cfg.config, sandbox: sandbox.Config{Timeout: time.Second}})
				res := e.invoke(t, sandbox.Request{Payload: []byte(c.event)})
				gotType := ""
				if res.Error != nil {
					gotType = res.Error.Type
				}
				if gotType != c.errorType {
					t.Fatalf("invocation error %+v, want type %q", res.Error, c.errorType)
				}
				// The next invocation succeeds (after a panic or a timeout,
				// in a new environment: a cold start again).
				next := e.invoke(t, sandbox.Request{Payload: []byte(`{"tag":"b"}`)})
				if next.Error != nil {
					t.Fatalf("next invocation: %v", next.Error)
				}
				if c.name == "timeout" || c.name == "panic" {
					// What the timed-out runtime sent is exported at the
					// extension's shutdown, at the latest.
					e.sb.Shutdown()
				}

				root := e.root(t, res.RequestID)
				if root.Name != "orders" || root.Kind != ptrace.SpanKindServer || root.Attributes["faas.trigger"] != "other" ||
					root.Attributes["faas.coldstart"] != true {
					t.Errorf("root span %q kind %v attributes %v", root.Name, root.Kind, root.Attributes)
				}
				if c.spanError == "" {
					if root.Status == ptrace.StatusCodeError || root.Attributes["error.type"] != nil {
						t.Errorf("status %v %q, error.type %v", root.Status, root.StatusMessage, root.Attributes["error.type"])
					}
				} else {
					if root.Status != ptrace.StatusCodeError || !strings.HasPrefix(root.StatusMessage, c.status) || root.Attributes["error.type"] != c.spanError {
						t.Errorf("status %v %q, error.type %v; want error %q, %s", root.Status, root.StatusMessage, root.Attributes["error.type"], c.status, c.spanError)
					}
				}
				if c.name == "error" || c.name == "panic" {
					if len(root.Events) != 1 || root.Events[0].Name != "exception" {
						t.Errorf("events %+v, want an exception", root.Events)
					} else if c.name == "panic" && !strings.Contains(root.Events[0].Attributes["exception.stacktrace"].(string), "testFunction") {
						t.Errorf("the panic's stack trace does not show the handler")
					}
				}
				e.checkParent(t, cfg.platform, root, "", "")
				if kids := e.childrenOf(root); len(kids) != 2 {
					t.Errorf("%d children of the root span, want 2", len(kids))
				}
				logged := 0
				for _, r := range e.logRecords() {
					if r.attrs["faas.invocation_id"] == res.RequestID {
						logged++
						if r.traceID != root.TraceID.String() || r.spanID != root.SpanID.String() {
							t.Errorf("log record %q not in the root span", r.body)
						}
					}
				}
				if logged != 1 {
					t.Errorf("%d log records of the invocation, want 1", logged)
				}

				nextRoot := e.root(t, next.RequestID)
				wantCold := c.name == "timeout" || c.name == "panic"
				if nextRoot.Attributes["faas.coldstart"] != wantCold {
					t.Errorf("the next invocation's faas.coldstart = %v, want %v", nextRoot.Attributes["faas.coldstart"], wantCold)
				}
				if nextRoot.TraceID == root.TraceID {
					t.Errorf("two invocations in one trace")
				}
				if n := e.metricPoints("test.invocations"); n == 0 {
					t.Errorf("no test.invocations metric at the sink")
				}
			})
		}
	}
}

// TestFlushedBeforeFreeze checks, invocation after invocation, that the
// function's telemetry is at the sink when the invocation ends (the
// environment is frozen then): the library flushed it to the extension,
// over OTLP/HTTP or OTLP/gRPC, before answering.
func TestFlushedBeforeFreeze(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{config: otlpConfig, protocol: protocol})
			for k := range 3 {
				res := e.invoke(t, sandbox.Request{Payload: []byte(`{"children":3,"tag":"x"}`)})
				if res.Error != nil {
					t.Fatal(res.Error)
				}
				if !e.sb.Frozen() {
					t.Errorf("the environment is not frozen after invocation %d", k)
				}
				if got := e.sink.SpanCount(); got != (k+1)*4 {
					t.Errorf("after invocation %d: %d spans at the sink, want %d", k, got, (k+1)*4)
				}
				if got := e.metricPoints("test.invocations"); got < k+1 {
					t.Errorf("after invocation %d: %d test.invocations points at the sink", k, got)
				}
				if got := len(e.logRecords()); got != k+1 {
					t.Errorf("after invocation %d: %d log records at the sink, want %d", k, got, k+1)
				}
				if root := e.root(t, res.RequestID); root.Attributes["faas.coldstart"] != (k == 0) {
					t.Errorf("invocation %d: faas.coldstart %v", k, root.Attributes["faas.coldstart"])
				}
			}
		})
	}
}

// TestManagedInstancesConcurrency runs invocations at once in one
// environment of Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=4):
// each invocation's span, children and log records carry its own data, the
// spans overlap in time, and none is a cold start (the init ran ahead).
func TestManagedInstancesConcurrency(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			const n = 4
			e := startEnv(t, envOptions{config: cfg.config, sandbox: sandbox.Config{MaxConcurrency: n}})
			tags := map[string]string{} // request id → tag
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tag := fmt.Sprintf("t%d", i)
					res := e.invoke(t, sandbox.Request{Payload: []byte(fmt.Sprintf(`{"action":"sleep","sleepMs":300,"children":2,"tag":%q}`, tag))})
					if res.Error != nil {
						t.Errorf("invocation %s: %v", tag, res.Error)
						return
					}
					mu.Lock()
					tags[res.RequestID] = tag
					mu.Unlock()
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			e.sb.Shutdown() // Managed Instances flush in the background and at shutdown
			var latestStart, earliestEnd time.Time
			for id, tag := range tags {
				root := e.root(t, id)
				if root.Attributes["faas.coldstart"] != false {
					t.Errorf("%s: faas.coldstart %v on Managed Instances", tag, root.Attributes["faas.coldstart"])
				}
				if root.Start.After(latestStart) {
					latestStart = root.Start
				}
				if earliestEnd.IsZero() || root.End.Before(earliestEnd) {
					earliestEnd = root.End
				}
				kids := e.childrenOf(root)
				if len(kids) != 2 {
					t.Errorf("%s: %d children", tag, len(kids))
				}
				for _, k := range kids {
					if k.Attributes["tag"] != tag {
						t.Errorf("%s: a child span of another invocation (tag %v)", tag, k.Attributes["tag"])
					}
				}
				for _, r := range e.logRecords() {
					if r.attrs["faas.invocation_id"] == id && (r.attrs["tag"] != tag || r.spanID != root.SpanID.String()) {
						t.Errorf("%s: log record of invocation %s has tag %v, span %s", tag, id, r.attrs["tag"], r.spanID)
					}
				}
				if cfg.platform {
					e.checkParent(t, true, root, "", "")
				}
			}
			if !latestStart.Before(earliestEnd) {
				t.Errorf("the invocations did not overlap: last start %v, first end %v", latestStart, earliestEnd)
			}
		})
	}
}

// TestDefaultEndpoint runs the test function without any
// OTEL_EXPORTER_OTLP_* variable, and the extension on its default ports:
// lambdaotel.Start sends to http://localhost:4318 (plain HTTP, as the
// specification's default is) and the telemetry arrives. In the host's
// network it needs ports 4317 and 4318, and is skipped when something else
// holds them; an environment with a network of its own always has them.
func TestDefaultEndpoint(t *testing.T) {
	for _, port := range []string{"127.0.0.1:4317", "127.0.0.1:4318"} {
		if sandbox.NetworkSupport() == nil {
			break
		}
		ln, err := net.Listen("tcp", port)
		if err != nil {
			t.Skipf("port %s is in use (%v): the default endpoint cannot be tested now", port, err)
		}
		ln.Close()
	}
	cfg := strings.NewReplacer("%GRPC_PORT%", "4317", "%HTTP_PORT%", "4318").Replace(platformConfig)
	e := startEnv(t, envOptions{config: cfg, defaultEndpoint: true})
	res := e.invoke(t, sandbox.Request{Payload: []byte(`{"children":1}`)})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	root := e.root(t, res.RequestID)
	e.checkParent(t, true, root, "", "")
	if strings.Contains(e.logs.String(), "lambdaotel: flush") {
		t.Errorf("flush errors:\n%s", e.logs.String())
	}
}

// TestInvocationEndSignal checks the end-of-invocation signal between the
// library and the extension: after each invocation's flush the function
// tells the extension that its telemetry is complete, and the extension,
// which makes no platform telemetry here, flushes on it without waiting
// for the Telemetry API's platform.runtimeDone; with platform telemetry it
// still waits for runtimeDone, and with the signal turned off nothing is
// signalled. Every invocation's spans are at the sink when it ends.
func TestInvocationEndSignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config string
		env    map[string]string
		want   string // the extension's line per invocation; "": none
	}{
		{"otlp", otlpConfig, nil, "DEBUG the function signalled the end of an invocation requestId="},
		{"telemetryapi", platformConfig, nil, "DEBUG the function signalled the end of an invocation; waiting for platform.runtimeDone"},
		{"off", otlpConfig, map[string]string{"LAMBDAOTEL_INVOCATION_END": "false"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"LAMBDAOTEL_LOG_LEVEL": "debug"}
			maps.Copy(env, tt.env)
			e := startEnv(t, envOptions{config: tt.config, env: env})
			for k := range 3 {
				res := e.invoke(t, sandbox.Request{Payload: []byte(`{"children":2}`)})
				if res.Error != nil {
					t.Fatal(res.Error)
				}
				if got := len(e.childrenOf(e.root(t, res.RequestID))); got != 2 {
					t.Errorf("invocation %d: %d children of its span at the sink, want 2", k, got)
				}
				logs := e.logs.String()
				found := slices.ContainsFunc(strings.Split(logs, "\n"), func(l string) bool {
					return strings.Contains(l, tt.want) && strings.Contains(l, "requestId="+res.RequestID)
				})
				switch {
				case tt.want != "" && !found:
					t.Errorf("invocation %d: no line %q ... requestId=%s in the environment's log", k, tt.want, res.RequestID)
				case tt.want == "" && strings.Contains(logs, "the function signalled the end of an invocation"):
					t.Errorf("invocation %d: signalled although LAMBDAOTEL_INVOCATION_END=false", k)
				}
			}
		})
	}
}
