// Command bench measures the extension against the budgets of the design:
// binary size, start-up time, memory after load, post-runtime time and
// throughput. It runs the real extension in the local Lambda sandbox with
// a function using the OpenTelemetry Go SDK and the sink as the backend,
// and writes bench/results.json and its own section of bench/results.md
// (the other sections of that file, which other benchmarks write, stay as
// they are).
//
//	go run ./bench [-quick] [-out bench]
//
// With -latency it runs only the latency bench (bench/latency.go: flush
// strategies × backend latency × invocation rate, and the upstream
// collector layer beside them when UPSTREAM_COLLECTOR names its binary)
// into the section bench-latency; make bench runs it too.
//
// With -section name=file it only puts the markdown of file into the
// section name of bench/results.md (how make bench-awssdk records its
// figures) and measures nothing. With -startup A=binary,B=binary it only
// compares the start (exec → first event/next) and RSS of extension
// binaries, cold start by cold start in turns (see startup.go).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/layerzip"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// Figure is one measured number.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Budget string  `json:"budget,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Results is what the benchmark writes.
type Results struct {
	Machine string   `json:"machine"`
	Date    string   `json:"date"`
	Figures []Figure `json:"figures"`
}

func main() {
	quick := flag.Bool("quick", false, "fewer repetitions (a smoke run, not for the record)")
	out := flag.String("out", "bench", "directory for results.json and results.md")
	section := flag.String("section", "", "name=file: write file as section name of results.md and measure nothing")
	startupSpec := flag.String("startup", "", "name=binary,...: compare the start of these extension binaries (\".\" builds this tree's; upstream:PATH is the upstream collector layer's) and measure nothing else")
	starts := flag.Int("starts", 20, "cold starts per binary and configuration for -startup")
	startupSection := flag.String("startup-section", "", "with -startup: also write the table as this section of results.md")
	startupRaw := flag.String("startup-raw", "", "with -startup: append each cold start's figures to this file")
	latencyOnly := flag.Bool("latency", false, "only the latency bench (strategies × backend latency × rate, and upstream's with UPSTREAM_COLLECTOR), into its section of results.md")
	flag.Parse()
	if *startupSpec != "" {
		if err := startup(*startupSpec, *starts, *out, *startupSection, *startupRaw); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if *section != "" {
		if err := writeSectionFile(filepath.Join(*out, "results.md"), *section); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if *latencyOnly {
		if err := runLatency(*quick, *out); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*quick, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(quick bool, out string) error {
	work, err := os.MkdirTemp("", "lambdaotel-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	res := &Results{Machine: machine(), Date: time.Now().UTC().Format(time.RFC3339)}
	add := func(f Figure) {
		res.Figures = append(res.Figures, f)
		fmt.Printf("%-58s %12.2f %-6s %s\n", f.Name, f.Value, f.Unit, f.Budget)
	}

	// Binary sizes.
	var ext string
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(work, "lambdaotel-"+arch)
		if err := build(bin, arch, "./cmd/lambdaotel-extension", "-trimpath", "-ldflags=-s -w"); err != nil {
			return err
		}
		fi, _ := os.Stat(bin)
		budget, zipBudget := "", ""
		if arch == "amd64" {
			budget, zipBudget, ext = "≤ 12 MB", "≤ 5 MB", bin
		}
		add(Figure{Name: "extension binary, stripped, " + arch, Value: float64(fi.Size()) / 1e6, Unit: "MB", Budget: budget})
		data, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		var zipped bytes.Buffer
		if err := layerzip.Write(&zipped, []layerzip.File{{Path: layerzip.ExtensionPath, Mode: 0o755, Data: data}}, layerzip.Epoch); err != nil {
			return err
		}
		add(Figure{Name: "layer zip, " + arch, Value: float64(zipped.Len()) / 1e6, Unit: "MB", Budget: zipBudget})
	}
	fn := filepath.Join(work, "otelfunc")
	if err := build(fn, runtime.GOARCH, "./internal/fixtures/otelfunc"); err != nil {
		return err
	}
	plain := filepath.Join(work, "plainfunc")
	if err := build(plain, runtime.GOARCH, "./internal/fixtures/plainfunc"); err != nil {
		return err
	}

	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer s.Close()

	// Start-up: exec → registered, subscribed, first event/next.
	starts := 20
	if quick {
		starts = 5
	}
	var ready []float64
	for range starts {
		e, err := newEnv(work, plain, ext, s)
		if err != nil {
			return err
		}
		r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{}`)})
		if err != nil || r.Init == nil || r.Init.Status != "success" || len(r.Init.Extensions) != 1 {
			e.Shutdown()
			return fmt.Errorf("start-up run: %v %+v", err, r)
		}
		ready = append(ready, r.Init.Extensions[0].ReadyMs)
		e.Shutdown()
	}
	add(Figure{Name: fmt.Sprintf("extension start, median of %d cold starts", starts), Value: percentile(ready, 50), Unit: "ms", Budget: "≤ 5 ms"})
	add(Figure{Name: fmt.Sprintf("extension start, p95 of %d cold starts", starts), Value: percentile(ready, 95), Unit: "ms"})

	// Post-runtime time per span count, and memory after load.
	counts := []int{1, 10, 100, 1000}
	reps := 30
	if quick {
		reps = 5
	}
	for _, n := range counts {
		// Without the function's end-of-invocation signal the extension
		// waits for runtimeDone: its own work is what follows it. With the
		// signal it need not wait for the Telemetry API at all.
		var post, after, signalled []float64
		for _, signal := range []bool{false, true} {
			env := []string{"LAMBDAOTEL_INVOCATION_END=" + strconv.FormatBool(signal)}
			e, err := newEnv(work, fn, ext, s, env...)
			if err != nil {
				return err
			}
			event := []byte(fmt.Sprintf(`{"spans":%d}`, n))
			for i := range reps + 1 {
				r, err := e.Invoke(context.Background(), sandbox.Request{Payload: event})
				if err != nil || r.Error != nil {
					e.Shutdown()
					return fmt.Errorf("post-runtime run (%d spans): %v %v", n, err, r.Error)
				}
				switch {
				case i == 0: // the cold start
				case signal:
					signalled = append(signalled, r.Report.PostRuntimeMs)
				default:
					post = append(post, r.Report.PostRuntimeMs)
					after = append(after, r.Report.AfterRuntimeDoneMs)
				}
			}
			e.Shutdown()
		}
		budget := ""
		if n == 100 {
			budget = "≤ 3 ms"
		}
		add(Figure{Name: fmt.Sprintf("after runtimeDone to event/next, %d spans/invocation, median", n), Value: percentile(after, 50), Unit: "ms", Budget: budget,
			Note: "the extension's own work: wait for in-flight OTLP, export, event/next (function without the end-of-invocation signal)"})
		add(Figure{Name: fmt.Sprintf("postRuntimeMs, %d spans/invocation, median", n), Value: percentile(post, 50), Unit: "ms",
			Note: "without the signal: includes the Telemetry API's buffering delay before runtimeDone arrives (timeoutMs 25)"})
		add(Figure{Name: fmt.Sprintf("postRuntimeMs with the end-of-invocation signal, %d spans/invocation, median", n), Value: percentile(signalled, 50), Unit: "ms",
			Note: "the function signals after its flush (lambdaotel.InvocationFlushed); no platform telemetry, so the extension does not wait for runtimeDone"})
	}

	invocations := 100
	if quick {
		invocations = 10
	}
	e, err := newEnv(work, fn, ext, s)
	if err != nil {
		return err
	}
	before := s.SpanCount()
	start := time.Now()
	for range invocations {
		r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{"spans":99}`)})
		if err != nil || r.Error != nil {
			e.Shutdown()
			return fmt.Errorf("load run: %v %v", err, r.Error)
		}
	}
	elapsed := time.Since(start)
	rss := extensionRSS(e, "lambdaotel")
	e.Shutdown()
	delivered := s.SpanCount() - before
	add(Figure{Name: fmt.Sprintf("extension RSS after %d invocations × 100 spans", invocations), Value: float64(rss) / 1e6, Unit: "MB", Budget: "≤ 20 MB"})
	add(Figure{Name: "spans that reached the backend", Value: 100 * float64(delivered) / float64(invocations*100), Unit: "%", Budget: "100 %"})
	add(Figure{Name: "end-to-end spans per second (function SDK → extension → sink, with freezes)", Value: float64(delivered) / elapsed.Seconds(), Unit: "span/s"})

	// Post-runtime time, delivery before the freeze and what a freeze
	// holds, per flush strategy, backend latency and invocation rate (and
	// the upstream layer's, with UPSTREAM_COLLECTOR): bench/latency.go,
	// in a section of its own.
	latency, err := latencyBench(work, fn, ext, quick)
	if err != nil {
		return err
	}
	if err := writeSection(filepath.Join(out, "results.md"), "bench-latency", latency); err != nil {
		return err
	}

	// Receive-and-export throughput: loaders send OTLP/HTTP as fast as the
	// extension accepts it while the function runs; the extension exports
	// at the end of each invocation.
	rounds := 10
	if quick {
		rounds = 3
	}
	spans, took, err := throughput(work, plain, ext, s, rounds)
	if err != nil {
		return err
	}
	add(Figure{Name: "receive-and-export throughput (2 loaders, OTLP/HTTP, 500-span requests)", Value: float64(spans) / took.Seconds(), Unit: "span/s",
		Note: fmt.Sprintf("%d spans delivered in %s", spans, took.Round(time.Millisecond))})

	// The Go library's cost per invocation, next to otellambda and to
	// aws-lambda-go alone (bench/contrib's benchmarks).
	if err := libraryOverhead(quick, add); err != nil {
		return err
	}
	// What the Node.js layer adds (bench/nodejs, with the real runtime
	// interface client; layers/nodejs/test/setup-runtime.sh installs it).
	if !quick {
		nodeOverhead(work, add)
	}

	if err := write(out, res); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s and %s\n", filepath.Join(out, "results.json"), filepath.Join(out, "results.md"))
	return nil
}

// runLatency runs the latency bench alone and writes its section.
func runLatency(quick bool, out string) error {
	work, err := os.MkdirTemp("", "lambdaotel-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ext, fn := filepath.Join(work, "lambdaotel"), filepath.Join(work, "otelfunc")
	if err := build(ext, runtime.GOARCH, "./cmd/lambdaotel-extension", "-trimpath", "-ldflags=-s -w"); err != nil {
		return err
	}
	if err := build(fn, runtime.GOARCH, "./internal/fixtures/otelfunc"); err != nil {
		return err
	}
	md, err := latencyBench(work, fn, ext, quick)
	if err != nil {
		return err
	}
	fmt.Print(md)
	return writeSection(filepath.Join(out, "results.md"), "bench-latency", md)
}

// benchLine is a line of go test -bench output.
var benchLine = regexp.MustCompile(`^Benchmark(\w+)/lib=([\w-]+)-\d+\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// libraryOverhead runs the Go library's benchmarks and adds the median
// time and allocations per invocation of each library and event.
func libraryOverhead(quick bool, add func(Figure)) error {
	count := "5"
	if quick {
		count = "1"
	}
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^Benchmark(APIGateway|SQSBatch10)$", "-benchmem", "-count", count, ".")
	// A module of its own, so that otellambda (deprecated) stays out of
	// the library's go.mod.
	cmd.Dir = filepath.Join("bench", "contrib")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go library benchmarks: %v\n%s", err, b)
	}
	type key struct{ bench, lib string }
	ns, allocs := map[key][]float64{}, map[key][]float64{}
	var order []key
	for _, line := range strings.Split(string(b), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		k := key{m[1], m[2]}
		if ns[k] == nil {
			order = append(order, k)
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		a, _ := strconv.ParseFloat(m[5], 64)
		ns[k] = append(ns[k], v)
		allocs[k] = append(allocs[k], a)
	}
	for _, k := range order {
		add(Figure{Name: fmt.Sprintf("Go library, %s invocation, %s", k.bench, k.lib), Value: percentile(ns[k], 50) / 1e3, Unit: "µs",
			Note: fmt.Sprintf("%.0f allocs/op; median of %s runs; aws-lambda-go alone records nothing, otellambda one span", percentile(allocs[k], 50), count)})
	}
	return nil
}

// nodeOverhead runs bench/nodejs and adds its figures, or a row saying
// why they could not be measured.
func nodeOverhead(work string, add func(Figure)) {
	out := filepath.Join(work, "nodejs.json")
	cmd := exec.Command("go", "run", "./bench/nodejs", "-cold", "9", "-warm", "30", "-json", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		add(Figure{Name: "Node.js layer overhead", Note: fmt.Sprintf("not measured: %v: %s", err, lastLine(b))})
		return
	}
	data, err := os.ReadFile(out)
	if err != nil {
		add(Figure{Name: "Node.js layer overhead", Note: "not measured: " + err.Error()})
		return
	}
	var r struct {
		Figures []struct {
			Runtime string  `json:"runtime"`
			Handler string  `json:"handler"`
			Name    string  `json:"name"`
			Without float64 `json:"withoutMs"`
			With    float64 `json:"withMs"`
			Added   float64 `json:"addedMs"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		add(Figure{Name: "Node.js layer overhead", Note: "not measured: " + err.Error()})
		return
	}
	for _, f := range r.Figures {
		add(Figure{Name: fmt.Sprintf("Node.js layer adds, %s, %s handler, %s", f.Runtime, f.Handler, f.Name), Value: f.Added, Unit: "ms",
			Note: fmt.Sprintf("%.1f ms without the layer, %.1f ms with it (medians)", f.Without, f.With)})
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// throughput runs rounds invocations of 200 ms while two loaders send
// 500-span OTLP/HTTP requests to the extension, and returns how many of
// their spans reached the sink and how long it took.
func throughput(work, plain, ext string, s *sink.Sink, rounds int) (int, time.Duration, error) {
	port := freePort()
	e, err := newEnvPorts(work, plain, ext, s, port)
	if err != nil {
		return 0, 0, err
	}
	defer e.Shutdown()
	if _, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{}`)}); err != nil {
		return 0, 0, err
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "loader")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := range 500 {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("load")
		sp.SetTraceID([16]byte{1, byte(i)})
		sp.SetSpanID([8]byte{2, byte(i)})
		sp.Attributes().PutInt("i", int64(i))
	}
	body, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port)
	before := s.SpanCount()
	start := time.Now()
	for range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		for range 2 {
			go func() {
				defer func() { done <- struct{}{} }()
				for ctx.Err() == nil {
					resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
					if err != nil {
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						time.Sleep(5 * time.Millisecond)
					}
				}
			}()
		}
		go func() {
			time.Sleep(150 * time.Millisecond)
			cancel()
		}()
		r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{"action":"sleep","sleepMs":200}`)})
		cancel()
		<-done
		<-done
		if err != nil || r.Error != nil {
			return 0, 0, fmt.Errorf("throughput run: %v %v", err, r.Error)
		}
	}
	// What the last round left is exported at the next event.
	e.Shutdown()
	return s.SpanCount() - before, time.Since(start), nil
}

