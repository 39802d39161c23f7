package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

func TestMain(m *testing.M) {
	code := m.Run()
	writeScoreboard()
	buildtest.Cleanup()
	os.Exit(code)
}

// backend is the sink behind a proxy that can fail requests in the ways
// real backends do: status codes with Retry-After, delays, connection
// resets, partial successes.
type backend struct {
	sink *sink.Sink
	srv  *http.Server
	url  string
	// behave decides what to do with the n-th request (from 0).
	behave   func(n int64) behaviour
	requests atomic.Int64
	rejected atomic.Int64 // spans refused in partial successes
}

type behaviour struct {
	status     int
	retryAfter int // seconds
	delay      time.Duration
	reset      bool // close the connection mid-request
	partial    bool // accept nothing, answer a partial success rejecting every span
}

func newBackend(t *testing.T, behave func(n int64) behaviour) *backend {
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("http://" + s.HTTPAddr())
	proxy := httputil.NewSingleHostReverseProxy(target)
	b := &backend{sink: s, behave: behave}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.url = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.requests.Add(1) - 1
		var bh behaviour
		if b.behave != nil {
			bh = b.behave(n)
		}
		if bh.delay > 0 {
			// Read the request first, as a backend does: only then does the
			// server notice a client that gives up (and the request, never
			// answered, is not passed on to be stored after all).
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(bh.delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case bh.reset:
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, err := hj.Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					conn.Close()
				}
			}
			return
		case bh.partial:
			var body bytes.Buffer
			_, _ = body.ReadFrom(r.Body)
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(body.Bytes()); err == nil {
				b.rejected.Add(int64(req.Traces().SpanCount()))
				resp := ptraceotlp.NewExportResponse()
				resp.PartialSuccess().SetRejectedSpans(int64(req.Traces().SpanCount()))
				resp.PartialSuccess().SetErrorMessage("rejected on purpose")
				out, _ := resp.MarshalProto()
				w.Header().Set("Content-Type", "application/x-protobuf")
				_, _ = w.Write(out)
				return
			}
		case bh.status != 0:
			if bh.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(bh.retryAfter))
			}
			http.Error(w, "failing on purpose", bh.status)
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go b.srv.Serve(ln)
	t.Cleanup(func() {
		b.srv.Close()
		s.Close()
	})
	return b
}

// items counts the distinct fixture.item values at the sink and the
// duplicates.
func (b *backend) items() (distinct map[string]bool, duplicates int) {
	distinct = map[string]bool{}
	for _, s := range b.sink.Spans() {
		id, _ := s.Attributes["fixture.item"].(string)
		if id == "" {
			continue
		}
		if distinct[id] {
			duplicates++
		}
		distinct[id] = true
	}
	return distinct, duplicates
}

// scenario is one fault-injection run.
type scenario struct {
	name        string
	invocations int
	strategy    string
	budget      string
	behave      func(n int64) behaviour
	spillBytes  string // lambdaotel.spill.max_bytes; "" for the default
	corrupt     bool   // put a corrupt file in the spill directory first
	timeoutAt   int    // invocation (from 1) that sleeps past the timeout
	crashAt     int    // invocation that makes the function exit
	killAt      int    // invocation during whose flush the extension is SIGKILLed
	concurrency int    // Managed Instances
	spans       int    // child spans per invocation (default 3)
	// recoverAt, if set, is the invocation from which the backend is
	// healthy again (the behaviour applies before it).
	recoverAt int
	// allowLoss says which loss is stated and counted, not a failure.
	allowLoss string
}

// result is one scoreboard row.
type result struct {
	name                            string
	reported, delivered, duplicates int
	counted                         int
	maxPost, medianPost             float64
	note                            string
}

var (
	resultsMu sync.Mutex
	results   []result
)

var summaryRE = regexp.MustCompile(`shut down reason=\S+ accepted=(\d+) exported=(\d+) retried=(\d+) spilled=(\d+) replayed=(\d+) rejected=(\d+) dropped=(\d+) abandoned=(\d+)`)

