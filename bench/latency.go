package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// The latency bench: each flush strategy (and, with UPSTREAM_COLLECTOR,
// the upstream collector layer) against a backend 0, 20 and 80 ms away,
// at 50 invocations per second, 1 per second and rarely, with the same
// function (the OpenTelemetry Go SDK, 100 spans per invocation). The arms
// run interleaved in one run, each with a backend of its own, so that the
// load of the machine weighs on them alike.
//
// Rare invocations: what matters is that the gap is longer than the
// adaptive strategy's threshold (2 s) and that the environment is frozen
// during it; whether it lasts 3 s or a minute changes nothing the
// extension does. A gap of rareGap stands for 1 per minute, and the arms
// share it: while one arm idles, the others are invoked.
const (
	rareGap      = 2500 * time.Millisecond
	spansPerCall = 100
	burstLen     = 6
	burstWatch   = 3 * time.Second
)

// endUnsignalled is the arm of the end strategy whose function does not
// signal the end of its invocations: the extension learns it from the
// Telemetry API's platform.runtimeDone.
const endUnsignalled = "end, no signal"

// endDefault is the arm of the end strategy with the built-in
// configuration: platform telemetry from the Telemetry API besides the
// function's, so the extension waits for platform.runtimeDone. Its
// upstream counterpart is upstreamPlatform.
const endDefault = "end, default configuration"

// upstreamPlatform is the upstream collector with its telemetryapi
// receiver (bench/upstream-collector-platform.yaml).
const upstreamPlatform = "upstream, telemetryapi"

