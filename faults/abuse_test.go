package faults

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// abuseRSSBound is the extension's documented peak RSS under hostile input
// (README, "Limits and hostile input"), on a 128 MB function: the Go
// heap's soft limit (the 12.8 MB buffer + 32 MiB), plus the 512
// connections the receivers keep at most (about 30 KB each: goroutine,
// read and write buffers), plus the runtime's own.
const abuseRSSBound = 72 << 20

// abuseRSSMargin is the margin over the bound the test allows, for the
// garbage collector's timing.
const abuseRSSMargin = 16 << 20

// abuseCase is one hostile input thrown at the extension while the
// function runs: run sends it (to the receivers' addresses) and returns how
// many requests or connections it tried and how many were answered as
// they should be.
type abuseCase struct {
	name string
	run  func(t *testing.T, a *abuseTarget) (tried, expected int)
}

// abuseTarget is where the cases send.
type abuseTarget struct {
	httpAddr, grpcAddr string
	hold               chan struct{} // closed when held connections may go
}

// post sends one OTLP/HTTP request and returns its status (0 if none).
func (a *abuseTarget) post(path, ct, ce string, body []byte) int {
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.httpAddr+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// grpcCall sends one gRPC message (a framed body) and returns grpc-status.
func (a *abuseTarget) grpcCall(body []byte) string {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.grpcAddr+"/opentelemetry.proto.collector.trace.v1.TraceService/Export", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "error"
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("Grpc-Status") + resp.Trailer.Get("Grpc-Status")
}

// frame returns msg as a gRPC message.
func frame(msg []byte) []byte {
	n := len(msg)
	return append([]byte{0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
}

// abuseCases are the inputs of issue "hostile input", each sent as an
// attacker would.
var abuseCases = []abuseCase{
	{"protobuf nested 2 million levels (HTTP, 19 MB)", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/x-protobuf", "", hostile.DeepSpan("deep", 2_000_000)) == 400)
	}},
	{"protobuf nested 400,000 levels (gRPC, 3.6 MB)", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.grpcCall(frame(hostile.DeepSpan("deep", 400_000))) == "3")
	}},
	{"JSON nested 200,000 levels of kvlists", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/json", "", hostile.DeepSpanJSON(200_000, true)) == 400)
	}},
	{"a poisoned span 6,000 levels deep, 20 times", func(t *testing.T, a *abuseTarget) (int, int) {
		ok := 0
		for range 20 {
			ok += b2i(a.post("/v1/traces", "application/x-protobuf", "", hostile.DeepSpan("poison", 6000)) == 400)
		}
		return 20, ok
	}},
	{"a span name that is not UTF-8", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/x-protobuf", "", hostile.InvalidUTF8Span()) == 400)
	}},
	{"gzip bomb: 10 million empty spans in 19 KB", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/x-protobuf", "gzip", hostile.Gzip(hostile.EmptySpans(10_000_000))) == 413)
	}},
	{"JSON gzip bomb: 6 million empty spans", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/json", "gzip", hostile.Gzip(hostile.EmptySpansJSON(6_000_000))) == 413)
	}},
	{"a request larger than the whole buffer (15 MB)", func(t *testing.T, a *abuseTarget) (int, int) {
		return 1, b2i(a.post("/v1/traces", "application/x-protobuf", "", bigSpans(15, 1<<20)) == 413)
	}},
	{"60 HTTP requests that promise 20 MB and send nothing", func(t *testing.T, a *abuseTarget) (int, int) {
		for range 60 {
			c, err := net.Dial("tcp", a.httpAddr)
			if err != nil {
				continue
			}
			fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n", 20<<20-1)
			go func() { <-a.hold; c.Close() }()
		}
		return 60, 60
	}},
	{"400 gRPC streams that promise 4 MiB and send 5 bytes", func(t *testing.T, a *abuseTarget) (int, int) {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		for range 400 {
			pr, pw := io.Pipe()
			req, _ := http.NewRequest(http.MethodPost, "http://"+a.grpcAddr+"/opentelemetry.proto.collector.trace.v1.TraceService/Export", pr)
			req.Header.Set("Content-Type", "application/grpc")
			go func() {
				if resp, err := (&http.Client{Transport: tr}).Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			go func() {
				pw.Write([]byte{0, 0, 0x40, 0, 0})
				<-a.hold
				pw.CloseWithError(io.ErrUnexpectedEOF)
				tr.CloseIdleConnections()
			}()
		}
		return 400, 400
	}},
	{"900 idle keep-alive connections", func(t *testing.T, a *abuseTarget) (int, int) {
		for range 900 {
			c, err := net.Dial("tcp", a.httpAddr)
			if err != nil {
				continue
			}
			fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
			go func() { <-a.hold; c.Close() }()
		}
		return 900, 900
	}},
	{"a chunked body that trickles a byte per 50 ms", func(t *testing.T, a *abuseTarget) (int, int) {
		c, err := net.Dial("tcp", a.httpAddr)
		if err != nil {
			return 1, 0
		}
		fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n")
		go func() {
			defer c.Close()
			for {
				select {
				case <-a.hold:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte("1\r\n\x0a\r\n")); err != nil {
					return
				}
			}
		}()
		return 1, 1
	}},
	{"flood: 100 requests of 2,000 spans, 10 at once", func(t *testing.T, a *abuseTarget) (int, int) {
		body := bigSpans(2000, 200)
		var ok atomic.Int64
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Go(func() {
				for range 10 {
					switch a.post("/v1/traces", "application/x-protobuf", "", body) {
					case 200, 429:
						ok.Add(1)
					}
				}
				_ = w
			})
		}
		wg.Wait()
		return 100, int(ok.Load())
	}},
}