// newEnv starts a sandbox with the function fn and the extension ext,
// exporting to s.
// The strategy is end unless env says otherwise: these figures are the cost
// of flushing before every freeze.
func newEnv(work, fn, ext string, s *sink.Sink, env ...string) (*sandbox.Env, error) {
	return newEnvPorts(work, fn, ext, s, freePort(), env...)
}

// newEnvPorts is newEnv with the extension's OTLP/HTTP port.
func newEnvPorts(work, fn, ext string, s *sink.Sink, httpPort int, env ...string) (*sandbox.Env, error) {
	return newEnvNetwork(work, fn, ext, s, httpPort, sandbox.NetworkHost, env...)
}

// newEnvNetwork is newEnvPorts in the network given: with a network of
// its own (sandbox.NetworkOwn), the sink's port is relayed in.
func newEnvNetwork(work, fn, ext string, s *sink.Sink, httpPort int, network string, env ...string) (*sandbox.Env, error) {
	dir, err := os.MkdirTemp(work, "env-")
	if err != nil {
		return nil, err
	}
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	if err := buildtest.InstallFile(fn, filepath.Join(task, "bootstrap")); err != nil {
		return nil, err
	}
	if err := buildtest.InstallFile(ext, filepath.Join(layer, "extensions", "lambdaotel")); err != nil {
		return nil, err
	}
	grpcPort := freePort()
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
exporters:
  otlphttp:
    endpoint: http://%s
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp]}
    metrics: {receivers: [otlp], exporters: [otlphttp]}
    logs: {receivers: [otlp], exporters: [otlphttp]}