// armEnv is the environment of an arm of lambdaotel exporting to s.
func armEnv(name string, s *sink.Sink) []string {
	switch name {
	case endUnsignalled:
		return []string{"LAMBDAOTEL_FLUSH_STRATEGY=end", "LAMBDAOTEL_INVOCATION_END=false"}
	case endDefault:
		// The built-in configuration listens on 127.0.0.1:4317 and 4318,
		// free in the environment's own network.
		return []string{"LAMBDAOTEL_FLUSH_STRATEGY=end", "LAMBDAOTEL_CONFIG=",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT=http://" + s.HTTPAddr()}
	}
	return []string{"LAMBDAOTEL_FLUSH_STRATEGY=" + name}
}

// arm is one extension setup of the latency bench.
type arm struct {
	name string // strategy, or "upstream"
	sink *sink.Sink
	env  *sandbox.Env
	// calls are the measured invocations of each scenario.
	calls map[string][]call
}

// call is one measured invocation.
type call struct {
	requestID string
	frozen    time.Time // when Invoke returned: the environment was frozen then
	post      float64   // postRuntimeMs
	after     float64   // afterRuntimeDoneMs
}

// rate is an invocation rate of the latency bench.
type rate struct {
	name string
	gap  time.Duration
}

// latencyRow is one row of the latency table.
type latencyRow struct {
	latency  time.Duration
	scenario string
	arm      string
	calls    int
	post     [2]float64 // median, p95
	after    float64    // median
	before   float64    // % of the spans at the backend before their invocation's freeze
	held     float64    // spans held per freeze, mean
	ages     [3]float64 // held age at the freeze: median, p95, max (ms)
	watched  string     // burst: spans at the backend burstWatch into the freeze
}

// upstreamConfig is the upstream collector's configuration in the bench
// (bench/upstream-collector.yaml): OTLP in, the decouple processor, OTLP/HTTP out.
const upstreamConfig = "bench/upstream-collector.yaml"

// upstreamPlatformConfig is its configuration with the telemetryapi
// receiver (bench/upstream-collector-platform.yaml).
const upstreamPlatformConfig = "bench/upstream-collector-platform.yaml"

// latencyBench runs the matrix and returns the markdown of its section.
func latencyBench(work, fn, ext string, quick bool) (string, error) {
	upstream := os.Getenv("UPSTREAM_COLLECTOR")
	names := []string{"end", endUnsignalled, endDefault, "adaptive", "periodic", "continuous"}
	if upstream != "" {
		names = append(names, "upstream", upstreamPlatform)
	}
	latencies := []time.Duration{0, 20 * time.Millisecond, 80 * time.Millisecond}
	blocks, perBlock, rounds1s, roundsRare := 2, 20, 12, 8
	if quick {
		latencies = latencies[:2]
		blocks, perBlock, rounds1s, roundsRare = 1, 12, 3, 2
	}
	load0, _ := os.ReadFile("/proc/loadavg")
	began := time.Now()
	var rows []latencyRow
	for _, lat := range latencies {
		arms := make([]*arm, 0, len(names))
		cleanup := func() {
			for _, a := range arms {
				if a.env != nil {
					a.env.Shutdown()
				}
				a.sink.Close()
			}
		}
		for _, n := range names {
			s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Latency: lat, Jitter: lat / 10})
			if err != nil {
				cleanup()
				return "", err
			}
			a := &arm{name: n, sink: s, calls: map[string][]call{}}
			arms = append(arms, a)
			if n == "upstream" || n == upstreamPlatform {
				a.env, err = newUpstreamEnv(work, fn, upstream, s, n == upstreamPlatform)
			} else {
				a.env, err = newEnvNetwork(work, fn, ext, s, freePort(), sandbox.NetworkOwn, armEnv(n, s)...)
			}
			if err != nil {
				cleanup()
				return "", fmt.Errorf("%s: %w", n, err)
			}
			if _, err := a.invoke(); err != nil { // the cold start
				cleanup()
				return "", err
			}
		}
		fmt.Printf("latency bench: backend %s away\n", lat)
		// 50/s: blocks of invocations 20 ms apart, arm after arm, the
		// order reversed at each pass; the first 5 of a block let the
		// adaptive strategy see the rate.
		for b := range blocks {
			order := slices.Clone(arms)
			if b%2 == 1 {
				slices.Reverse(order)
			}
			for _, a := range order {
				for i := range perBlock {
					time.Sleep(20 * time.Millisecond)
					c, err := a.invoke()
					if err != nil {
						cleanup()
						return "", err
					}
					if i >= 5 {
						a.calls["50/s"] = append(a.calls["50/s"], c)
					}
				}
			}
		}
		// 1/s and rare: rounds, each arm once per round.
		for _, r := range []struct {
			rate
			rounds int
		}{{rate{"1/s", time.Second}, rounds1s}, {rate{"1/min (2.5 s gaps)", rareGap}, roundsRare}} {
			// The first round, after the previous rate, is not counted.
			for round := range r.rounds + 1 {
				start := time.Now()
				for _, a := range arms {
					c, err := a.invoke()
					if err != nil {
						cleanup()
						return "", err
					}
					if round > 0 {
						a.calls[r.name] = append(a.calls[r.name], c)
					}
				}
				time.Sleep(time.Until(start.Add(r.gap)))
			}
		}
		// A burst of 6 at 50/s, then idle: what is at the backend
		// burstWatch into the freeze that follows.
		for _, a := range arms {
			for range burstLen {
				time.Sleep(20 * time.Millisecond)
				c, err := a.invoke()
				if err != nil {
					cleanup()
					return "", err
				}
				a.calls["burst"] = append(a.calls["burst"], c)
			}
		}
		time.Sleep(burstWatch)
		watched := map[*arm]string{}
		for _, a := range arms {
			bc := a.calls["burst"]
			last := bc[len(bc)-1].frozen
			at := spansStoredBy(a.sink, bc, last.Add(burstWatch))
			watched[a] = fmt.Sprintf("%d / %d", at, len(bc)*spansPerCall)
		}
		for _, a := range arms {
			a.env.Shutdown()
			a.env = nil
		}
		for _, scenario := range []string{"50/s", "1/s", "1/min (2.5 s gaps)", "burst"} {
			for _, a := range arms {
				row := summarize(a, scenario)
				row.latency = lat
				if scenario == "burst" {
					row.watched = watched[a]
				}
				rows = append(rows, row)
			}
		}
		cleanup()
	}
	load1, _ := os.ReadFile("/proc/loadavg")
	return latencyMarkdown(rows, upstream, strings.TrimSpace(string(load0)), strings.TrimSpace(string(load1)), time.Since(began)), nil
}

// invoke runs one invocation of 100 spans.
func (a *arm) invoke() (call, error) {
	r, err := a.env.Invoke(context.Background(), sandbox.Request{Payload: []byte(fmt.Sprintf(`{"spans":%d}`, spansPerCall-1))})
	frozen := time.Now()
	if err != nil || r.Error != nil || r.Report == nil {
		return call{}, fmt.Errorf("latency bench, %s: %v %+v", a.name, err, r)
	}
	return call{requestID: r.RequestID, frozen: frozen, post: r.Report.PostRuntimeMs, after: r.Report.AfterRuntimeDoneMs}, nil
}

// fixtureScope is the instrumentation scope of the function's spans.
const fixtureScope = "otelfunc"

// stored is one function span at the backend.
type stored struct {
	made, at time.Time // made: its invocation's root span ended (it was handed to the extension)
}

