package extension_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// functionSpans counts the spans the function reported, by fixture.item
// (unique per span across invocations).
func functionSpans(s *sink.Sink) map[string]int {
	out := map[string]int{}
	for _, sp := range s.Spans() {
		if item, ok := sp.Attributes["fixture.item"].(string); ok {
			out[item]++
		}
	}
	return out
}

// TestExportDuringInvocation: with the end and adaptive strategies the
// function's data is exported as it arrives, while the invocation still
// runs (the function has flushed and waits for a file the test makes only
// once the spans are at the backend), not after platform.runtimeDone; the
// root span that left early is the child of the platform's invocation
// span, and nothing reaches the backend twice.
func TestExportDuringInvocation(t *testing.T) {
	t.Parallel()
	for _, strategy := range []string{"end", "adaptive"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			cfg := strings.Replace(platformConfig, "strategy: end", "strategy: "+strategy, 1)
			e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
			if res := e.invoke(t, `{"spans":1}`); res.Error != nil { // the cold start
				t.Fatal(res.Error)
			}
			const invocations, children = 3, 5
			ids := []string{}
			for k := range invocations {
				release := filepath.Join(t.TempDir(), fmt.Sprint("release-", k))
				before := len(functionSpans(e.sink))
				type result struct {
					res *sandbox.Result
					err error
				}
				done := make(chan result, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					res, err := e.sb.Invoke(ctx, sandbox.Request{Payload: []byte(fmt.Sprintf(`{"spans":%d,"waitFile":%q}`, children, release))})
					done <- result{res, err}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := e.sink.Wait(ctx, func() bool { return len(functionSpans(e.sink)) >= before+children+1 })
				cancel()
				select {
				case r := <-done:
					t.Fatalf("invocation %d ended before the test let the function return: %+v %v", k, r.res, r.err)
				default:
				}
				if err != nil {
					os.WriteFile(release, nil, 0o644)
					<-done
					t.Fatalf("invocation %d: the function's spans did not reach the backend while it ran: %v (%d of %d there)",
						k, err, len(functionSpans(e.sink))-before, children+1)
				}
				if err := os.WriteFile(release, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				r := <-done
				if r.err != nil || r.res.Error != nil {
					t.Fatalf("invocation %d: %v %v", k, r.err, r.res.Error)
				}
				ids = append(ids, r.res.RequestID)
			}
			e.sb.Shutdown()

			for item, n := range functionSpans(e.sink) {
				if n != 1 {
					t.Errorf("span %s reached the backend %d times", item, n)
				}
			}
			if got, want := len(functionSpans(e.sink)), 2+invocations*(children+1); got != want {
				t.Errorf("%d function spans at the backend, want %d", got, want)
			}
			spans := e.sink.Spans()
			for _, id := range ids {
				var root *sink.Span
				for i, sp := range spans {
					if sp.Name == "handler" && sp.Attributes["faas.invocation_id"] == id {
						root = &spans[i]
					}
				}
				if root == nil {
					t.Fatalf("invocation %s: no root span at the backend", id)
				}
				parent := 0
				for _, sp := range spans {
					if sp.TraceID == root.TraceID && sp.SpanID == root.ParentSpanID && sp.Scope != "otelfunc" {
						parent++
					}
				}
				if parent != 1 {
					t.Errorf("invocation %s: the root span that left early (trace %s, parent %s) has %d platform invocation spans as parent in its trace, want 1", id, root.TraceID, root.ParentSpanID, parent)
					for _, sp := range spans {
						if sp.Scope != "otelfunc" {
							t.Logf("platform span %s %s/%s parent %s %v", sp.Name, sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Attributes["faas.invocation_id"])
						}
					}
				}
			}
		})
	}
}

// TestBurstThenIdle: the default strategy after a burst of invocations
// (busy: the extension does not wait for runtimeDone) holds nothing old
// at a freeze. The function's data leaves as it arrives; the first
// invocation after the environment was frozen for longer than the hold
// bound flushes, before the extension asks for the next event, whatever
// is still held, so that when it ends every span of the burst is at the
// backend, once.
func TestBurstThenIdle(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(defaultConfig, "strategy: end", "strategy: adaptive", 1)
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg})
	const burst, children = 8, 9
	var waited []float64
	for range burst {
		res := e.invoke(t, fmt.Sprintf(`{"spans":%d}`, children))
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		waited = append(waited, res.Report.AfterRuntimeDoneMs)
	}
	// Once three short gaps are known, the extension asks for the next
	// event at once: it no longer waits for runtimeDone.
	for k := 4; k < burst; k++ {
		if waited[k] > 0 {
			t.Errorf("invocation %d of the burst waited for runtimeDone (afterRuntimeDoneMs %v): the burst did not make the strategy busy", k, waited)
			break
		}
	}
	if !e.sb.Frozen() {
		t.Fatal("the environment is not frozen after the burst")
	}
	// Idle, frozen, for longer than the hold bound (500 ms): whatever the
	// freeze caught is older than it at the thaw.
	time.Sleep(time.Second)
	t.Logf("after the burst, frozen: %d of %d spans at the backend", len(functionSpans(e.sink)), burst*(children+1))
	if res := e.invoke(t, `{"spans":0}`); res.Error != nil {
		t.Fatal(res.Error)
	}
	got := functionSpans(e.sink)
	if len(got) < burst*(children+1) {
		t.Errorf("after the first invocation that followed the idle time: %d of the burst's %d spans at the backend, want all", len(got), burst*(children+1))
	}
	e.sb.Shutdown()
	got = functionSpans(e.sink)
	for item, n := range got {
		if n != 1 {
			t.Errorf("span %s reached the backend %d times", item, n)
		}
	}
	if len(got) != burst*(children+1)+1 {
		t.Errorf("%d function spans at the backend after shutdown, want %d", len(got), burst*(children+1)+1)
	}
}
