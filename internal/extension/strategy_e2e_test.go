package extension_test

import (
	"strings"
	"testing"
)

// TestFlushStrategies runs each strategy in the sandbox: periodic and
// continuous do not hold the invocation (the extension asks for its next
// event before runtimeDone reaches it), end does, until the function's
// end-of-invocation signal or, without it, runtimeDone: the extension,
// which makes no platform telemetry here, does not wait for runtimeDone
// once the function has signalled; every strategy has delivered everything
// after the shutdown.
func TestFlushStrategies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		strategy string
		env      map[string]string
		waits    bool // the extension waits for runtimeDone
	}{
		{"end", "end", nil, false},
		{"end, no signal", "end", map[string]string{"LAMBDAOTEL_INVOCATION_END": "false"}, true},
		{"periodic", "periodic", nil, false},
		{"continuous", "continuous", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := strings.Replace(defaultConfig, "strategy: end", "strategy: "+c.strategy+"\n    interval: 1ms", 1)
			e := startEnv(t, envOptions{protocol: "http/protobuf", config: cfg, extEnv: c.env})
			const invocations = 4
			for k := range invocations {
				res := e.invoke(t, `{"spans":2}`)
				if res.Error != nil {
					t.Fatal(res.Error)
				}
				if k == 0 {
					continue // the cold start
				}
				waited := res.Report.AfterRuntimeDoneMs > 0
				if waited != c.waits {
					t.Errorf("invocation %d: report %+v; want the extension to wait for runtimeDone: %v", k, *res.Report, c.waits)
				}
				if c.strategy == "periodic" && e.sink.SpanCount() < 3*k {
					t.Errorf("after invocation %d: %d spans at the backend; the periodic flush at each start should have sent the earlier invocations'", k, e.sink.SpanCount())
				}
			}
			e.sb.Shutdown()
			if got := e.sink.SpanCount(); got != invocations*3 {
				t.Errorf("%d spans at the backend after shutdown, want %d", got, invocations*3)
			}
		})
	}
}
