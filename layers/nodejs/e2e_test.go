package nodejs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/layers/nodejs/nodetest"
	"github.com/lambdaotel/lambdaotel/sink"
)

// TestHandlerKinds runs every kind of Node.js handler with the real
// runtime interface client, the layer through AWS_LAMBDA_EXEC_WRAPPER, the
// extension and a sink. After each invocation, with no waiting (the
// environment is frozen by then), the sink holds the invocation's span with
// the FaaS and cloud attributes, the child span of the function's HTTP call
// to a loopback server (whose request carried the span's context), or the
// error of a throwing handler.
func TestHandlerKinds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fixture, handler string
		fetch                  bool // the handler also calls with fetch
		callback               bool // a callback handler: nodejs24.x rejects it (TestHandlerShapes)
	}{
		{"mjs async", "mjs", "index.handler", true, false},
		{"mjs callback", "mjs-callback", "index.handler", false, true},
		{"js in a type module package", "type-module", "app.handler", false, false},
		{"cjs callback", "cjs", "handler.handler", false, true},
		{"commonjs js async", "commonjs", "index.handler", true, false},
		{"commonjs js callback", "commonjs-callback", "index.handler", false, true},
		{"subdirectory esm", "subdir", "src/app.handler", false, false},
		{"subdirectory cjs", "subdir-cjs", "lib/handlers/app.handler", false, true},
	}
	forMajors(t, func(t *testing.T, major int) {
		for _, c := range cases {
			if c.callback && major >= 24 {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				const name = "orders"
				e := startEnv(t, envOptions{major: major, fixture: c.fixture, handler: c.handler, functionName: name})
				actions := []string{"http", "http", "fail", "http"}
				if c.fetch {
					actions = append(actions, "fetch")
				}
				var ids []string
				for k, action := range actions {
					res := e.invoke(t, fmt.Sprintf(`{"action":%q}`, action))
					ids = append(ids, res.RequestID)
					if action == "fail" {
						if res.Error == nil || !strings.Contains(res.Error.Message, "boom "+res.RequestID) {
							t.Fatalf("invocation %d (%s): error %+v, want the handler's error", k, action, res.Error)
						}
					} else if res.Error != nil {
						t.Fatalf("invocation %d (%s): %v", k, action, res.Error)
					} else if !strings.Contains(string(res.Payload), `"status":200`) {
						t.Errorf("invocation %d (%s): payload %s", k, action, res.Payload)
					}
					if !e.sb.Frozen() {
						t.Errorf("invocation %d: the environment is not frozen after the invocation", k)
					}
					// No waiting: everything is at the backend when Invoke returns.
					spans := e.sink.Spans()
					invs := invocationSpans(spans, res.RequestID)
					if len(invs) != 1 {
						t.Fatalf("invocation %d (%s): %d invocation spans at the backend, want 1 (%d spans there)", k, action, len(invs), len(spans))
					}
					inv := invs[0]
					checkInvocationSpan(t, inv, name, k == 0)
					switch action {
					case "fail":
						checkError(t, inv, "boom "+res.RequestID)
					case "http", "fetch":
						scope := "@opentelemetry/instrumentation-http"
						if action == "fetch" {
							scope = "@opentelemetry/instrumentation-undici"
						}
						checkClientSpan(t, e, spans, inv, res.RequestID, scope)
					}
				}
				e.sb.Shutdown()
				// Nothing arrives twice, and nothing more comes at shutdown.
				spans := e.sink.Spans()
				for _, id := range ids {
					if n := len(invocationSpans(spans, id)); n != 1 {
						t.Errorf("after shutdown: %d invocation spans of %s, want 1", n, id)
					}
				}
				if want := len(actions) + len(actions) - 1; len(spans) != want {
					t.Errorf("after shutdown: %d spans at the backend, want %d (one invocation span each, one client span but for the failure)", len(spans), want)
				}
				if strings.Contains(e.logs.String(), "lambdaotel-nodejs: ERROR") {
					t.Errorf("the layer logged an error:\n%s", e.logs.String())
				}
			})
		}
	})
}