func TestScenarios(t *testing.T) {
	down := func(n int64) behaviour { return behaviour{status: 503} }
	scenarios := []scenario{
		{name: "healthy backend", invocations: 30, strategy: "end"},
		{name: "healthy backend, adaptive", invocations: 30, strategy: "adaptive"},
		{name: "backend down for a stretch, then back", invocations: 20, strategy: "end", budget: "150ms", behave: down, recoverAt: 10},
		{name: "backend slow (2 s per request)", invocations: 8, strategy: "end", budget: "300ms",
			behave: func(int64) behaviour { return behaviour{delay: 2 * time.Second} }, recoverAt: 5},
		{name: "429 and 503 with Retry-After", invocations: 20, strategy: "end", budget: "1500ms",
			behave: func(n int64) behaviour {
				if n%3 == 0 {
					return behaviour{status: 429, retryAfter: 1}
				}
				if n%3 == 1 {
					return behaviour{status: 503}
				}
				return behaviour{}
			}},
		{name: "connection reset mid-request", invocations: 20, strategy: "end",
			behave: func(n int64) behaviour { return behaviour{reset: n%2 == 0} }},
		{name: "partial success", invocations: 10, strategy: "end", allowLoss: "rejected by the backend",
			behave: func(n int64) behaviour { return behaviour{partial: n%4 == 0} }},
		{name: "freeze in the middle of an export", invocations: 15, strategy: "continuous", budget: "400ms",
			behave: func(n int64) behaviour { return behaviour{delay: 150 * time.Millisecond} }},
		{name: "extension SIGKILLed mid-flush, restarted", invocations: 12, strategy: "end", budget: "2s", killAt: 6,
			behave: func(n int64) behaviour { return behaviour{delay: 300 * time.Millisecond} }, allowLoss: "held in memory by the killed process"},
		{name: "function timeouts and crashes", invocations: 12, strategy: "end", timeoutAt: 4, crashAt: 8},
		{name: "spill queue full", invocations: 12, strategy: "end", budget: "100ms", behave: down, recoverAt: 11, spans: 60,
			spillBytes: "16KiB", allowLoss: "oldest dropped from the full queue"},
		{name: "corrupt queue file", invocations: 8, strategy: "end", corrupt: true},
		{name: "Managed Instances, 4 concurrent", invocations: 24, concurrency: 4},
		{name: "shutdown with a dead backend", invocations: 6, strategy: "end", budget: "100ms", behave: down,
			allowLoss: "abandoned at shutdown (the environment and /tmp end)"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			run(t, sc)
		})
	}
}

func run(t *testing.T, sc scenario) {
	behave := sc.behave
	var healthy atomic.Bool
	if sc.recoverAt > 0 {
		orig := behave
		behave = func(n int64) behaviour {
			if healthy.Load() {
				return behaviour{}
			}
			return orig(n)
		}
	}
	be := newBackend(t, behave)
	dir := t.TempDir()
	task, layer, spillDir := filepath.Join(dir, "task"), filepath.Join(dir, "layer"), filepath.Join(dir, "spill")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/otelfunc"), filepath.Join(task, "bootstrap"))
	buildtest.Install(t, buildtest.Binary(t, lambdatest.ExtensionCmd), filepath.Join(layer, "extensions", "lambdaotel"))
	if sc.corrupt {
		if err := os.MkdirAll(spillDir, 0o755); err != nil {
			t.Fatal(err)
		}
		garbage := make([]byte, 4096)
		for i := range garbage {
			garbage[i] = byte(rand.N(256))
		}
		for _, name := range []string{"00000000000000000001.seg", "junk", "00000000000000000002.seg"} {
			_ = os.WriteFile(filepath.Join(spillDir, name), garbage, 0o644)
		}
	}
	httpPort := lambdatest.FreePort(t)
	flush := ""
	if sc.strategy != "" {
		flush += "\n    strategy: " + sc.strategy
	}
	if sc.budget != "" {
		flush += "\n    budget: " + sc.budget
	}
	flush += "\n    interval: 200ms"
	spillCfg := "\n    dir: " + spillDir
	if sc.spillBytes != "" {
		spillCfg += "\n    max_bytes: " + sc.spillBytes
	}
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  otlphttp:
    endpoint: %s
    compression: none
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp]}
lambdaotel:
  self_telemetry: false
  flush:%s
  spill:%s
