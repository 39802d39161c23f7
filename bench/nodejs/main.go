// Command nodejs measures what the lambdaotel Node.js layer adds to a
// function in the local Lambda sandbox: init duration (cold start) and
// invocation duration, with and without the layer, on each runtime the
// layer supports (nodejs22.x and nodejs24.x), for a CommonJS handler and an
// ES module handler that call a loopback HTTP server with http.get, and an
// ES module handler that calls it with fetch (whose first invocation loads
// undici's internals), and a CommonJS esbuild bundle of about 1.5 MB (the
// AWS SDK's DynamoDB client, bundled with the layer's esbuild plugin, from
// layers/nodejs/testdata/bundle-src). Both runs have the lambdaotel extension, so the
// figures are the layer's alone. Each invocation makes one call (one child
// span). It runs the real runtime interface clients (installed by
// layers/nodejs/test/setup-runtime.sh) and prints a Markdown table of
// medians, and JSON with -json.
//
// An invocation's figure is the runtime's time from the start of the
// invocation to its response (the report's runtimeMs): what the function's
// caller waits for, with the layer's flush to the extension in it. For warm
// invocations the extension's time after the response (postRuntimeMs, in
// the REPORT line's Duration) and the sum of the two (what the invocation
// is billed for) are figures too: the layer's end-of-invocation signal lets
// the extension, which makes no platform telemetry here, flush and ask for
// the next event without waiting for the Telemetry API's
// platform.runtimeDone.
//
// With -compare DIR, a third variant runs another build of the layer (for
// example the previous release, built with its build.sh) in the same
// alternation, so that the two layers are compared under the same load.
//
//	go run ./bench/nodejs [-cold 15] [-warm 20] [-json FILE] [-compare DIR] [-handlers "esm fetch,..."]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/layers/nodejs/nodetest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// Figure is one measured median.
type Figure struct {
	Runtime string  `json:"runtime"` // "nodejs22.x" or "nodejs24.x"
	Node    string  `json:"node"`    // its Node.js version
	Handler string  `json:"handler"` // "commonjs http", "esm http" or "esm fetch"
	Name    string  `json:"name"`
	Without float64 `json:"withoutMs"`
	With    float64 `json:"withMs"`
	Added   float64 `json:"addedMs"`
	Samples int     `json:"samples"`
	// Compare is the median with the -compare layer, when there is one.
	Compare float64 `json:"compareMs,omitempty"`
}

// Results is what -json writes.
type Results struct {
	Machine string   `json:"machine"`
	Date    string   `json:"date"`
	Cold    int      `json:"coldStarts"`
	Warm    int      `json:"warmInvocations"`
	Figures []Figure `json:"figures"`
}

func main() {
	cold := flag.Int("cold", 15, "cold starts per variant (the init figures are their medians)")
	warm := flag.Int("warm", 20, "warm invocations after each cold start")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	compare := flag.String("compare", "", "a built layer `DIR` to measure too, side by side (e.g. the previous release)")
	only := flag.String("handlers", "", "measure only these handlers, a comma-separated `list` such as \"esm fetch,esm http\" (default: all)")
	flag.Parse()
	if err := run(*cold, *warm, *jsonOut, *compare, *only); err != nil {
		fmt.Fprintf(os.Stderr, "bench/nodejs: %v\n", err)
		os.Exit(1)
	}
}

// samples are the durations of one variant.
type samples struct {
	init, first, warm []float64
	// warmPost and warmTotal are the warm invocations' postRuntimeMs and
	// runtimeMs + postRuntimeMs.
	warmPost, warmTotal []float64
}