func checkInvocationSpan(t *testing.T, inv sink.Span, name string, cold bool) {
	t.Helper()
	arn := "arn:aws:lambda:us-east-1:123456789012:function:" + name
	if inv.Name != name || inv.Kind != ptrace.SpanKindServer || !inv.ParentSpanID.IsEmpty() {
		t.Errorf("invocation span %q kind %v parent %v: want %q, server, a root", inv.Name, inv.Kind, inv.ParentSpanID, name)
	}
	want := map[string]any{
		"faas.coldstart":    cold,
		"faas.trigger":      "other",
		"cloud.resource_id": arn,
		"cloud.account.id":  "123456789012",
	}
	for k, v := range want {
		if inv.Attributes[k] != v {
			t.Errorf("invocation span attribute %s = %#v, want %#v (all: %v)", k, inv.Attributes[k], v, inv.Attributes)
		}
	}
	wantRes := map[string]any{
		"service.name":           name,
		"cloud.provider":         "aws",
		"cloud.platform":         "aws_lambda",
		"cloud.region":           "us-east-1",
		"faas.name":              name,
		"faas.version":           "$LATEST",
		"faas.max_memory":        int64(128 << 20),
		"telemetry.sdk.language": "nodejs",
		"telemetry.distro.name":  "lambdaotel-nodejs",
	}
	for k, v := range wantRes {
		if inv.Resource[k] != v {
			t.Errorf("resource attribute %s = %#v, want %#v (all: %v)", k, inv.Resource[k], v, inv.Resource)
		}
	}
}

func checkError(t *testing.T, inv sink.Span, msg string) {
	t.Helper()
	if inv.Status != ptrace.StatusCodeError || inv.StatusMessage != msg {
		t.Errorf("failed invocation span status %v %q, want error %q", inv.Status, inv.StatusMessage, msg)
	}
	found := false
	for _, ev := range inv.Events {
		if ev.Name == "exception" && ev.Attributes["exception.message"] == msg && ev.Attributes["exception.type"] == "Error" {
			found = true
		}
	}
	if !found {
		t.Errorf("failed invocation span: no exception event with message %q (events %+v)", msg, inv.Events)
	}
}

func checkClientSpan(t *testing.T, e *env, spans []sink.Span, inv sink.Span, requestID, scope string) {
	t.Helper()
	url := e.target.srv.URL + "/" + requestID
	var client *sink.Span
	kids := children(spans, inv)
	for i, s := range kids {
		if s.Kind == ptrace.SpanKindClient && s.Scope == scope {
			client = &kids[i]
		}
	}
	if client == nil {
		t.Errorf("no %s client span under the invocation span (children: %+v)", scope, kids)
		return
	}
	if client.Name != "GET" || client.Attributes["http.request.method"] != "GET" || client.Attributes["url.full"] != url ||
		client.Attributes["http.response.status_code"] != int64(200) || client.Attributes["server.address"] != "127.0.0.1" {
		t.Errorf("client span %q %v, want GET %s answered 200", client.Name, client.Attributes, url)
	}
	// The request carried the client span's context to the server.
	tp, ok := e.target.traceparent("/" + requestID)
	if want := fmt.Sprintf("00-%s-%s-01", client.TraceID, client.SpanID); !ok || tp != want {
		t.Errorf("the server got traceparent %q, want %q", tp, want)
	}
}

// TestJoinsPlatformSpan runs the extension with its Telemetry API receiver:
// the layer's invocation span becomes a child of the extension's platform
// span of the same invocation, in one trace.
func TestJoinsPlatformSpan(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		e := startEnv(t, envOptions{major: major, fixture: "mjs", handler: "index.handler", functionName: "joined", config: platformConfig})
		for k := range 2 {
			res := e.invoke(t, `{"action":"http"}`)
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			spans := e.sink.Spans()
			invs := invocationSpans(spans, res.RequestID)
			if len(invs) != 1 {
				t.Fatalf("invocation %d: %d invocation spans of the layer, want 1", k, len(invs))
			}
			var platform *sink.Span
			for i, s := range spans {
				if s.Scope != lambdaScope && s.Attributes["faas.invocation_id"] == res.RequestID && s.Kind == ptrace.SpanKindServer {
					platform = &spans[i]
				}
			}
			if platform == nil {
				t.Fatalf("invocation %d: no platform span of the extension", k)
			}
			if invs[0].TraceID != platform.TraceID || invs[0].ParentSpanID != platform.SpanID {
				t.Errorf("invocation %d: the layer's span (trace %s, parent %s) is not a child of the platform span (trace %s, span %s)",
					k, invs[0].TraceID, invs[0].ParentSpanID, platform.TraceID, platform.SpanID)
			}
			if len(children(spans, invs[0])) != 1 {
				t.Errorf("invocation %d: the HTTP client span is not under the layer's span", k)
			}
		}
	})
}