`, grpcPort, httpPort, s.HTTPAddr())
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	vars := map[string]string{
		"LAMBDAOTEL_CONFIG":           cfgPath,
		"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		"LAMBDAOTEL_FLUSH_STRATEGY":   "end",
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	// In the host's network the sink is reached directly, without the
	// relay of a forwarded port in the figures.
	return sandbox.Start(sandbox.Config{TaskRoot: task, Layers: []string{layer}, Env: vars, MemoryMB: 512, Timeout: 30 * time.Second,
		Network: network, Forward: forwarded(network, s)})
}

// forwarded lists the sink's port when the network is the environment's
// own.
func forwarded(network string, s *sink.Sink) []int {
	if network != sandbox.NetworkOwn {
		return nil
	}
	_, port, _ := strings.Cut(s.HTTPAddr(), ":")
	n, _ := strconv.Atoi(port)
	return []int{n}
}

// extensionRSS is the resident memory of the extension's process, whose
// executable is named name.
func extensionRSS(e *sandbox.Env, name string) int64 {
	for _, pid := range e.PIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) != name {
			continue
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func build(out, arch, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %v\n%s", pkg, arch, err, b)
	}
	return nil
}

func freePort() int {
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	_, port, _ := strings.Cut(s.HTTPAddr(), ":")
	n, _ := strconv.Atoi(port)
	return n
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// machine describes the machine the figures come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cores, %s/%s, Linux %s, %s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.TrimSpace(string(kernel)), runtime.Version())
}

func write(dir string, res *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s  \nDate: %s  \nCommand: `make bench`\n\n", res.Machine, res.Date)
	b.WriteString("| figure | value | budget | note |\n| --- | ---: | --- | --- |\n")
	for _, f := range res.Figures {
		fmt.Fprintf(&b, "| %s | %.2f %s | %s | %s |\n", f.Name, f.Value, f.Unit, f.Budget, f.Note)
	}
	return writeSection(filepath.Join(dir, "results.md"), "make-bench", b.String())
}

// resultsHeader starts a new results.md: the title and how the file is
// made.
const resultsHeader = `# Benchmark results