func run(cold, warm int, jsonOut, compare, only string) error {
	if cold < 1 || warm < 1 {
		return fmt.Errorf("-cold and -warm must be at least 1")
	}
	wanted := map[string]bool{}
	for _, h := range strings.Split(only, ",") {
		if h = strings.TrimSpace(h); h != "" {
			wanted[h] = true
		}
	}
	var rts []nodetest.Runtime
	for _, major := range nodetest.Majors {
		rt, err := nodetest.LoadRuntime(major)
		if err != nil {
			return err
		}
		rts = append(rts, rt)
	}
	work, err := os.MkdirTemp("", "lambdaotel-bench-nodejs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	layer := filepath.Join(work, "node-layer")
	if err := nodetest.BuildLayer(layer); err != nil {
		return err
	}
	if compare != "" {
		if compare, err = filepath.Abs(compare); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(compare, "otel-handler")); err != nil {
			return fmt.Errorf("-compare %s: not a built layer (no otel-handler): %v", compare, err)
		}
	}
	extLayer := filepath.Join(work, "extension-layer")
	ext := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(extLayer, "extensions", "lambdaotel"), "./cmd/lambdaotel-extension")
	ext.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := ext.CombinedOutput(); err != nil {
		return fmt.Errorf("build the extension (run from the repository's root): %v\n%s", err, out)
	}
	snk, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer snk.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer target.Close()

	res := Results{Machine: machine(), Date: time.Now().UTC().Format(time.RFC3339), Cold: cold, Warm: warm}
	fixtures := filepath.Join(nodetest.Dir(), "testdata", "functions")
	bundled := filepath.Join(work, "bundle")
	if err := bundle(rts[0], filepath.Join(nodetest.Dir(), "testdata", "bundle-src", "index.js"), filepath.Join(bundled, "index.js"),
		filepath.Join(layer, "lambdaotel-nodejs", "esbuild-plugin.cjs")); err != nil {
		return err
	}
	handlers := []struct{ kind, fixture, action string }{
		{"commonjs http", filepath.Join(fixtures, "commonjs"), "http"},
		{"esm http", filepath.Join(fixtures, "mjs"), "http"},
		{"esm fetch", filepath.Join(fixtures, "mjs"), "fetch"},
		{"1.5 MB bundle http", bundled, "http"},
	}
	if len(wanted) > 0 {
		kept := handlers[:0]
		for _, h := range handlers {
			if wanted[h.kind] {
				kept = append(kept, h)
				delete(wanted, h.kind)
			}
		}
		if len(wanted) > 0 {
			var unknown []string
			for k := range wanted {
				unknown = append(unknown, strconv.Quote(k))
			}
			sort.Strings(unknown)
			return fmt.Errorf("-handlers: unknown handler %s; the handlers are \"commonjs http\", \"esm http\", \"esm fetch\" and \"1.5 MB bundle http\"", strings.Join(unknown, ", "))
		}
		handlers = kept
	}
	compareFailures := 0
	for _, rt := range rts {
		for _, h := range handlers {
			var without, with, other samples
			variants := []struct {
				layer string
				s     *samples
			}{{"", &without}, {layer, &with}}
			if compare != "" {
				variants = append(variants, struct {
					layer string
					s     *samples
				}{compare, &other})
			}
			// Alternate the variants so that a change in the machine's load
			// touches all alike.
			for i := range cold {
				for _, v := range variants {
					err := coldStart(rt, work, h.fixture, h.action, v.layer, extLayer, snk, target.URL, v.layer != "", warm, v.s)
					for retry := 0; err != nil && strings.Contains(err.Error(), "already in use") && retry < 3; retry++ {
						// A port freePorts found was taken before the extension
						// listened on it: not the layer's doing, try other ports.
						err = coldStart(rt, work, h.fixture, h.action, v.layer, extLayer, snk, target.URL, v.layer != "", warm, v.s)
					}
					if err != nil {
						if v.layer != compare {
							return fmt.Errorf("%s, %s handler, cold start %d (layer %q): %w", rt.Name(), h.kind, i, v.layer, err)
						}
						// The other layer's failures are counted, not fatal.
						compareFailures++
						fmt.Fprintf(os.Stderr, "\n%s, %s handler, cold start %d with the -compare layer failed: %v\n", rt.Name(), h.kind, i, err)
					}
				}
				fmt.Fprintf(os.Stderr, "\r%s %s: %d/%d cold starts", rt.Name(), h.kind, i+1, cold)
			}
			fmt.Fprintln(os.Stderr)
			add := func(name string, a, b, c []float64) {
				wo, wi := median(a), median(b)
				res.Figures = append(res.Figures, Figure{Runtime: rt.Name(), Node: rt.Version, Handler: h.kind, Name: name, Without: wo, With: wi, Added: wi - wo, Samples: len(b), Compare: median(c)})
			}
			add("init duration (cold start)", without.init, with.init, other.init)
			add("first invocation, start to response", without.first, with.first, other.first)
			add("warm invocation, start to response", without.warm, with.warm, other.warm)
			add("warm invocation, response to the extension's next event (postRuntimeMs)", without.warmPost, with.warmPost, other.warmPost)
			add("warm invocation, start to the extension's next event (billed)", without.warmTotal, with.warmTotal, other.warmTotal)
		}
	}

	fmt.Printf("\nNode.js layer overhead in the sandbox: medians of %d cold starts and %d warm invocations each (%s)\n\n", cold, cold*warm, res.Machine)
	head, rule := "| runtime | handler | figure | without layer (ms) | with layer (ms) | added (ms) |", "| --- | --- | --- | ---: | ---: | ---: |"
	if compare != "" {
		head, rule = head+" with -compare layer (ms) | it added (ms) |", rule+" ---: | ---: |"
	}
	fmt.Println(head)
	fmt.Println(rule)
	for _, f := range res.Figures {
		fmt.Printf("| %s (Node.js %s) | %s | %s | %.1f | %.1f | %+.1f |", f.Runtime, f.Node, f.Handler, f.Name, f.Without, f.With, f.Added)
		if compare != "" {
			fmt.Printf(" %.1f | %+.1f |", f.Compare, f.Compare-f.Without)
		}
		fmt.Println()
	}
	if compareFailures > 0 {
		fmt.Printf("\n%d cold starts with the -compare layer failed and are not in its medians.\n", compareFailures)
	}
	if jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// coldStart starts an environment, invokes it once cold and warm times