// TestConfiguration checks the standard variables the layer honours.
func TestConfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, e *env, spans []sink.Span, requestID string)
	}{
		{"service name and resource attributes", map[string]string{
			"OTEL_SERVICE_NAME":        "checkout",
			"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test,team=payments",
		}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			inv := invocationSpans(spans, id)
			if len(inv) != 1 || inv[0].Resource["service.name"] != "checkout" || inv[0].Resource["team"] != "payments" ||
				inv[0].Resource["deployment.environment.name"] != "test" || inv[0].Resource["faas.name"] != "function" {
				t.Errorf("invocation spans %+v: want service.name checkout and the resource attributes", inv)
			}
		}},
		{"xray propagator", map[string]string{"OTEL_PROPAGATORS": "xray"}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			if tp, _ := e.target.traceparent("/" + id); tp != "" {
				t.Errorf("traceparent %q sent with OTEL_PROPAGATORS=xray", tp)
			}
			if xr, _ := e.target.xray("/" + id); !strings.HasPrefix(xr, "Root=1-") {
				t.Errorf("X-Amzn-Trace-Id %q, want an X-Ray header", xr)
			}
		}},
		{"disabled http instrumentation", map[string]string{"OTEL_NODE_DISABLED_INSTRUMENTATIONS": "http"}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			inv := invocationSpans(spans, id)
			if len(inv) != 1 || len(spans) != 1 {
				t.Errorf("%d spans, %d invocation spans: want the invocation span alone", len(spans), len(inv))
			}
		}},
		{"enabled instrumentations", map[string]string{"OTEL_NODE_ENABLED_INSTRUMENTATIONS": "aws-lambda,aws-sdk"}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			if len(spans) != 1 || len(invocationSpans(spans, id)) != 1 {
				t.Errorf("%d spans: want the invocation span alone", len(spans))
			}
		}},
		{"sampler always_off", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			if len(spans) != 0 {
				t.Errorf("%d spans with OTEL_TRACES_SAMPLER=always_off", len(spans))
			}
			if tp, _ := e.target.traceparent("/" + id); !strings.HasSuffix(tp, "-00") {
				t.Errorf("traceparent %q: want the unsampled flag", tp)
			}
		}},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true"}, func(t *testing.T, e *env, spans []sink.Span, id string) {
			if len(spans) != 0 {
				t.Errorf("%d spans with OTEL_SDK_DISABLED=true", len(spans))
			}
		}},
	}
	forMajors(t, func(t *testing.T, major int) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, envOptions{major: major, fixture: "commonjs", handler: "index.handler", env: c.env})
				res := e.invoke(t, `{"action":"http"}`)
				if res.Error != nil {
					t.Fatal(res.Error)
				}
				c.check(t, e, e.sink.Spans(), res.RequestID)
				if strings.Contains(e.logs.String(), "lambdaotel-nodejs: ") {
					t.Errorf("the layer logged:\n%s", e.logs.String())
				}
			})
		}
	})
}

// TestWithoutExtension runs the layer with nothing listening where it
// sends: the function works, the end of each invocation does not wait for
// the exporter's retries, and the layer says once what is wrong.
func TestWithoutExtension(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		for _, fixture := range []string{"commonjs", "mjs"} {
			t.Run(fixture, func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, envOptions{major: major, fixture: fixture, handler: "index.handler", noExtension: true})
				for k := range 3 {
					res := e.invoke(t, `{"action":"http"}`)
					if res.Error != nil {
						t.Fatalf("invocation %d: %v", k, res.Error)
					}
					// The exporter's first retry comes after about a second; the
					// flush timeout is two. A flush that waited for either
					// would show here.
					if res.Report.DurationMs > 900 {
						t.Errorf("invocation %d took %.0f ms: the end of the invocation waited for an export that cannot succeed", k, res.Report.DurationMs)
					}
				}
				logs := e.logs.String()
				if n := strings.Count(logs, "nothing listens at http://127.0.0.1:"); n != 1 {
					t.Errorf("the layer said %d times that nothing listens, want once:\n%s", n, logs)
				}
			})
		}
	})
}

