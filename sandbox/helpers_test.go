package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

const (
	plainFunc = "github.com/lambdaotel/lambdaotel/internal/fixtures/plainfunc"
	recorder  = "github.com/lambdaotel/lambdaotel/internal/fixtures/recorder"
)

// setup describes one test environment: the plainfunc function and,
// unless noExtension, the recorder extension in a layer.
type setup struct {
	noExtension bool
	recEnv      map[string]string // recorder settings (REC_*)
	cfg         sandbox.Config    // TaskRoot and Layers are filled in
}

// fixture is a running test environment.
type fixture struct {
	env    *sandbox.Env
	recOut string
	logs   *syncBuffer
}

func start(t *testing.T, s setup) *fixture {
	t.Helper()
	dir := t.TempDir()
	task := filepath.Join(dir, "task")
	buildtest.Install(t, buildtest.Binary(t, plainFunc), filepath.Join(task, "bootstrap"))
	f := &fixture{recOut: filepath.Join(dir, "recorder.jsonl"), logs: &syncBuffer{}}
	cfg := s.cfg
	cfg.TaskRoot = task
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	if !s.noExtension {
		layer := filepath.Join(dir, "layer")
		buildtest.Install(t, buildtest.Binary(t, recorder), filepath.Join(layer, "extensions", "recorder"))
		cfg.Layers = append([]string{layer}, cfg.Layers...)
		cfg.Env["REC_OUT"] = f.recOut
		for k, v := range s.recEnv {
			cfg.Env[k] = v
		}
	}
	cfg.Logs = f.logs
	env, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.env = env
	t.Cleanup(func() {
		env.Shutdown()
		if t.Failed() {
			t.Logf("environment logs:\n%s", f.logs.String())
		}
	})
	return f
}

func (f *fixture) invoke(t *testing.T, event string) *sandbox.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := f.env.Invoke(ctx, sandbox.Request{Payload: []byte(event)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// recEvent is one Telemetry API event as the recorder received it.
type recEvent struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
	batch  int
}

// record decodes the event's record into v.
func (e recEvent) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Record, v); err != nil {
		t.Fatalf("%s record %s: %v", e.Type, e.Record, err)
	}
}

// recording is what the recorder wrote: lifecycle events (register and
// event/next bodies) and telemetry, in the order received.
type recording struct {
	lifecycle []map[string]any
	telemetry []recEvent
	batches   [][]recEvent
	// order interleaves both: "event:INVOKE", "telemetry:platform.start", ...
	order []string
}

func (f *fixture) recording(t *testing.T) *recording {
	t.Helper()
	data, err := os.ReadFile(f.recOut)
	if err != nil {
		t.Fatalf("read recorder output: %v", err)
	}
	rec := &recording{}
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 16<<20)
	for s.Scan() {
		var line struct {
			Kind   string          `json:"kind"`
			Body   json.RawMessage `json:"body"`
			Events []recEvent      `json:"events"`
		}
		if err := json.Unmarshal(s.Bytes(), &line); err != nil {
			t.Fatalf("recorder line %q: %v", s.Text(), err)
		}
		switch line.Kind {
		case "telemetry":
			for i := range line.Events {
				line.Events[i].batch = len(rec.batches)
				rec.order = append(rec.order, "telemetry:"+line.Events[i].Type)
			}
			rec.batches = append(rec.batches, line.Events)
			rec.telemetry = append(rec.telemetry, line.Events...)
		default:
			var body map[string]any
			_ = json.Unmarshal(line.Body, &body)
			body["kind"] = line.Kind
			rec.lifecycle = append(rec.lifecycle, body)
			if line.Kind == "event" {
				rec.order = append(rec.order, "event:"+body["eventType"].(string))
			}
		}
	}
	return rec
}

// ofType returns the recorded telemetry events of type typ.
func (r *recording) ofType(typ string) []recEvent {
	var out []recEvent
	for _, e := range r.telemetry {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// events returns the recorded lifecycle events of eventType.
func (r *recording) events(eventType string) []map[string]any {
	var out []map[string]any
	for _, e := range r.lifecycle {
		if e["eventType"] == eventType {
			out = append(out, e)
		}
	}
	return out
}

func reportsOf[T sandbox.Report](env *sandbox.Env) []T {
	var out []T
	for _, r := range env.Reports() {
		if v, ok := r.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// response decodes plainfunc's response.
type response struct {
	RequestID   string            `json:"requestId"`
	Ticks       int64             `json:"ticks"`
	TraceHeader string            `json:"traceHeader"`
	TraceEnv    string            `json:"traceEnv"`
	FunctionARN string            `json:"functionArn"`
	Env         map[string]string `json:"env"`
}

func decodeResponse(t *testing.T, res *sandbox.Result) response {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("invocation failed: %v", res.Error)
	}
	var r response
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("response %q: %v", res.Payload, err)
	}
	return r
}