// warm, and adds the durations to s.
func coldStart(rt nodetest.Runtime, work, fixture, action, nodeLayer, extLayer string, snk *sink.Sink, targetURL string, withLayer bool, warm int, s *samples) error {
	dir, err := os.MkdirTemp(work, "fn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	task := filepath.Join(dir, "task")
	if err := os.CopyFS(task, os.DirFS(fixture)); err != nil {
		return err
	}
	grpcPort, httpPort, err := freePorts()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`
lambdaotel:
  flush:
    strategy: end
receivers:
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
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`, grpcPort, httpPort, snk.HTTPAddr())
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	env := map[string]string{
		"LAMBDAOTEL_CONFIG": cfgPath,
		"TARGET_URL":        targetURL,
	}
	layers := []string{extLayer}
	if withLayer {
		layers = append(layers, nodeLayer)
		env["AWS_LAMBDA_EXEC_WRAPPER"] = "/opt/otel-handler"
		env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	}
	sb, err := sandbox.Start(sandbox.Config{
		TaskRoot: task,
		Command:  rt.Command("index.handler"),
		Handler:  "index.handler",
		Runtime:  rt.Name(),
		Layers:   layers,
		Timeout:  10 * time.Second,
		Env:      env,
		Network:  sandbox.NetworkHost, // the sink without a forwarding relay in the figures
	})
	if err != nil {
		return err
	}
	defer sb.Shutdown()
	for i := range warm + 1 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r, err := sb.Invoke(ctx, sandbox.Request{Payload: []byte(fmt.Sprintf(`{"action":%q}`, action))})
		cancel()
		if err != nil {
			return err
		}
		if r.Error != nil {
			return fmt.Errorf("invocation %d: %v", i, r.Error)
		}
		if i == 0 {
			if r.Init == nil {
				return fmt.Errorf("the first invocation has no init report")
			}
			s.init = append(s.init, r.Init.DurationMs)
			s.first = append(s.first, r.Report.RuntimeMs)
		} else {
			s.warm = append(s.warm, r.Report.RuntimeMs)
			s.warmPost = append(s.warmPost, r.Report.PostRuntimeMs)
			s.warmTotal = append(s.warmTotal, r.Report.RuntimeMs+r.Report.PostRuntimeMs)
		}
	}
	return nil
}

// bundle bundles entry into outfile with esbuild (CommonJS, platform node)
// and the layer's plugin, as a user of the layer would, with the packages
// the test functions use (layers/nodejs/test/setup-runtime.sh).
func bundle(rt nodetest.Runtime, entry, outfile, plugin string) error {
	src, err := os.MkdirTemp(filepath.Dir(filepath.Dir(outfile)), "bundle-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(filepath.Dir(entry))); err != nil {
		return err
	}
	if err := os.Symlink(rt.FunctionDeps, filepath.Join(src, "node_modules")); err != nil {
		return err
	}
	opts, _ := json.Marshal(map[string]any{
		"entryPoints": []string{filepath.Join(src, filepath.Base(entry))}, "outfile": outfile,
		"bundle": true, "platform": "node", "target": "node22", "format": "cjs", "logLevel": "warning",
	})
	script := fmt.Sprintf("const o = %s; o.plugins = [require(%q).lambdaotel()]; require(%q).build(o).catch((e) => { console.error(e); process.exit(1); })",
		opts, plugin, filepath.Join(rt.FunctionDeps, "esbuild"))
	if out, err := exec.Command(rt.Node, "-e", script).CombinedOutput(); err != nil {
		return fmt.Errorf("bundle %s with esbuild: %v\n%s", entry, err, out)
	}
	fi, err := os.Stat(outfile)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bundled %s: %.2f MB\n", outfile, float64(fi.Size())/1e6)
	return nil
}

func freePorts() (int, int, error) {
	var ports []int
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model)
}