// TestSetupFailure breaks the layer's installation (its bundle throws when
// it loads): the function still works, and the layer says so.
func TestSetupFailure(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		_, layer := requireNode(t, major)
		for _, fixture := range []string{"commonjs", "mjs"} {
			t.Run(fixture, func(t *testing.T) {
				t.Parallel()
				broken := filepath.Join(t.TempDir(), "layer")
				copyDir(t, layer, broken)
				if err := os.Chmod(filepath.Join(broken, "otel-handler"), 0o755); err != nil {
					t.Fatal(err)
				}
				bundle := filepath.Join(broken, "lambdaotel-nodejs", "init.cjs")
				if err := os.WriteFile(bundle, []byte("throw new Error('broken on purpose')\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				e := startEnv(t, envOptions{major: major, fixture: fixture, handler: "index.handler", nodeLayer: broken})
				for k := range 2 {
					res := e.invoke(t, `{"action":"http"}`)
					if res.Error != nil || !strings.Contains(string(res.Payload), `"status":200`) {
						t.Fatalf("invocation %d: %v %s: the function must work without OpenTelemetry", k, res.Error, res.Payload)
					}
				}
				logs := e.logs.String()
				if n := strings.Count(logs, "broken on purpose"); n < 1 || n > 2 {
					t.Errorf("the failure is logged %d times, want once (at most once per preload):\n%s", n, logs)
				}
				if n := strings.Count(logs, "lambdaotel-nodejs: ERROR"); n < 1 {
					t.Errorf("no error line of the layer:\n%s", logs)
				}
			})
		}
	})
}

// TestNodeUnitTests runs the layer's JavaScript tests with Node's test
// runner against the layer as built.
func TestNodeUnitTests(t *testing.T) {
	t.Parallel()
	rt, layer := requireNode(t, nodetest.Majors[0])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	files, err := filepath.Glob(filepath.Join("test", "unit", "*.test.cjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit tests in test/unit: %v", err)
	}
	cmd := exec.CommandContext(ctx, rt.Node, append([]string{"--test", "--test-reporter=spec", "--test-timeout=60000"}, files...)...)
	cmd.Env = append(os.Environ(), "LAMBDAOTEL_NODE_LAYER="+layer)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// TestAWSSDK calls DynamoDB with the AWS SDK from CommonJS and ES module
// handlers: the aws-sdk instrumentation makes one client span per call,
// under the invocation span, with the RPC attributes (and no second span
// for its HTTP request).
func TestAWSSDK(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		for _, fixture := range []string{"aws-sdk-cjs", "aws-sdk-mjs"} {
			t.Run(fixture, func(t *testing.T) {
				t.Parallel()
				ddb := fakeDynamoDB(t)
				e := startEnv(t, envOptions{major: major, fixture: fixture, handler: "index.handler", functionDeps: true, env: ddb.env()})
				for k := range 2 {
					res := e.invoke(t, `{}`)
					if res.Error != nil {
						t.Fatalf("invocation %d: %v", k, res.Error)
					}
					if want := fmt.Sprintf(`{"id":%q}`, res.RequestID); string(res.Payload) != want {
						t.Errorf("invocation %d: payload %s, want %s", k, res.Payload, want)
					}
					spans := e.sink.Spans()
					invs := invocationSpans(spans, res.RequestID)
					if len(invs) != 1 {
						t.Fatalf("invocation %d: %d invocation spans", k, len(invs))
					}
					kids := children(spans, invs[0])
					if len(kids) != 1 {
						t.Fatalf("invocation %d: %d spans under the invocation span, want the DynamoDB call alone: %+v", k, len(kids), kids)
					}
					call := kids[0]
					if call.Name != "DynamoDB.GetItem" || call.Kind != ptrace.SpanKindClient || call.Scope != "@opentelemetry/instrumentation-aws-sdk" ||
						call.Attributes["rpc.system"] != "aws-api" || call.Attributes["rpc.service"] != "DynamoDB" || call.Attributes["rpc.method"] != "GetItem" {
						t.Errorf("invocation %d: AWS SDK span %q (%v, %s) %v", k, call.Name, call.Kind, call.Scope, call.Attributes)
					}
					if got := fmt.Sprint(call.Attributes["aws.dynamodb.table_names"]); got != "[orders]" {
						t.Errorf("invocation %d: aws.dynamodb.table_names %s, want [orders]", k, got)
					}
				}
				if targets := ddb.targets(); len(targets) != 2 || targets[0] != "DynamoDB_20120810.GetItem" {
					t.Errorf("the fake DynamoDB got %q, want two GetItem calls", targets)
				}
			})
		}
	})
}