// spansByInvocation returns the function's spans at the backend, by
// request id.
func spansByInvocation(s *sink.Sink) map[string][]stored {
	traces, times := s.Traces(), s.TracesStored()
	type info struct {
		id  string
		end time.Time
	}
	// The function's root span carries the request id; with platform
	// telemetry it hangs under the invocation's platform span, which is
	// not the function's and not counted.
	roots := map[string]info{}
	for _, sp := range s.Spans() {
		if id, ok := sp.Attributes["faas.invocation_id"].(string); ok && sp.Scope == fixtureScope && sp.Name == "handler" {
			roots[sp.TraceID.String()] = info{id, sp.End}
		}
	}
	out := map[string][]stored{}
	for i, td := range traces {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				if ss.Scope().Name() != fixtureScope {
					continue
				}
				for _, sp := range ss.Spans().All() {
					r, ok := roots[sp.TraceID().String()]
					if !ok {
						continue
					}
					out[r.id] = append(out[r.id], stored{made: r.end, at: times[i]})
				}
			}
		}
	}
	return out
}

// spansStoredBy counts the spans of calls at the backend by t.
func spansStoredBy(s *sink.Sink, calls []call, t time.Time) int {
	by := spansByInvocation(s)
	n := 0
	for _, c := range calls {
		for _, sp := range by[c.requestID] {
			if !sp.at.After(t) {
				n++
			}
		}
	}
	return n
}

// summarize makes the row of one arm and scenario.
func summarize(a *arm, scenario string) latencyRow {
	calls := a.calls[scenario]
	row := latencyRow{scenario: scenario, arm: a.name, calls: len(calls)}
	var post, after, ages []float64
	by := spansByInvocation(a.sink)
	total, before, held := 0, 0, 0
	for i, c := range calls {
		post = append(post, c.post)
		after = append(after, c.after)
		for _, sp := range by[c.requestID] {
			total++
			if !sp.at.After(c.frozen) {
				before++
			}
		}
		// What this freeze held: spans of this and earlier invocations of
		// the scenario not yet at the backend.
		for _, e := range calls[:i+1] {
			spans := by[e.requestID]
			for _, sp := range spans {
				if sp.at.After(c.frozen) {
					held++
					ages = append(ages, float64(c.frozen.Sub(sp.made).Microseconds())/1000)
				}
			}
			if missing := spansPerCall - len(spans); missing > 0 {
				held += missing // never reached the backend
			}
		}
	}
	row.post = [2]float64{percentile(post, 50), percentile(post, 95)}
	row.after = percentile(after, 50)
	if total > 0 {
		row.before = 100 * float64(before) / float64(len(calls)*spansPerCall)
	}
	row.held = float64(held) / float64(max(1, len(calls)))
	if len(ages) > 0 {
		row.ages = [3]float64{percentile(ages, 50), percentile(ages, 95), slices.Max(ages)}
	}
	return row
}

