package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

// requiredVar, when set to 1 (CI sets it), makes a missing gateway
// collector a failure instead of a reason to skip.
const requiredVar = "LAMBDAOTEL_GATEWAY_REQUIRED"

// gatewayBinary returns the collector built by build.sh: the file named by
// LAMBDAOTEL_GATEWAY, else .cache/lambdaotel-gateway next to this test.
// Without it the test is skipped, or fails where LAMBDAOTEL_GATEWAY_REQUIRED=1.
func gatewayBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("LAMBDAOTEL_GATEWAY")
	if bin == "" {
		bin, _ = filepath.Abs(filepath.Join(".cache", "lambdaotel-gateway"))
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("no gateway collector at %s: build it with examples/gateway/build.sh (the collector's builder from the Go module proxy, a few minutes once)", bin)
		if os.Getenv(requiredVar) == "1" {
			tb.Fatalf("%s; %s=1 says it must be there", msg, requiredVar)
		}
		tb.Skip(msg)
	}
	return bin
}

// gatewayReceivers begins every gateway configuration of these tests: the
// health check that startGateway waits for and the OTLP receivers, on the
// ports it picks.
const gatewayReceivers = `
extensions:
  health_check:
    endpoint: 127.0.0.1:%HEALTH_PORT%
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%GRPC_PORT%
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
`

// gatewayService begins the service section of every gateway
// configuration: the health check on, the collector's own metrics off;
// the pipelines follow.
const gatewayService = `service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
`

// gateway is a running collector of the gateway distribution.
type gateway struct {
	cmd      *exec.Cmd
	dir      string
	logs     *lambdatest.LogBuffer
	grpcAddr string // OTLP/gRPC receiver, host:port
	httpAddr string // OTLP/HTTP receiver, host:port
	exited   chan struct{}
}

// startGateway runs the collector with config, in which %GRPC_PORT%,
// %HTTP_PORT% and %HEALTH_PORT% are replaced by free ports, %DIR% by a
// directory of the gateway's own and every key of vars by its value. It
// returns when the collector's health check says it is ready; the
// collector is stopped when the test ends.
func startGateway(tb testing.TB, config string, vars map[string]string) *gateway {
	tb.Helper()
	return startGatewayEnv(tb, config, vars, nil)
}

// startGatewayEnv is startGateway with environment variables for the
// collector (NAME=value, with the same replacements as the config).
func startGatewayEnv(tb testing.TB, config string, vars map[string]string, env []string) *gateway {
	tb.Helper()
	bin := gatewayBinary(tb)
	g := &gateway{dir: tb.TempDir(), logs: &lambdatest.LogBuffer{}, exited: make(chan struct{})}
	grpcPort, httpPort, healthPort := lambdatest.FreePort(tb), lambdatest.FreePort(tb), lambdatest.FreePort(tb)
	g.grpcAddr = "127.0.0.1:" + strconv.Itoa(grpcPort)
	g.httpAddr = "127.0.0.1:" + strconv.Itoa(httpPort)
	pairs := []string{"%GRPC_PORT%", strconv.Itoa(grpcPort), "%HTTP_PORT%", strconv.Itoa(httpPort),
		"%HEALTH_PORT%", strconv.Itoa(healthPort), "%DIR%", g.dir}
	for k, v := range vars {
		pairs = append(pairs, k, v)
	}
	path := filepath.Join(g.dir, "config.yaml")
	repl := strings.NewReplacer(pairs...)
	if err := os.WriteFile(path, []byte(repl.Replace(config)), 0o644); err != nil {
		tb.Fatal(err)
	}
	g.cmd = exec.Command(bin, "--config", path)
	g.cmd.Env = os.Environ()
	for _, kv := range env {
		g.cmd.Env = append(g.cmd.Env, repl.Replace(kv))
	}
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		tb.Fatalf("starting the gateway collector %s: %v", bin, err)
	}
	go func() { g.cmd.Wait(); close(g.exited) }()
	tb.Cleanup(func() {
		g.stop()
		if tb.Failed() {
			tb.Logf("gateway logs (%s):\n%s", path, g.logs.String())
		}
	})
	health := "http://127.0.0.1:" + strconv.Itoa(healthPort) + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-g.exited:
			tb.Fatalf("the gateway collector exited at start (%v); config %s:\n%s", g.cmd.ProcessState, path, g.logs.String())
		default:
		}
		resp, err := http.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the gateway collector is not ready after 60 s (health check %s: %v)", health, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the collector down gracefully (SIGTERM: it flushes its
