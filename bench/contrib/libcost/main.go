// Command libcost measures what each way of instrumenting a Go function
// costs the function itself: binary size (as go build makes it, and
// stripped), init duration and memory, for the minimal API Gateway
// functions in ../functions: aws-lambda-go alone, the plain OpenTelemetry
// SDK, otellambda, lambdaotel, and lambdaotel with its OTLP/gRPC
// exporters linked. Each function runs cold starts in the local Lambda
// sandbox (no extension; the sink is its OTLP backend), the functions
// taking turns so that a change in the machine's load falls on all alike.
// It prints a markdown table; -out writes it to a file, for
// go run ./bench -section lib-cost=FILE at the repository's root.
//
//	cd bench/contrib && go run ./libcost -starts 20 -out /tmp/lib-cost.md
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// functions are the compared functions, by directory under functions/.
var functions = []struct{ dir, name string }{
	{"awslambdago", "aws-lambda-go alone"},
	{"sdk", "OpenTelemetry SDK by hand (OTLP/HTTP)"},
	{"otellambda", "otellambda v0.70.0 + SDK (OTLP/HTTP)"},
	{"lambdaotel", "lambdaotel.Start"},
	{"lambdaotelgrpc", "lambdaotel.Start + otlpgrpc"},
}

func main() {
	starts := flag.Int("starts", 20, "cold starts of each function")
	out := flag.String("out", "", "also write the markdown table to this file")
	flag.Parse()
	if err := run(*starts, *out); err != nil {
		fmt.Fprintf(os.Stderr, "libcost: %v\n", err)
		os.Exit(1)
	}
}

type result struct {
	size, stripped int64
	init, mem, rss []float64
}

func run(starts int, out string) error {
	work, err := os.MkdirTemp("", "libcost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer s.Close()

	results := make([]result, len(functions))
	bins := make([]string, len(functions))
	for i, f := range functions {
		// As AWS's documentation builds a Go function for provided.al2023.
		bins[i] = filepath.Join(work, f.dir, "bootstrap")
		if err := build(bins[i], "./functions/"+f.dir); err != nil {
			return err
		}
		stripped := filepath.Join(work, f.dir+"-stripped")
		if err := build(stripped, "./functions/"+f.dir, "-ldflags=-s -w"); err != nil {
			return err
		}
		results[i].size, results[i].stripped = fileSize(bins[i]), fileSize(stripped)
	}
	load := loadAverage()
	began := time.Now()
	for range starts {
		for i := range functions {
			init, mem, rss, err := coldStart(filepath.Dir(bins[i]), s.HTTPAddr())
			if err != nil {
				return fmt.Errorf("%s: %w", functions[i].dir, err)
			}
			results[i].init = append(results[i].init, init)
			results[i].mem = append(results[i].mem, mem)
			results[i].rss = append(results[i].rss, rss)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s  \nDate: %s  \n", cpuModel(), runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Command: `cd bench/contrib && go run ./libcost -starts %d`  \n", starts)
	fmt.Fprintf(&b, "Load average (1 min) %.2f at the start, %.2f at the end; %s for %d cold starts of each function, in turns\n\n",
		load, loadAverage(), time.Since(began).Round(time.Second), starts)
	b.WriteString("| function | binary (MB) | stripped (MB) | init duration median / p95 (ms) | Max Memory Used (MB) | runtime peak RSS median (MB) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for i, f := range functions {
		r := results[i]
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.2f / %.2f | %.0f | %.1f |\n", f.name, float64(r.size)/1e6, float64(r.stripped)/1e6,
			percentile(r.init, 50), percentile(r.init, 95), percentile(r.mem, 50), percentile(r.rss, 50)/1e6)
	}
	fmt.Print(b.String())
	if out != "" {
		return os.WriteFile(out, []byte(b.String()), 0o644)
	}
	return nil
}

// coldStart runs the function in task once, cold, and returns the
// platform's init duration (ms), Max Memory Used (MB) and the runtime's
// peak RSS (bytes).
func coldStart(task, sinkAddr string) (float64, float64, float64, error) {
	e, err := sandbox.Start(sandbox.Config{TaskRoot: task, MemoryMB: 512, Timeout: 30 * time.Second, Network: sandbox.NetworkHost,
		Env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + sinkAddr}})
	if err != nil {
		return 0, 0, 0, err
	}
	defer e.Shutdown()
	r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(apiGatewayEvent)})
	if err != nil || r.Error != nil || r.Report == nil {
		return 0, 0, 0, fmt.Errorf("invoke: %v %+v", err, r)
	}
	var rss float64
	for _, pid := range e.PIDs() {
		rss += float64(peakRSS(pid))
	}
	return r.Report.InitDurationMs, float64(r.Report.MaxMemoryUsedMB), rss, nil
}

// apiGatewayEvent is a REST API request.
const apiGatewayEvent = `{"resource":"/pets/{petId}","path":"/pets/7","httpMethod":"GET","headers":{"Host":"api.example.com"},
"pathParameters":{"petId":"7"},"requestContext":{"resourcePath":"/pets/{petId}","httpMethod":"GET","stage":"prod","requestId":"r1"}}`

func build(out, pkg string, flags ...string) error {
	args := append([]string{"build", "-trimpath", "-tags", "lambda.norpc", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// peakRSS is the peak resident size (VmHWM) of a process, in bytes.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(float64(len(s)-1)*p/100)]
}

func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