// latencyMarkdown is the section of the latency bench.
func latencyMarkdown(rows []latencyRow, upstream, load0, load1 string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s  \nDate: %s  \nCommand: `make bench` (or `make bench-latency`: this section only), %s  \n",
		machine(), time.Now().UTC().Format(time.RFC3339), took.Round(time.Second))
	fmt.Fprintf(&b, "Load average (1, 5, 15 min; running/total): %s at the start, %s at the end; other work ran on the machine meanwhile, and the arms ran interleaved so that it weighs on them alike.  \n", load0, load1)
	if upstream != "" {
		fmt.Fprintf(&b, "Upstream: %s.  \n", upstreamInfo(upstream))
	} else {
		b.WriteString("Upstream: not measured (set UPSTREAM_COLLECTOR to its binary).  \n")
	}
	b.WriteString(`
Each arm is one environment of the sandbox (512 MB) with the function of
internal/fixtures/otelfunc (OpenTelemetry Go SDK, OTLP/HTTP to the
extension, 100 spans per invocation, flushed before it returns, then
` + "`lambdaotel.InvocationFlushed`" + `: the end-of-invocation signal, which the
upstream layer answers 404, so its function stops sending it after the first;
the arm "end, no signal" turns it off) and a sink of its own as backend, holding every request back by the latency (± 10 %).
Every environment has a network of its own (the upstream layer binds its
Telemetry API listener to sandbox.localdomain), the sink's port relayed in.
Configurations: OTLP in, OTLP/HTTP out, no platform telemetry; upstream's
has the ` + "`decouple`" + ` processor (bench/upstream-collector.yaml). With platform
telemetry: "end, default configuration" is lambdaotel's built-in
configuration (OTLP and the Telemetry API's platform, function and extension
events in every pipeline) with the end strategy, "upstream, telemetryapi"
upstream's with its telemetryapi receiver in every pipeline
(bench/upstream-collector-platform.yaml); both wait for
platform.runtimeDone, whose events the platform telemetry is made of. Only
the function's spans (scope otelfunc) are counted below; the platform's
are exported with them.
50/s: blocks of 20 invocations 20 ms apart (the first 5 of a block not
counted); 1/s: rounds, one invocation per arm each second; 1/min: rounds
2.5 s apart (a gap beyond the adaptive strategy's 2 s threshold, during which
the environment is frozen, behaves like a minute); for both, the first round
after the previous rate is not counted; burst: 6 invocations 20 ms
apart, then idle. The freeze is when the sandbox returns the invocation
(it freezes the environment then, a few ms after the last event/next: it
drains log lines and delivers telemetry first). Before freeze: the share of
an invocation's spans at the backend by its own freeze. Held: spans of the
scenario's invocations not at the backend at a freeze, per freeze, and their
age then (since their invocation's root span ended). Burst, 3 s into the
freeze: spans at the backend 3 s after the freeze that ends the burst.

| backend | rate | arm | n | postRuntimeMs median / p95 | afterRuntimeDoneMs median | before freeze | held per freeze | held age median / p95 / max (ms) | burst: at the backend 3 s into the freeze |
| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
`)
	for _, r := range rows {
		ages := "—"
		if r.held > 0 {
			ages = fmt.Sprintf("%.0f / %.0f / %.0f", r.ages[0], r.ages[1], r.ages[2])
		}
		fmt.Fprintf(&b, "| %d ms | %s | %s | %d | %.1f / %.1f | %.2f | %.1f %% | %.1f | %s | %s |\n",
			r.latency.Milliseconds(), r.scenario, r.arm, r.calls, r.post[0], r.post[1], r.after, r.before, r.held, ages, r.watched)
	}
	return b.String()
}

// upstreamInfo names the upstream binary: its commit and build tags.
func upstreamInfo(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return bin
	}
	rev, tags, mod := "unknown commit", "no build tags (the full collector)", ""
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && strings.HasPrefix(f[1], "vcs.revision="):
			rev = strings.TrimPrefix(f[1], "vcs.revision=")
		case len(f) >= 2 && strings.HasPrefix(f[1], "-tags="):
			tags = "build tags " + strings.TrimPrefix(f[1], "-tags=")
		case len(f) >= 3 && f[0] == "dep" && f[1] == "go.opentelemetry.io/collector/otelcol":
			mod = ", collector " + f[2]
		}
	}
	fi, _ := os.Stat(bin)
	size := 0.0
	if fi != nil {
		size = float64(fi.Size()) / 1e6
	}
	return fmt.Sprintf("open-telemetry/opentelemetry-lambda collector at commit %s%s, %s, %.1f MB", rev, mod, tags, size)
}

// newUpstreamEnv starts a sandbox with the function fn and the upstream
// collector bin as its extension (extensions/collector), exporting to s.
func newUpstreamEnv(work, fn, bin string, s *sink.Sink, platform bool) (*sandbox.Env, error) {
	dir, err := os.MkdirTemp(work, "upstream-")
	if err != nil {
		return nil, err
	}
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	if err := buildtest.InstallFile(fn, filepath.Join(task, "bootstrap")); err != nil {
		return nil, err
	}
	if err := buildtest.InstallFile(bin, filepath.Join(layer, "extensions", "collector")); err != nil {
		return nil, err
	}
	file := upstreamConfig
	if platform {
		file = upstreamPlatformConfig
	}
	cfg, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	httpPort := freePort()
	vars := map[string]string{
		"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file:" + cfg,
		"BENCH_GRPC_ENDPOINT":                fmt.Sprintf("127.0.0.1:%d", freePort()),
		"BENCH_HTTP_ENDPOINT":                fmt.Sprintf("127.0.0.1:%d", httpPort),
		"BENCH_SINK":                         "http://" + s.HTTPAddr(),
		"OTEL_EXPORTER_OTLP_ENDPOINT":        fmt.Sprintf("http://127.0.0.1:%d", httpPort),
	}
	return sandbox.Start(sandbox.Config{TaskRoot: task, Layers: []string{layer}, Env: vars, MemoryMB: 512, Timeout: 30 * time.Second, Network: sandbox.NetworkOwn, Forward: forwarded(sandbox.NetworkOwn, s)})
}