Each benchmark rewrites only its own section of this file, between the
comment lines ` + "`<!-- begin NAME -->` and `<!-- end NAME -->`" + `, and keeps
everything else: ` + "`make bench`" + ` (bench/main.go) the section make-bench,
` + "`make bench-awssdk`" + ` (bench/awssdk.sh) the section bench-awssdk. Sections
without markers are written by hand and no command changes them.
`

// writeSection replaces the section name of the markdown file path with
// body, keeping the rest of the file; a file without that section gets it
// at the end, a missing file is made with resultsHeader.
func writeSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	doc, err := spliceSection(string(old), name, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// spliceSection returns doc with the section name (its markers and what
// lies between them) replaced by body, or appended if doc has none.
func spliceSection(doc, name, body string) (string, error) {
	begin, end := "<!-- begin "+name+" -->\n", "<!-- end "+name+" -->\n"
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	section := begin + body + end
	i := strings.Index(doc, begin)
	if i < 0 {
		if strings.Contains(doc, end) {
			return "", fmt.Errorf("section %s has an end marker and no begin marker", name)
		}
		if doc == "" {
			doc = resultsHeader
		}
		if !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + section, nil
	}
	j := strings.Index(doc[i:], end)
	if j < 0 {
		return "", fmt.Errorf("section %s has a begin marker and no end marker", name)
	}
	return doc[:i] + section + doc[i+j+len(end):], nil
}

// writeSectionFile writes the file of spec (name=file) as the section name
// of the markdown file path.
func writeSectionFile(path, spec string) error {
	name, file, ok := strings.Cut(spec, "=")
	if !ok || name == "" || file == "" || strings.ContainsAny(name, " >") {
		return fmt.Errorf("-section %q: want name=file, the name without spaces", spec)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("-section %q: %w", spec, err)
	}
	return writeSection(path, name, string(body))
}