// bigSpans returns a protobuf request of n spans with an attribute of size
// bytes each.
func bigSpans(n, size int) []byte {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	pad := strings.Repeat("x", size)
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetName("flood")
		sp.SetTraceID([16]byte{9, byte(i >> 8), byte(i)})
		sp.SetSpanID([8]byte{9, byte(i >> 8), byte(i)})
		sp.Attributes().PutStr("pad", pad)
	}
	b, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	return b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// extensionProcess returns the pid of the extension's process, 0 if none.
func extensionProcess(env *sandbox.Env) int {
	for _, pid := range env.PIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "lambdaotel" {
			return pid
		}
	}
	return 0
}

// procStatus returns a field of /proc/pid/status in bytes (VmRSS, VmHWM).
func procStatus(pid int, field string) int64 {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestAbuse throws every hostile input at the extension running in the
// sandbox (128 MB function) while the function sends a canary span per
// invocation, and checks that every canary reaches the backend, that the
// extension never restarts, that its peak RSS stays under abuseRSSBound
// plus abuseRSSMargin, that no secret of its configuration reaches its
// log, and that refusals are counted as refused, not dropped. Bounded: one
// invocation per case, each case a bounded number of requests.
func TestAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/otelfunc"), filepath.Join(task, "bootstrap"))
	buildtest.Install(t, buildtest.Binary(t, lambdatest.ExtensionCmd), filepath.Join(layer, "extensions", "lambdaotel"))
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	httpPort, grpcPort := lambdatest.FreePort(t), lambdatest.FreePort(t)
	// The backend URL carries a password and a token, which no log line
	// may show.
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
      http: {endpoint: 127.0.0.1:%d}
exporters:
  otlphttp:
    traces_endpoint: http://user:PASSWORD@%s/v1/traces?token=SECRET
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp]}
lambdaotel:
  self_telemetry: false
  spill: {dir: %s}
