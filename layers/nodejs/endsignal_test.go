package nodejs_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// The extension's debug line for an end-of-invocation signal, without
// platform telemetry: it flushes on the signal.
const endSignalledLine = "DEBUG the function signalled the end of an invocation requestId="

// signalled reports whether logs hold the extension's line want for the
// end of invocation requestID.
func signalled(logs, want, requestID string) bool {
	return slices.ContainsFunc(strings.Split(logs, "\n"), func(l string) bool {
		return strings.Contains(l, want) && strings.Contains(l, "requestId="+requestID)
	})
}

// TestInvocationEndSignal checks the end-of-invocation signal between the
// layer and the extension on both runtimes: after each invocation's flush
// the layer tells the extension that the function's telemetry is
// complete, and the extension, which makes no platform telemetry here,
// flushes on it without waiting for the Telemetry API's
// platform.runtimeDone; with platform telemetry it still waits for
// runtimeDone, and with LAMBDAOTEL_INVOCATION_END=false nothing is
// signalled. Every invocation's spans (its own and its HTTP call's) are at
// the sink when it ends, for ES module, CommonJS and callback handlers.
func TestInvocationEndSignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		fixture, handler string
		callback         bool // nodejs24.x rejects callback handlers
		config           string
		env              map[string]string
		want             string // the extension's line per invocation; "": none
	}{
		{"otlp mjs", "mjs", "index.handler", false, otlpOnlyConfig, nil, endSignalledLine},
		{"otlp commonjs", "commonjs", "index.handler", false, otlpOnlyConfig, nil, endSignalledLine},
		{"otlp commonjs callback", "commonjs-callback", "index.handler", true, otlpOnlyConfig, nil, endSignalledLine},
		{"telemetryapi", "mjs", "index.handler", false, platformConfig, nil,
			"DEBUG the function signalled the end of an invocation; waiting for platform.runtimeDone"},
		{"off", "mjs", "index.handler", false, otlpOnlyConfig, map[string]string{"LAMBDAOTEL_INVOCATION_END": "false"}, ""},
	}
	forMajors(t, func(t *testing.T, major int) {
		for _, tt := range tests {
			if tt.callback && major >= 24 {
				continue
			}
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				env := map[string]string{"LAMBDAOTEL_LOG_LEVEL": "debug"}
				maps.Copy(env, tt.env)
				e := startEnv(t, envOptions{major: major, fixture: tt.fixture, handler: tt.handler, config: tt.config, env: env})
				for k := range 3 {
					res := e.invoke(t, `{"action":"http"}`)
					if res.Error != nil {
						t.Fatalf("invocation %d: %v", k, res.Error)
					}
					spans := e.sink.Spans()
					invs := invocationSpans(spans, res.RequestID)
					if len(invs) != 1 {
						t.Fatalf("invocation %d: %d invocation spans at the sink when it ended, want 1 (%d spans)", k, len(invs), len(spans))
					}
					checkClientSpan(t, e, spans, invs[0], res.RequestID, "@opentelemetry/instrumentation-http")
					logs := e.logs.String()
					switch {
					case tt.want != "" && !signalled(logs, tt.want, res.RequestID):
						t.Errorf("invocation %d: no line %q ... requestId=%s in the environment's log:\n%s", k, tt.want, res.RequestID, logs)
					case tt.want == "" && strings.Contains(logs, "the function signalled the end of an invocation"):
						t.Errorf("invocation %d: signalled although LAMBDAOTEL_INVOCATION_END=false:\n%s", k, logs)
					}
				}
				if logs := e.logs.String(); strings.Contains(logs, "lambdaotel-nodejs: ") {
					t.Errorf("the layer logged:\n%s", logs)
				}
				// Nothing of the signal reached the backend as a span.
				for _, s := range e.sink.Spans() {
					if u, _ := s.Attributes["url.full"].(string); strings.Contains(u, "/lambdaotel/v1/invocations/") {
						t.Errorf("the end-of-invocation signal was traced: span %q %v", s.Name, s.Attributes)
					}
				}
			})
		}
	})
}