`, httpPort, be.url, flush, spillCfg)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lambdatest.LogBuffer{}
	env, err := sandbox.Start(sandbox.Config{TaskRoot: task, Layers: []string{layer}, Logs: logs, Timeout: 2 * time.Second,
		MaxConcurrency: sc.concurrency, Forward: []int{lambdatest.PortOf(t, be.url)},
		Env: map[string]string{"LAMBDAOTEL_CONFIG": cfgPath, "OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("environment logs:\n%s", logs.String())
		}
	}()

	var (
		mu       sync.Mutex
		reported int
		posts    []float64
	)
	spans := sc.spans
	if spans == 0 {
		spans = 3
	}
	invoke := func(k int) {
		event := fmt.Sprintf(`{"spans":%d}`, spans)
		switch k {
		case sc.timeoutAt:
			event = fmt.Sprintf(`{"spans":%d,"sleepMs":3000}`, spans)
		case sc.crashAt:
			event = `{"crash":true}`
		}
		if k == sc.killAt {
			go killExtensionSoon(env)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := env.Invoke(ctx, sandbox.Request{Payload: []byte(event)})
		if err != nil {
			t.Errorf("invocation %d: %v", k, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if res.Error == nil {
			reported += 1 + spans // the root span and its children, flushed before the handler returned
			posts = append(posts, res.Report.PostRuntimeMs)
		}
	}
	if sc.concurrency > 1 {
		var wg sync.WaitGroup
		for k := 1; k <= sc.invocations; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				invoke(k)
			}()
		}
		wg.Wait()
	} else {
		for k := 1; k <= sc.invocations; k++ {
			if k == sc.recoverAt {
				healthy.Store(true)
			}
			invoke(k)
			// A random time frozen before the next invocation.
			time.Sleep(time.Duration(rand.N(150)) * time.Millisecond)
		}
	}
	env.Shutdown()

	distinct, dups := be.items()
	counted := 0
	for _, m := range summaryRE.FindAllStringSubmatch(logs.String(), -1) {
		for _, i := range []int{6, 7, 8} { // rejected, dropped, abandoned
			n, _ := strconv.Atoi(m[i])
			counted += n
		}
	}
	sort.Float64s(posts)
	r := result{name: sc.name, reported: reported, delivered: len(distinct), duplicates: dups, counted: counted, note: sc.allowLoss}
	if len(posts) > 0 {
		r.maxPost, r.medianPost = posts[len(posts)-1], posts[len(posts)/2]
	}
	resultsMu.Lock()
	results = append(results, r)
	resultsMu.Unlock()
	t.Logf("%+v", r)

	missing := reported - len(distinct)
	switch {
	case missing <= 0:
	case sc.allowLoss != "" && sc.killAt == 0 && missing <= counted:
		// Lost only by a stated limit, and counted by the extension.
	case sc.killAt > 0 && missing <= 2*(1+spans):
		// What the killed process held in memory: at most the invocation
		// being flushed and the one before it.
	default:
		t.Errorf("%d of %d reported items did not arrive, and the extension counted %d as dropped", missing, reported, counted)
	}
	// Duplicates are bounded by what was in flight when a request was cut.
	if dups > reported/4 {
		t.Errorf("%d duplicates of %d items", dups, reported)
	}
}

// killExtensionSoon SIGKILLs the extension once it is in its flush.
func killExtensionSoon(env *sandbox.Env) {
	time.Sleep(50 * time.Millisecond)
	for _, pid := range env.PIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "lambdaotel" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// writeScoreboard prints the scoreboard and writes it to
// $LAMBDAOTEL_SCOREBOARD when set.
func writeScoreboard() {
	if len(results) == 0 {
		return
	}
	sort.Slice(results, func(i, j int) bool { return results[i].name < results[j].name })
	var b strings.Builder
	b.WriteString("| scenario | reported | delivered | duplicates | dropped and counted | postRuntimeMs max / median | loss allowed by |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f / %.1f | %s |\n", r.name, r.reported, r.delivered, r.duplicates, r.counted, r.maxPost, r.medianPost, r.note)
	}
	fmt.Print("\n" + b.String())
	if path := os.Getenv("LAMBDAOTEL_SCOREBOARD"); path != "" {
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}
