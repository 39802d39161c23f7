package nodejs_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/layers/nodejs/nodetest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// The scope of the invocation spans the layer makes.
const lambdaScope = "lambdaotel-nodejs"

var (
	layerOnce sync.Once
	layerDir  string
	layerErr  error
	tempDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	if tempDir != "" {
		os.RemoveAll(tempDir)
	}
	os.Exit(code)
}

// requireNode returns the Node.js runtime and the built layer, or ends the
// test: skipped when LAMBDAOTEL_SKIP_NODE=1, failed with what is missing
// otherwise.
func requireNode(t *testing.T, major int) (nodetest.Runtime, string) {
	t.Helper()
	if nodetest.Skipped() {
		t.Skipf("%s=1: the Node.js layer's tests are skipped", nodetest.SkipEnv)
	}
	rt, err := nodetest.LoadRuntime(major)
	if err != nil {
		t.Fatal(err)
	}
	layerOnce.Do(func() {
		tempDir, layerErr = os.MkdirTemp("", "lambdaotel-nodejs-test-")
		if layerErr != nil {
			return
		}
		layerDir = filepath.Join(tempDir, "layer")
		layerErr = nodetest.BuildLayer(layerDir)
	})
	if layerErr != nil {
		t.Fatal(layerErr)
	}
	return rt, layerDir
}

// target is the loopback HTTP server the functions call: it answers 200
// and remembers the trace headers of each path.
type target struct {
	srv *httptest.Server
	mu  sync.Mutex
	hdr map[string]http.Header
}

func startTarget(t *testing.T) *target {
	tg := &target{hdr: map[string]http.Header{}}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.hdr[r.URL.Path] = r.Header.Clone()
		tg.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

// header returns the header key of the request for path, and whether
// there was such a request.
func (tg *target) header(path, key string) (string, bool) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	h, ok := tg.hdr[path]
	return h.Get(key), ok
}

func (tg *target) traceparent(path string) (string, bool) { return tg.header(path, "traceparent") }
func (tg *target) xray(path string) (string, bool)        { return tg.header(path, "X-Amzn-Trace-Id") }

// env is a running sandbox with a Node.js function, the layer, the
// extension and a sink as the backend.
type env struct {
	sb     *sandbox.Env
	sink   *sink.Sink
	target *target
	logs   *lambdatest.LogBuffer
	cfg    sandbox.Config
}

type envOptions struct {
	major        int               // the Node.js major (22 or 24)
	noLayer      bool              // run without the Node.js layer (and AWS_LAMBDA_EXEC_WRAPPER)
	fixture      string            // the directory under testdata/functions
	fixtureDir   string            // or the fixture's directory
	prepare      func(task string) // called with the task root before the sandbox starts
	timeout      time.Duration     // the function's timeout; 10 s when 0
	handler      string            // the handler setting
	config       string            // the extension's config (%SINK_HTTP%, %GRPC_PORT%, %HTTP_PORT% replaced); otlpOnlyConfig when empty
	env          map[string]string // more function environment variables
	noExtension  bool              // run without the extension's layer
	nodeLayer    string            // the Node.js layer; the one built from source when empty
	functionDeps bool              // give the function the test functions' node_modules (the AWS SDK)
	functionName string
}

// otlpOnlyConfig receives the SDK's OTLP and exports it to the sink as it
// is, so that the function's spans arrive as the layer made them. The
// extension flushes at the end of every invocation (its default, adaptive,
// flushes periodically while invocations come quickly), so that each
// invocation's spans are at the sink when Invoke returns.
var (
	otlpOnlyConfig = lambdatest.OTLPConfig
	// platformConfig adds the telemetryapi receiver: the extension's
	// invocation spans, which the function's spans join.
	platformConfig = lambdatest.WithTelemetryAPI(otlpOnlyConfig)
)

func startEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.major == 0 {
		t.Fatal("envOptions.major is not set")
	}
	rt, nodeLayer := requireNode(t, o.major)
	if o.nodeLayer != "" {
		nodeLayer = o.nodeLayer
	}
	dir := t.TempDir()
	task := filepath.Join(dir, "task")
	if o.fixtureDir == "" {
		o.fixtureDir = filepath.Join("testdata", "functions", o.fixture)
	}
	copyDir(t, o.fixtureDir, task)
	if o.prepare != nil {
		o.prepare(task)
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	if o.functionDeps {
		if err := os.Symlink(rt.FunctionDeps, filepath.Join(task, "node_modules")); err != nil {
			t.Fatal(err)
		}
	}

	e := &env{sink: lambdatest.StartSink(t, nil), target: startTarget(t), logs: &lambdatest.LogBuffer{}}
	if o.config == "" {
		o.config = otlpOnlyConfig
	}
	x := lambdatest.NewExtension(t, dir, o.config, e.sink)
	layers := []string{x.Layer, nodeLayer}
	if o.noExtension {
		layers = []string{nodeLayer}
	}
	if o.noLayer {
		layers = layers[:len(layers)-1]
	}
	e.cfg = sandbox.Config{
		TaskRoot:     task,
		Command:      rt.Command(o.handler),
		Handler:      o.handler,
		Runtime:      rt.Name(),
		Layers:       layers,
		FunctionName: o.functionName,
		Timeout:      o.timeout,
		Env:          x.Env(""),
	}
	if !o.noLayer {
		e.cfg.Env["AWS_LAMBDA_EXEC_WRAPPER"] = "/opt/otel-handler"
	}
	e.cfg.Env["TARGET_URL"] = e.target.srv.URL
	lambdatest.Forward(t, e.target.srv.URL)
	for k, v := range o.env {
		e.cfg.Env[k] = v
	}
	e.sb = lambdatest.StartSandbox(t, e.cfg, e.logs)
	return e
}

// forMajors runs f as a parallel subtest for each Node.js major.
func forMajors(t *testing.T, f func(t *testing.T, major int)) {
	for _, major := range nodetest.Majors {
		t.Run(fmt.Sprintf("node%d", major), func(t *testing.T) {
			t.Parallel()
			f(t, major)
		})
	}
}

func (e *env) invoke(t *testing.T, event string) *sandbox.Result {
	t.Helper()
	return lambdatest.Invoke(t, e.sb, event)
}

// invocationSpans returns the layer's invocation spans of request id.
func invocationSpans(spans []sink.Span, requestID string) []sink.Span {
	var out []sink.Span
	for _, s := range spans {
		if s.Scope == lambdaScope && s.Attributes["faas.invocation_id"] == requestID {
			out = append(out, s)
		}
	}
	return out
}

// children returns the spans whose parent is span.
func children(spans []sink.Span, parent sink.Span) []sink.Span {
	var out []sink.Span
	for _, s := range spans {
		if s.TraceID == parent.TraceID && s.ParentSpanID == parent.SpanID {
			out = append(out, s)
		}
	}
	return out
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
