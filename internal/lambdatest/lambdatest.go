// Package lambdatest is what end-to-end tests share to run a function with
// the lambdaotel extension in the local sandbox, with the sink as the
// backend: the extension's layer and configuration, the sink, the sandbox
// and a log buffer that shows the environment's output when a test fails.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// ExtensionCmd is the import path of the extension's main package.
const ExtensionCmd = "github.com/lambdaotel/lambdaotel/cmd/lambdaotel-extension"

// LogBuffer collects an environment's log lines; it is safe for
// concurrent use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreePort returns a loopback port that is free now, for a program the
// test starts to listen on. It is chosen at random below the kernel's
// ephemeral range, so that no listener on port 0 and no outgoing
// connection (in this or a parallel test process) can take it meanwhile;
// and never twice in one test process, so that two programs started by
// one test cannot be given the same port before either listens.
func FreePort(tb testing.TB) int {
	tb.Helper()
	low := ephemeralLow()
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		if given[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			given[port] = true
			return port
		}
	}
	tb.Fatal("lambdatest: no free port found below the ephemeral range")
	return 0
}

// given holds the ports FreePort handed out in this process.
var (
	givenMu sync.Mutex
	given   = map[int]bool{}
)

// ephemeralLow is the lowest port the kernel hands out for port 0.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				return n
			}
		}
	}
	return 32768
}

// StartSink starts a sink on free loopback ports, closed when the test
// ends. Environments the test starts with StartSandbox reach it at the
// same addresses.
func StartSink(tb testing.TB, respond func(sink.Request) sink.Fault) *sink.Sink {
	tb.Helper()
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Respond: respond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	Forward(tb, s.HTTPAddr())
	Forward(tb, s.GRPCAddr())
	return s
}

var (
	forwardsMu sync.Mutex
	forwards   = map[testing.TB][]int{}
)

// Forward makes a server of the test on the host's loopback (addr is
// host:port or a URL) reachable at the same address from the environments
// the test starts with StartSandbox, when they have a network of their own.
func Forward(tb testing.TB, addr string) {
	tb.Helper()
	port := PortOf(tb, addr)
	forwardsMu.Lock()
	defer forwardsMu.Unlock()
	if len(forwards[tb]) == 0 {
		tb.Cleanup(func() {
			forwardsMu.Lock()
			delete(forwards, tb)
			forwardsMu.Unlock()
		})
	}
	forwards[tb] = append(forwards[tb], port)
}

// PortOf returns the port of addr, a host:port or a URL.
func PortOf(tb testing.TB, addr string) int {
	tb.Helper()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	_, p, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		tb.Fatalf("lambdatest: no port in %q", addr)
	}
	return port
}

// Extension is the extension's layer and configuration for one environment.
type Extension struct {
	// Layer is a layer directory holding extensions/lambdaotel.
	Layer string
	// Config is the configuration file.
	Config string
	// GRPCPort and HTTPPort are the ports its OTLP receivers use.
	GRPCPort, HTTPPort int
}

// NewExtension makes the extension's layer (built from this tree) and
// configuration file under dir. In config, %SINK_HTTP% and %SINK_GRPC% are
// replaced by the sink's addresses, %GRPC_PORT% and %HTTP_PORT% by the
// receivers' ports (the default 4317 and 4318 where environments have a
// network of their own, free ports of the host's otherwise), and
// %SPILL_DIR% by a directory of the test's own.
func NewExtension(tb testing.TB, dir, config string, s *sink.Sink) *Extension {
	tb.Helper()
	x := &Extension{Layer: filepath.Join(dir, "extension-layer"), Config: filepath.Join(dir, "config.yaml"),
		GRPCPort: 4317, HTTPPort: 4318}
	if sandbox.NetworkSupport() != nil {
		// Environments share the host's network: ports of their own.
		x.GRPCPort, x.HTTPPort = FreePort(tb), FreePort(tb)
	}
	buildtest.Install(tb, buildtest.Binary(tb, ExtensionCmd), filepath.Join(x.Layer, "extensions", "lambdaotel"))
	text := strings.NewReplacer("%SINK_HTTP%", s.HTTPAddr(), "%SINK_GRPC%", s.GRPCAddr(),
		"%GRPC_PORT%", strconv.Itoa(x.GRPCPort), "%HTTP_PORT%", strconv.Itoa(x.HTTPPort),
		"%SPILL_DIR%", filepath.Join(dir, "spill")).Replace(config)
	if err := os.WriteFile(x.Config, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return x
}

// Env returns the variables that point the extension at its configuration
// and the function's OpenTelemetry SDK at the extension, over protocol
// ("grpc", or OTLP/HTTP protobuf when empty).
func (x *Extension) Env(protocol string) map[string]string {
	env := map[string]string{
		"LAMBDAOTEL_CONFIG":           x.Config,
		"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", x.HTTPPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
	}
	if protocol == "grpc" {
		env["OTEL_EXPORTER_OTLP_ENDPOINT"] = fmt.Sprintf("http://127.0.0.1:%d", x.GRPCPort)
		env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
		env["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
	}
	return env
}

// StartSandbox starts the environment cfg describes, with its logs in
// logs and the test's servers (StartSink, Forward) forwarded into it; it
// is shut down when the test ends, and its logs are shown if the test
// failed.
func StartSandbox(tb testing.TB, cfg sandbox.Config, logs *LogBuffer) *sandbox.Env {
	tb.Helper()
	cfg.Logs = logs
	forwardsMu.Lock()
	for _, p := range forwards[tb] {
		if !slices.Contains(cfg.Forward, p) {
			cfg.Forward = append(cfg.Forward, p)
		}
	}
	forwardsMu.Unlock()
	env, err := sandbox.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		env.Shutdown()
		if tb.Failed() {
			tb.Logf("environment logs:\n%s", logs.String())
		}
	})
	return env
}

// Invoke invokes env with event, failing the test if the environment
// cannot run it; a failed invocation is a result, not a test failure.
func Invoke(tb testing.TB, env *sandbox.Env, event string) *sandbox.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := env.Invoke(ctx, sandbox.Request{Payload: []byte(event)})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// OTLPConfig is an extension configuration for NewExtension: OTLP
// receivers on the test's ports, exported as they are to the sink over
// OTLP/HTTP, flushed at the end of every invocation (the default, adaptive,
// flushes periodically when invocations come as fast as tests make them),
// spilling to a directory of the test's own.
const OTLPConfig = `
lambdaotel:
  flush:
    strategy: end
  spill:
    dir: %SPILL_DIR%
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%GRPC_PORT%
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
exporters:
  otlphttp:
    endpoint: http://%SINK_HTTP%
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
    metrics:
      receivers: [otlp]
      exporters: [otlphttp]
    logs:
      receivers: [otlp]
      exporters: [otlphttp]
`

// WithTelemetryAPI adds the telemetryapi receiver to every pipeline of a
// configuration written like OTLPConfig: the extension then also makes the
// platform's telemetry, and joins the function's spans to it.
func WithTelemetryAPI(config string) string {
	return strings.Replace(strings.ReplaceAll(config, "receivers: [otlp]", "receivers: [otlp, telemetryapi]"),
		"receivers:\n  otlp:", "receivers:\n  telemetryapi:\n  otlp:", 1)
}