// pipelines and files), killing it if it takes more than 20 s.
func (g *gateway) stop() {
	select {
	case <-g.exited:
		return
	default:
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(20 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
}

// kill ends the collector at once (SIGKILL), as a crashed or evicted
// gateway ends: what it held in memory is gone.
func (g *gateway) kill() {
	g.cmd.Process.Kill()
	<-g.exited
}

// cpuSeconds is the CPU time (user + system) the collector has used, from
// /proc/PID/stat.
func (g *gateway) cpuSeconds(tb testing.TB) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		tb.Fatalf("reading the gateway's CPU time: %v", err)
	}
	// The command name (field 2) may hold spaces: count from after ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("parsing /proc/%d/stat %q: %v %v", g.cmd.Process.Pid, b, err1, err2)
	}
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// memoryKB returns the collector's resident memory now and at its peak
// (VmRSS and VmHWM of /proc/PID/status), in KiB.
func (g *gateway) memoryKB(tb testing.TB) (rss, peak int) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		tb.Fatalf("reading the gateway's memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			n, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				rss = n
			} else {
				peak = n
			}
		}
	}
	return rss, peak
}

// readJSONLines decodes a file exporter's output: one OTLP JSON document
// per line. A missing file is empty.
func readJSONLines[T any](tb testing.TB, path string, decode func([]byte) (T, error)) []T {
	tb.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		v, err := decode(sc.Bytes())
		if err != nil {
			tb.Fatalf("%s line %d is not OTLP JSON: %v", path, n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	return out
}

func readTraces(tb testing.TB, path string) []ptrace.Traces {
	var u ptrace.JSONUnmarshaler
	return readJSONLines(tb, path, u.UnmarshalTraces)
}

func readMetrics(tb testing.TB, path string) []pmetric.Metrics {
	var u pmetric.JSONUnmarshaler
	return readJSONLines(tb, path, u.UnmarshalMetrics)
}

func readLogs(tb testing.TB, path string) []plog.Logs {
	var u plog.JSONUnmarshaler
	return readJSONLines(tb, path, u.UnmarshalLogs)
}

// balancer is a TCP load balancer in front of a gateway tier, as a cloud
// load balancer or a Kubernetes Service is: each new connection goes to
// the next backend that accepts it (round robin); when a backend dies, its
// connections break and new ones go to the others.
type balancer struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []string
	next     int
}

// startBalancer listens on a free loopback port and forwards to backends.
func startBalancer(tb testing.TB, backends ...string) *balancer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lambdatest.FreePort(tb)))
	if err != nil {
		tb.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(func() { cancel(); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			backends, first := b.backends, b.next
			b.next++
			b.mu.Unlock()
			go b.forward(ctx, c, backends, first)
		}
	}()
	return b
}

func (b *balancer) addr() string { return b.ln.Addr().String() }

// set replaces the backends (a new gateway joins the tier).
func (b *balancer) set(backends ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = backends
}

func (b *balancer) forward(ctx context.Context, c net.Conn, backends []string, first int) {
	defer c.Close()
	var up net.Conn
	for i := range backends {
		d := net.Dialer{Timeout: time.Second}
		var err error
		if up, err = d.DialContext(ctx, "tcp", backends[(first+i)%len(backends)]); err == nil {
			break
		}
	}
	if up == nil {
		return // no backend: the client sees the connection closed
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { copyConn(up, c); done <- struct{}{} }()
	go func() { copyConn(c, up); done <- struct{}{} }()
	<-done // one side ended: end both, as a load balancer does
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
