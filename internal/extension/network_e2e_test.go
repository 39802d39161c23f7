package extension_test

import (
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestEnvironmentsOwnPorts runs two environments at once, each with the
// extension's receivers on the default 127.0.0.1:4317 and :4318, while a
// listener of the host holds 127.0.0.1:4318: each environment's network is
// its own, and both functions' spans reach the backend on the host through
// its forwarded port.
func TestEnvironmentsOwnPorts(t *testing.T) {
	if err := sandbox.NetworkSupport(); err != nil {
		t.Skipf("no network of its own for an environment here: %v", err)
	}
	// Not parallel: the test holds the host's 4318 for its duration.
	if ln, err := net.Listen("tcp", "127.0.0.1:4318"); err == nil {
		defer ln.Close()
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatal(err)
	}
	envs := []*env{startEnv(t, envOptions{protocol: "http/protobuf"}), startEnv(t, envOptions{protocol: "grpc"})}
	var wg sync.WaitGroup
	for i, e := range envs {
		if !e.sb.OwnNetwork() {
			t.Fatalf("environment %d has the host's network", i)
		}
		if got := e.sb.Reports(); len(got) != 0 {
			t.Fatalf("environment %d: reports before the first invocation: %v", i, got)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3 {
				res := lambdatest.Invoke(t, e.sb, `{"spans":2,"logs":1}`)
				if res.Error != nil {
					t.Errorf("environment %d, invocation %d: %v", i, k, res.Error)
				}
			}
		}()
	}
	wg.Wait()
	for i, e := range envs {
		if got := e.sink.SpanCount(); got != 3*3 {
			t.Errorf("environment %d: %d spans at its backend, want 9", i, got)
		}
		if got := e.sink.LogRecordCount(); got != 3 {
			t.Errorf("environment %d: %d log records at its backend, want 3", i, got)
		}
	}
}

// TestGoSDKDefaultEndpoint runs a function whose OpenTelemetry Go SDK
// keeps its default endpoint, https://localhost:4318: the extension
// serves plain OTLP there, and says so in the function's log with one WARN
// line that names the fix.
func TestGoSDKDefaultEndpoint(t *testing.T) {
	if err := sandbox.NetworkSupport(); err != nil {
		t.Skipf("no network of its own for an environment here (the default port is needed): %v", err)
	}
	t.Parallel()
	e := startEnv(t, envOptions{protocol: "http/protobuf", extEnv: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TIMEOUT": "1000"}})
	lambdatest.Invoke(t, e.sb, `{"spans":1}`)
	e.sb.Shutdown()
	const want = "lambdaotel: WARN a client spoke TLS to 127.0.0.1:4318"
	if n := strings.Count(e.logs.String(), want); n != 1 {
		t.Errorf("%d lines %q in the logs, want 1:\n%s", n, want, e.logs.String())
	}
	if n := e.sink.SpanCount(); n != 0 {
		t.Errorf("%d spans at the backend from an SDK that spoke TLS to a plain port", n)
	}
}

// TestSummaryCountsPlatform runs the extension with the platform's
// telemetry only (no OTLP from the function): the shutdown summary counts
// what the platform receiver made as accepted, so that nothing is exported
// that was not accepted.
func TestSummaryCountsPlatform(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{function: plainFunc, config: platformConfig, extEnv: map[string]string{"LAMBDAOTEL_LOG_LEVEL": "info"}})
	for range 2 {
		if res := e.invoke(t, `{"action":"print","lines":2}`); res.Error != nil {
			t.Fatal(res.Error)
		}
	}
	e.sb.Shutdown()
	m := regexp.MustCompile(`shut down reason=\S+ accepted=(\d+) exported=(\d+)`).FindStringSubmatch(e.logs.String())
	if m == nil {
		t.Fatalf("no shutdown summary in the logs:\n%s", e.logs.String())
	}
	accepted, _ := strconv.Atoi(m[1])
	exported, _ := strconv.Atoi(m[2])
	if exported == 0 || accepted != exported {
		t.Errorf("summary: accepted=%d exported=%d, want them equal and above 0", accepted, exported)
	}
}
