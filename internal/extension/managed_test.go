package extension_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestManagedInstances runs the extension on Lambda Managed Instances: it
// registers for SHUTDOWN only (INVOKE would fail its init there), flushes
// in the background, and everything the concurrent invocations reported,
// with a platform span each, is at the backend after the shutdown.
func TestManagedInstances(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{protocol: "http/protobuf", config: platformConfig,
		sandbox: sandbox.Config{FunctionName: "orders", MaxConcurrency: 4}})
	const invocations = 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]bool{}
	)
	for i := range invocations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := e.sb.Invoke(ctx, sandbox.Request{Payload: []byte(fmt.Sprintf(`{"spans":%d}`, 1+i%2))})
			if err != nil || res.Error != nil {
				t.Errorf("invocation %d: %v %v", i, err, res.Error)
				return
			}
			mu.Lock()
			ids[res.RequestID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	e.sb.Shutdown()
	spans := e.sink.Spans()
	platform, handlers := map[string]bool{}, 0
	for _, s := range spans {
		id, _ := s.Attributes["faas.invocation_id"].(string)
		switch s.Name {
		case "orders":
			platform[id] = true
		case "handler":
			handlers++
		}
	}
	if handlers != invocations {
		t.Errorf("%d function root spans at the backend, want %d", handlers, invocations)
	}
	for id := range ids {
		if !platform[id] {
			t.Errorf("no platform span for invocation %s", id)
		}
	}
	if want := invocations + invocations*3/2; len(spans) < want {
		t.Errorf("%d spans at the backend, want at least %d", len(spans), want)
	}
}