// TestBundledAWSSDK bundles the AWS SDK with the function (esbuild, CommonJS
// and ES module output, with the layer's esbuild plugin): the bundle has no
// node_modules to patch, and still each DynamoDB call is one client span.
func TestBundledAWSSDK(t *testing.T) {
	t.Parallel()
	_, layer := requireNode(t, nodetest.Majors[0])
	plugin := filepath.Join(layer, "lambdaotel-nodejs", "esbuild-plugin.cjs")
	forMajors(t, func(t *testing.T, major int) {
		rt, _ := requireNode(t, major)
		for _, c := range []struct{ fixture, entry, format, out string }{
			{"aws-sdk-cjs", "index.js", "cjs", "index.js"},
			{"aws-sdk-mjs", "index.mjs", "esm", "index.mjs"},
		} {
			t.Run(c.format, func(t *testing.T) {
				t.Parallel()
				ddb := fakeDynamoDB(t)
				e := startEnv(t, envOptions{major: major, fixtureDir: t.TempDir(), handler: "index.handler", prepare: func(task string) {
					src := filepath.Join(t.TempDir(), "src")
					copyDir(t, filepath.Join("testdata", "functions", c.fixture), src)
					if err := os.Symlink(rt.FunctionDeps, filepath.Join(src, "node_modules")); err != nil {
						t.Fatal(err)
					}
					esbuild(t, major, filepath.Join(src, c.entry), filepath.Join(task, c.out), c.format, plugin)
				}, env: ddb.env()})
				for k := range 2 {
					res := e.invoke(t, `{}`)
					if res.Error != nil {
						t.Fatalf("invocation %d: %v", k, res.Error)
					}
					spans := e.sink.Spans()
					invs := invocationSpans(spans, res.RequestID)
					if len(invs) != 1 {
						t.Fatalf("invocation %d: %d invocation spans", k, len(invs))
					}
					kids := children(spans, invs[0])
					if len(kids) != 1 || kids[0].Name != "DynamoDB.GetItem" || kids[0].Scope != "@opentelemetry/instrumentation-aws-sdk" {
						t.Errorf("invocation %d: spans under the invocation span %+v, want the DynamoDB.GetItem span alone", k, kids)
					}
				}
				if logs := e.logs.String(); strings.Contains(logs, "lambdaotel-nodejs: ") {
					t.Errorf("the layer logged:\n%s", logs)
				}
			})
		}
	})
}

// dynamoDB is a stand-in for DynamoDB that answers GetItem with the item
// of the key asked for and records the X-Amz-Target of every request.
type dynamoDB struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

// fakeDynamoDB starts a dynamoDB, reachable from the sandbox, until the
// test ends.
func fakeDynamoDB(t *testing.T) *dynamoDB {
	d := &dynamoDB{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Key struct {
				ID struct{ S string } `json:"id"`
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		d.mu.Lock()
		d.seen = append(d.seen, r.Header.Get("X-Amz-Target"))
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		fmt.Fprintf(w, `{"Item":{"id":{"S":%q}}}`, in.Key.ID.S)
	}))
	t.Cleanup(d.Close)
	lambdatest.Forward(t, d.URL)
	return d
}

// env is what a function needs to call d: its endpoint and credentials.
func (d *dynamoDB) env() map[string]string {
	return map[string]string{
		"DYNAMODB_ENDPOINT":     d.URL,
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret",
	}
}

// targets returns the X-Amz-Target of every request so far.
func (d *dynamoDB) targets() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.seen...)
}
