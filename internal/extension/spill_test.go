package extension_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// TestSpillAndReplay takes the backend down for three invocations: what
// could not be sent within the flush budget goes to the queue on disk, and
// is sent at a later flush when the backend answers again — also after the
// extension was restarted by a function timeout, since /tmp survives it.
func TestSpillAndReplay(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	fault := func(sink.Request) sink.Fault {
		if down.Load() {
			return sink.Fault{HTTPStatus: 503}
		}
		return sink.Fault{}
	}
	spillDir := t.TempDir()
	cfg := strings.Replace(defaultConfig, "    strategy: end", "    strategy: end\n    budget: 200ms\n  spill:\n    dir: "+spillDir, 1)
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg, sinkFault: fault,
		sandbox: sandbox.Config{Timeout: time.Second}})
	for k := range 3 {
		if res := e.invoke(t, `{"spans":2}`); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	if n := e.sink.SpanCount(); n != 0 {
		t.Fatalf("%d spans reached a backend that is down", n)
	}
	if !strings.Contains(e.logs.String(), "kept on disk for the next flush") {
		t.Fatalf("nothing was spilled:\n%s", e.logs.String())
	}
	// A timeout restarts the extension; the queue stays on disk.
	if res := e.invoke(t, `{"sleepMs":3000}`); res.Error == nil || res.Error.Type != "Sandbox.Timedout" {
		t.Fatalf("the sleeping invocation did not time out: %+v", res.Error)
	}
	down.Store(false)
	if res := e.invoke(t, `{"spans":2}`); res.Error != nil {
		t.Fatal(res.Error)
	}
	// The restarted extension sent the new invocation's spans and replayed
	// the three spilled invocations, before the environment froze.
	if n := e.sink.SpanCount(); n != 4*3 {
		t.Errorf("%d spans at the backend after the backend came back, want %d", n, 4*3)
	}
	e.sb.Shutdown()
	if !strings.Contains(e.logs.String(), "replayed=") {
		t.Errorf("no shutdown summary:\n%s", e.logs.String())
	}
}