`, grpcPort, httpPort, s.HTTPAddr(), filepath.Join(dir, "spill"))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lambdatest.LogBuffer{}
	// No freeze: the attacks run while the extension runs, as they would
	// from a function's own code. The host's network: the attacks come
	// from this process.
	env := lambdatest.StartSandbox(t, sandbox.Config{TaskRoot: task, Layers: []string{layer}, Timeout: 30 * time.Second, MemoryMB: 128, NoFreeze: true,
		Network: sandbox.NetworkHost,
		Env: map[string]string{"LAMBDAOTEL_CONFIG": cfgPath, "OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}}, logs)

	var (
		pid, restarts int
		peak          int64
		sampling      = make(chan struct{})
		sampled       sync.WaitGroup
	)
	invoke := func() {
		res := lambdatest.Invoke(t, env, `{"spans":0}`)
		if res.Error != nil {
			t.Errorf("invocation failed: %s", res.Payload)
		}
		if p := extensionProcess(env); pid == 0 {
			pid = p
		} else if p != pid {
			restarts++
			pid = p
		}
	}
	invoke() // init, and the first canary
	sampled.Go(func() {
		for {
			select {
			case <-sampling:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if p := extensionProcess(env); p != 0 {
				peak = max(peak, procStatus(p, "VmRSS"))
			}
		}
	})

	target := &abuseTarget{httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), grpcAddr: fmt.Sprintf("127.0.0.1:%d", grpcPort), hold: make(chan struct{})}
	canaries, inputs := 1, 0
	began := time.Now()
	for _, c := range abuseCases {
		done := make(chan [2]int, 1)
		go func() {
			tried, ok := c.run(t, target)
			done <- [2]int{tried, ok}
		}()
		// A canary during the attack, and one after it.
		invoke()
		r := <-done
		invoke()
		canaries += 2
		inputs += r[0]
		if r[1] != r[0] {
			t.Errorf("%s: %d of %d answered as they should be", c.name, r[1], r[0])
		}
		t.Logf("%-55s %4d inputs, RSS now %5.1f MB", c.name, r[0], float64(procStatus(pid, "VmRSS"))/(1<<20))
	}
	close(target.hold)
	invoke()
	canaries++
	hwm := procStatus(pid, "VmHWM")
	close(sampling)
	sampled.Wait()
	peak = max(peak, hwm)
	env.Shutdown()

	// Every canary arrived, once.
	got := map[string]bool{}
	for _, sp := range s.Spans() {
		if sp.Name == "handler" {
			got[fmt.Sprint(sp.Attributes["fixture.item"])] = true
		}
	}
	if len(got) != canaries {
		t.Errorf("%d of %d canaries reached the backend", len(got), canaries)
	}
	if restarts != 0 {
		t.Errorf("the extension restarted %d times", restarts)
	}
	if peak > abuseRSSBound+abuseRSSMargin {
		t.Errorf("peak RSS %.1f MB, over the bound of %d MB plus %d MB", float64(peak)/(1<<20), abuseRSSBound>>20, abuseRSSMargin>>20)
	}
	out := logs.String()
	if strings.Contains(out, "PASSWORD") || strings.Contains(out, "SECRET") {
		t.Errorf("the log shows a secret of the configuration")
	}
	m := summaryRE.FindStringSubmatch(out)
	switch {
	case m == nil:
		t.Errorf("no shutdown line in the log")
	case m[7] != "0":
		t.Errorf("dropped=%s: nothing was lost, refusals are not drops", m[7])
	case !strings.Contains(out, " refused="):
		t.Errorf("the shutdown line does not count refusals")
	}
	t.Logf("abuse: %d inputs in %d cases, canaries %d/%d, peak RSS %.1f MB (bound %d MB + %d MB), restarts %d, %s",
		inputs, len(abuseCases), len(got), canaries, float64(peak)/(1<<20), abuseRSSBound>>20, abuseRSSMargin>>20, restarts, time.Since(began).Round(time.Second))
	if f := os.Getenv("LAMBDAOTEL_ABUSE_REPORT"); f != "" {
		line := fmt.Sprintf("| %d | %d | %d / %d | %.1f MB | %d MB + %d MB | %d |\n", len(abuseCases), inputs, len(got), canaries,
			float64(peak)/(1<<20), abuseRSSBound>>20, abuseRSSMargin>>20, restarts)
		_ = os.WriteFile(f, []byte(line), 0o644)
	}
}

// TestAbuseConfig checks that configurations made to expand or to be
// large fail the init at once with Extension.ConfigInvalid, instead of
// keeping init busy until Lambda's 10 s limit.
func TestAbuseConfig(t *testing.T) {
	dir := t.TempDir()
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/otelfunc"), filepath.Join(task, "bootstrap"))
	buildtest.Install(t, buildtest.Binary(t, lambdatest.ExtensionCmd), filepath.Join(layer, "extensions", "lambdaotel"))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"merge keys nested 28 deep", hostile.MergeBomb(28), "expand to more than"},
		{"a 10 MB file", []byte("# " + strings.Repeat("x", 10<<20) + "\n"), "larger than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			env := lambdatest.StartSandbox(t, sandbox.Config{TaskRoot: task, Layers: []string{layer},
				Env: map[string]string{"LAMBDAOTEL_CONFIG": path}}, &lambdatest.LogBuffer{})
			res := lambdatest.Invoke(t, env, `{}`)
			if res.Init == nil || res.Init.ErrorType != "Extension.ConfigInvalid" || !strings.Contains(res.Init.ErrorMessage, tc.want) {
				t.Fatalf("init %+v, want Extension.ConfigInvalid with %q", res.Init, tc.want)
			}
			t.Logf("init failed with Extension.ConfigInvalid after %.0f ms", res.Init.DurationMs)
		})
	}
}
