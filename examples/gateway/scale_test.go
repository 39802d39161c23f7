package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// callfuncCmd is the test function: spans, metric points and log records
// with unique fixture.item attributes, and calls to other functions.
const callfuncCmd = "github.com/lambdaotel/lambdaotel/internal/fixtures/callfunc"

// event is callfunc's event.
type event struct {
	Spans     int    `json:"spans"`
	Logs      int    `json:"logs"`
	Fail      bool   `json:"fail"`
	Attrs     int    `json:"attrs,omitempty"`
	Call      string `json:"call,omitempty"`
	CallEvent *event `json:"callEvent,omitempty"`
}

// response is callfunc's response (or the JSON at the end of its error).
type response struct {
	RequestID       string `json:"requestId"`
	CalleeRequestID string `json:"calleeRequestId"`
	CalleeFailed    bool   `json:"calleeFailed"`
}

// extensionConfig is the extension's configuration in every environment:
// the function's OTLP and the platform's telemetry (Telemetry API),
// exported to %GATEWAY% by %EXPORTER% (otlphttp or otlp).
const extensionConfig = `
lambdaotel:
  flush:
    strategy: end
  spill:
    dir: %SPILL_DIR%
receivers:
  telemetryapi:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
exporters:
  %EXPORTER%:
    endpoint: %GATEWAY%
    tls:
      insecure: true
service:
  pipelines:
    traces:
      receivers: [otlp, telemetryapi]
      exporters: [%EXPORTER%]
    metrics:
      receivers: [otlp, telemetryapi]
      exporters: [%EXPORTER%]
    logs:
      receivers: [otlp, telemetryapi]
      exporters: [%EXPORTER%]
`

// function is one sandbox environment running callfunc with the extension.
type function struct {
	name    string
	env     *sandbox.Env
	logs    *lambdatest.LogBuffer
	managed bool
	// invokeURL is the environment's invoke endpoint (AWS's emulator's),
	// where other functions call it.
	invokeURL string
}

// functionOptions says how to start a function's environment.
type functionOptions struct {
	name string
	// grpc exports to the gateway over OTLP/gRPC (else OTLP/HTTP), at
	// gatewayGRPC or gatewayHTTP (host:port).
	grpc                     bool
	gatewayGRPC, gatewayHTTP string
	// managed runs it as Lambda Managed Instances, with this many
	// invocations at once.
	managed int
}

// installFunction makes, in a directory of the test's own, the
// extension's layer, a task root with callfunc as its bootstrap, and the
// extension's configuration: config with %SPILL_DIR% and %HTTP_PORT% (the
// port of its OTLP receiver, a free one) replaced, and every old, new
// pair of replace. It returns the layer, the task root, the
// configuration's path and the port.
func installFunction(tb testing.TB, config string, replace ...string) (layer, task, configPath string, httpPort int) {
	tb.Helper()
	dir := tb.TempDir()
	layer = filepath.Join(dir, "extension-layer")
	buildtest.Install(tb, buildtest.Binary(tb, lambdatest.ExtensionCmd), filepath.Join(layer, "extensions", "lambdaotel"))
	task = filepath.Join(dir, "task")
	buildtest.Install(tb, buildtest.Binary(tb, callfuncCmd), filepath.Join(task, "bootstrap"))
	httpPort = lambdatest.FreePort(tb)
	configPath = filepath.Join(dir, "config.yaml")
	text := strings.NewReplacer(append([]string{"%SPILL_DIR%", filepath.Join(dir, "spill"), "%HTTP_PORT%", strconv.Itoa(httpPort)},
		replace...)...).Replace(config)
	if err := os.WriteFile(configPath, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return layer, task, configPath, httpPort
}

// startFunction starts an environment with callfunc, the extension's
// layer and its configuration, and serves its invoke endpoint.
func startFunction(tb testing.TB, o functionOptions) *function {
	tb.Helper()
	exporter, gw := "otlphttp", "http://"+o.gatewayHTTP
	if o.grpc {
		exporter, gw = "otlp", o.gatewayGRPC
	}
	layer, task, config, httpPort := installFunction(tb, extensionConfig, "%EXPORTER%", exporter, "%GATEWAY%", gw)
	f := &function{name: o.name, logs: &lambdatest.LogBuffer{}, managed: o.managed > 1}
	f.env = lambdatest.StartSandbox(tb, sandbox.Config{
		// The host's network: the gateways, the balancer and the other
		// functions' invoke endpoints are the test's servers on the
		// host's loopback, on ports of their own.
		Network:        sandbox.NetworkHost,
		TaskRoot:       task,
		Layers:         []string{layer},
		FunctionName:   o.name,
		Timeout:        30 * time.Second,
		MaxConcurrency: o.managed,
		Env: map[string]string{
			"LAMBDAOTEL_CONFIG":           config,
			"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			// One metric point per invocation, counted once.
			"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
		},
	}, f.logs)
	port := lambdatest.FreePort(tb)
	srv := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Handler: f.env.InvokeHandler()}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	f.invokeURL = "http://" + srv.Addr + sandbox.InvokePath
	return f
}

// invocation is one invocation the test made, directly or through a call.
type invocation struct {
	function  string
	requestID string
	ev        event
	failed    bool
	callee    *invocation // the function it called, if any
}

// invoke invokes f with ev and records what it did, with the invocation
// it made of another function.
func invoke(tb testing.TB, f *function, ev event) *invocation {
	tb.Helper()
	payload, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.env.Invoke(ctx, sandbox.Request{Payload: payload})
	if err != nil {
		tb.Errorf("invoking %s: %v", f.name, err)
		return nil
	}
	inv := &invocation{function: f.name, requestID: res.RequestID, ev: ev, failed: res.Error != nil}
	if inv.failed != ev.Fail && ev.CallEvent == nil {
		tb.Errorf("%s %s: failed=%v (%v), want %v", f.name, res.RequestID, inv.failed, res.Error, ev.Fail)
	}
	var r response
	doc := res.Payload
	if res.Error != nil {
		if i := strings.LastIndex(res.Error.Message, "; {"); i >= 0 {
			doc = []byte(res.Error.Message[i+2:])
		}
	}
	if err := json.Unmarshal(doc, &r); err != nil || r.RequestID != res.RequestID {
		tb.Errorf("%s %s: response %s (error %v) does not say what it did", f.name, res.RequestID, res.Payload, res.Error)
		return inv
	}
	if ev.Call != "" {
		if r.CalleeRequestID == "" {
			tb.Errorf("%s %s: the call to %s was not made: %s", f.name, res.RequestID, ev.Call, doc)
			return inv
		}
		inv.callee = &invocation{function: ev.Call, requestID: r.CalleeRequestID, ev: *ev.CallEvent, failed: r.CalleeFailed}
		if r.CalleeFailed != ev.CallEvent.Fail {
			tb.Errorf("%s %s: callee failed=%v, want %v", f.name, res.RequestID, r.CalleeFailed, ev.CallEvent.Fail)
		}
	}
	return inv
}

// all returns the invocations and the ones they made, in one list.
func all(invs []*invocation) []*invocation {
	var out []*invocation
	for _, inv := range invs {
		out = append(out, inv)
		if inv.callee != nil {
			out = append(out, inv.callee)
		}
	}
	return out
}

// expected lists the fixture.item ids the invocation's function reports.
func (inv *invocation) expected() (spans, metrics, logs []string) {
	r := inv.requestID
	spans = append(spans, r+"/handler")
	for i := range inv.ev.Spans {
		spans = append(spans, fmt.Sprintf("%s/child-%d", r, i))
	}
	if inv.ev.Call != "" {
		spans = append(spans, r+"/call")
	}
	for i := range inv.ev.Logs {
		logs = append(logs, fmt.Sprintf("%s/log-%d", r, i))
	}
	return spans, []string{r + "/metric"}, logs
}

// inventory is what arrived, by id.
type inventory struct {
	spanItems              map[string]int             // fixture.item of spans → times seen
	spanTrace              map[string]pcommon.TraceID // fixture.item → its span's trace
	platform               map[string]int             // faas.invocation_id of invocation spans → times seen
	platformTrace          map[string]pcommon.TraceID
	traces                 map[pcommon.TraceID]*traceInfo
	metricItems            map[string]int // fixture.item of metric points → times seen
	faasSums               map[string]int64
	logItems               map[string]int // fixture.item of log records → times seen
	spans, points, records int
}

// traceInfo is one trace: its spans (by id, with the times each was seen)
// and whether any has status ERROR.
type traceInfo struct {
	spans      map[pcommon.SpanID]int
	err        bool
	invocation []string // invocation ids of its platform spans
}

func newInventory() *inventory {
	return &inventory{spanItems: map[string]int{}, spanTrace: map[string]pcommon.TraceID{}, platform: map[string]int{},
		platformTrace: map[string]pcommon.TraceID{}, traces: map[pcommon.TraceID]*traceInfo{},
		metricItems: map[string]int{}, faasSums: map[string]int64{}, logItems: map[string]int{}}
}

const platformScope = "lambdaotel/telemetryapi"

func (in *inventory) addTraces(batches []ptrace.Traces) {
	for _, td := range batches {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					in.spans++
					ti := in.traces[sp.TraceID()]
					if ti == nil {
						ti = &traceInfo{spans: map[pcommon.SpanID]int{}}
						in.traces[sp.TraceID()] = ti
					}
					ti.spans[sp.SpanID()]++
					if sp.Status().Code() == ptrace.StatusCodeError {
						ti.err = true
					}
					if v, ok := sp.Attributes().Get("fixture.item"); ok {
						in.spanItems[v.Str()]++
						in.spanTrace[v.Str()] = sp.TraceID()
					} else if v, ok := sp.Attributes().Get("faas.invocation_id"); ok && ss.Scope().Name() == platformScope {
						in.platform[v.Str()]++
						in.platformTrace[v.Str()] = sp.TraceID()
						ti.invocation = append(ti.invocation, v.Str())
					}
				}
			}
		}
	}
}

func (in *inventory) addMetrics(batches []pmetric.Metrics) {
	for _, md := range batches {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					switch m.Type() {
					case pmetric.MetricTypeGauge:
						in.points += m.Gauge().DataPoints().Len()
						continue
					case pmetric.MetricTypeHistogram:
						in.points += m.Histogram().DataPoints().Len()
						continue
					case pmetric.MetricTypeExponentialHistogram:
						in.points += m.ExponentialHistogram().DataPoints().Len()
						continue
					case pmetric.MetricTypeSummary:
						in.points += m.Summary().DataPoints().Len()
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						in.points++
						if v, ok := dp.Attributes().Get("fixture.item"); ok {
							in.metricItems[v.Str()]++
						}
						if sm.Scope().Name() == platformScope {
							in.faasSums[m.Name()] += dp.IntValue()
						}
					}
				}
			}
		}
	}
}

func (in *inventory) addLogs(batches []plog.Logs) {
	for _, ld := range batches {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					in.records++
					if v, ok := lr.Attributes().Get("fixture.item"); ok {
						in.logItems[v.Str()]++
					}
				}
			}
		}
	}
}

// delivery counts, for the invocations, what arrived once, more than once
// and not at all (by item id), and what arrived that nobody reported.
type delivery struct {
	expected, once, duplicated, missing, unexpected int
	examples                                        []string // of what went wrong, a few
}

func (d *delivery) note(format string, args ...any) {
	if len(d.examples) < 10 {
		d.examples = append(d.examples, fmt.Sprintf(format, args...))
	}
}

func (d *delivery) check(kind string, got map[string]int, want []string) {
	seen := map[string]bool{}
	for _, id := range want {
		seen[id] = true
		d.expected++
		switch n := got[id]; {
		case n == 1:
			d.once++
		case n == 0:
			d.missing++
			d.note("%s %s missing", kind, id)
		default:
			d.duplicated++
			d.note("%s %s arrived %d times", kind, id, n)
		}
	}
	for id := range got {
		if !seen[id] {
			d.unexpected++
			d.note("%s %s arrived but was not reported by an invocation of this run", kind, id)
		}
	}
}

func (d delivery) String() string {
	return fmt.Sprintf("%d items reported, %d arrived once, %d more than once, %d missing, %d unexpected",
		d.expected, d.once, d.duplicated, d.missing, d.unexpected)
}

// checkDelivery compares what arrived with what the invocations reported:
// every span, metric point and log record of the functions by item id, and
// every invocation span of the platform by invocation id.
func checkDelivery(in *inventory, invs []*invocation) delivery {
	var d delivery
	var spans, metrics, logs, platform []string
	for _, inv := range all(invs) {
		s, m, l := inv.expected()
		spans, metrics, logs = append(spans, s...), append(metrics, m...), append(logs, l...)
		platform = append(platform, inv.requestID)
	}
	d.check("span", in.spanItems, spans)
	d.check("metric point", in.metricItems, metrics)
	d.check("log record", in.logItems, logs)
	d.check("platform span of invocation", in.platform, platform)
	return d
}

// checkTraces checks that each invocation is one trace: the platform's
// span and the function's spans, and the called function's too.
func checkTraces(t *testing.T, in *inventory, invs []*invocation) {
	t.Helper()
	bad := 0
	for _, inv := range invs {
		tid, ok := in.platformTrace[inv.requestID]
		if !ok {
			continue // counted as missing
		}
		members := []*invocation{inv}
		if inv.callee != nil {
			members = append(members, inv.callee)
			if got := in.platformTrace[inv.callee.requestID]; got != tid {
				bad++
				if bad <= 5 {
					t.Errorf("the invocation %s of %s that %s called is in trace %s, not in its caller's %s",
						inv.callee.requestID, inv.callee.function, inv.requestID, got, tid)
				}
			}
		}
		for _, m := range members {
			spans, _, _ := m.expected()
			for _, item := range spans {
				if got, ok := in.spanTrace[item]; ok && got != tid {
					bad++
					if bad <= 5 {
						t.Errorf("span %s is in trace %s, not in its invocation's trace %s", item, got, tid)
					}
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d spans are not in their invocation's trace", bad)
	}
}

// probabilistic says whether the tail_sampling processor's probabilistic
// policy samples a trace: as the collector (contrib v0.161.0) decides it
// without the usetracestate feature gate, the FNV-1a hash of the hash
// salt and the trace id at most the percentage of the uint64 range.
func probabilistic(tid pcommon.TraceID, percentage float64) bool {
	h := fnv.New64a()
	h.Write([]byte("default-hash-seed"))
	h.Write(tid[:])
	bound := new(big.Float).SetInt(new(big.Int).SetUint64(math.MaxUint64))
	threshold, _ := bound.Mul(bound, big.NewFloat(percentage/100)).Uint64()
	return h.Sum64() <= threshold
}

// sampling counts traces under the policy "keep every trace with an error,
// and samplePercent of the others".
type sampling struct {
	traces, errorTraces, errorTracesAcross, keptOthers, wrong int
}

// checkSampling compares the sampled pipeline's traces (sampled) with all
// the traces (whole): a trace the policy keeps must be there whole, each
// span once; any other trace not at all.
func checkSampling(t *testing.T, whole, sampled *inventory, samplePercent float64) sampling {
	t.Helper()
	var s sampling
	wrong := func(format string, args ...any) {
		s.wrong++
		if s.wrong <= 10 {
			t.Errorf(format, args...)
		}
	}
	for tid, ti := range whole.traces {
		s.traces++
		keep := ti.err || probabilistic(tid, samplePercent)
		got := sampled.traces[tid]
		switch {
		case ti.err:
			s.errorTraces++
			if len(ti.invocation) > 1 {
				s.errorTracesAcross++
			}
		case keep:
			s.keptOthers++
		}
		if !keep {
			if got != nil {
				wrong("trace %s (no error, not sampled by its hash) was kept: %d of its %d spans", tid, len(got.spans), len(ti.spans))
			}
			continue
		}
		if got == nil {
			wrong("trace %s (error=%v, invocations %v) was not kept: 0 of its %d spans", tid, ti.err, ti.invocation, len(ti.spans))
			continue
		}
		for id := range ti.spans {
			if n := got.spans[id]; n != 1 {
				wrong("trace %s (error=%v, invocations %v): span %s kept %d times, want once", tid, ti.err, ti.invocation, id, n)
			}
		}
		for id := range got.spans {
			if ti.spans[id] == 0 {
				wrong("trace %s: span %s kept but never received", tid, id)
			}
		}
	}
	for tid := range sampled.traces {
		if whole.traces[tid] == nil {
			wrong("trace %s was kept but is not among the traces received", tid)
		}
	}
	return s
}

// shutDown shuts the environments down at once (each extension flushes
// at SHUTDOWN) and sums the counters of their extensions' last lines.
func shutDown(fns []*function) map[string]int {
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); f.env.Shutdown() }()
	}
	wg.Wait()
	sums := map[string]int{}
	re := regexp.MustCompile(`lambdaotel: INFO shut down reason=\S+((?: \w+=\d+)+)`)
	for _, f := range fns {
		for _, m := range re.FindAllStringSubmatch(f.logs.String(), -1) {
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.Atoi(v)
				sums[k] += n
			}
		}
	}
	return sums
}

func formatCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// scaleGatewayConfig is the gateway of TestScale: every signal to a file,
// and the traces also through tail_sampling (keep errors, sample
// %PERCENT% % of the rest) to a file of their own, so that one run shows
// both what arrived and what the policy kept of it.
const scaleGatewayConfig = gatewayReceivers + `processors:
  batch:
  tail_sampling:
    decision_wait: 2s
    policies:
      - name: errors
        type: status_code
        status_code:
          status_codes: [ERROR]
      - name: the-rest
        type: probabilistic
        probabilistic:
          sampling_percentage: %PERCENT%
exporters:
  file/traces:
    path: %DIR%/traces.jsonl
  file/sampled:
    path: %DIR%/sampled.jsonl
  file/metrics:
    path: %DIR%/metrics.jsonl
  file/logs:
    path: %DIR%/logs.jsonl
` + gatewayService + `    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/traces]
    traces/sampled:
      receivers: [otlp]
      processors: [tail_sampling, batch]
      exporters: [file/sampled]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/metrics]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/logs]
`

// scaleFunctions and scaleInvocations size TestScale: environments at
// once, and invocations the test makes of each (a third of the callers'
// invocations also call another function). samplePercent is the share of
// the traces without error that the tail_sampling policy keeps.
const (
	scaleFunctions   = 8
	scaleInvocations = 24
	samplePercent    = 25
)

// scaleEvent is the j-th event for function i of n: three spans and two
// log records, a failure now and then; functions of the first half call
// their partner in the second half every third invocation, and every
// other such call fails there.
func scaleEvent(i, j, n int, fns []*function) event {
	ev := event{Spans: 3, Logs: 2, Fail: j%8 == 5}
	if i < n/2 && j%3 == 0 {
		ev.Call = fns[i+n/2].invokeURL
		ev.CallEvent = &event{Spans: 2, Logs: 1, Fail: j%6 == 3}
	}
	return ev
}

// runInvocations invokes every function count times at once (the
// environments in Managed Instances mode with as many invocations at a
// time as they take), calling after(done) once each invocation returns.
func runInvocations(t *testing.T, fns []*function, count, concurrency int, after func(done int)) []*invocation {
	t.Helper()
	var (
		mu   sync.Mutex
		invs []*invocation
		wg   sync.WaitGroup
	)
	for i, f := range fns {
		workers := 1
		if f.managed {
			workers = concurrency
		}
		next := make(chan int, count)
		for j := range count {
			next <- j
		}
		close(next)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range next {
					inv := invoke(t, f, scaleEvent(i, j, len(fns), fns))
					mu.Lock()
					if inv != nil {
						invs = append(invs, inv)
					}
					done := len(invs)
					mu.Unlock()
					if after != nil {
						after(done)
					}
				}
			}()
		}
	}
	wg.Wait()
	return invs
}

// TestScale runs eight environments at once (half of them in Managed
// Instances mode, four invocations at a time), each with the extension and
// a function that reports spans, metric points and log records, half of
// them calling another function, all exporting to one gateway collector
// (half over OTLP/HTTP, half over OTLP/gRPC). The gateway writes
// everything to files, and the traces also through a tail_sampling policy
// (keep errors, sample a quarter of the rest). By item id: everything
// arrived exactly once, each invocation is one trace with its callee's
// spans in it, and the sampled traces are exactly what the policy keeps,
// whole.
func TestScale(t *testing.T) {
	gw := startGateway(t, scaleGatewayConfig, map[string]string{"%PERCENT%": strconv.Itoa(samplePercent)})
	start := time.Now()
	fns := make([]*function, scaleFunctions)
	var wg sync.WaitGroup
	for i := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := functionOptions{name: fmt.Sprintf("scale-%d", i), grpc: i%2 == 1, gatewayGRPC: gw.grpcAddr, gatewayHTTP: gw.httpAddr}
			if i >= scaleFunctions/2 {
				o.managed = 4
			}
			fns[i] = startFunction(t, o)
		}()
	}
	wg.Wait()
	invs := runInvocations(t, fns, scaleInvocations, 4, nil)
	counts := shutDown(fns)
	ran := time.Since(start)
	// The sampled pipeline decides 2 s after a trace's first span, on a
	// 1 s tick; then a graceful stop flushes the batches and files.
	time.Sleep(4 * time.Second)
	gw.stop()

	whole, sampled := newInventory(), newInventory()
	whole.addTraces(readTraces(t, filepath.Join(gw.dir, "traces.jsonl")))
	whole.addMetrics(readMetrics(t, filepath.Join(gw.dir, "metrics.jsonl")))
	whole.addLogs(readLogs(t, filepath.Join(gw.dir, "logs.jsonl")))
	sampled.addTraces(readTraces(t, filepath.Join(gw.dir, "sampled.jsonl")))

	d := checkDelivery(whole, invs)
	t.Logf("%d environments, %d invocations (%d through calls) in %v; extensions: %s",
		len(fns), len(all(invs)), len(all(invs))-len(invs), ran.Round(time.Millisecond), formatCounts(counts))
	t.Logf("at the gateway: %d spans, %d metric points, %d log records; by item id: %v", whole.spans, whole.points, whole.records, d)
	if d.once != d.expected || d.unexpected > 0 {
		t.Errorf("not everything arrived exactly once: %v; for example:\n%s", d, strings.Join(d.examples, "\n"))
	}
	checkTraces(t, whole, invs)
	var ok, failed int64
	for _, inv := range all(invs) {
		if inv.failed {
			failed++
		} else {
			ok++
		}
	}
	if whole.faasSums["faas.invocations"] != ok || whole.faasSums["faas.errors"] != failed {
		t.Errorf("platform metrics: faas.invocations %d and faas.errors %d, want %d and %d",
			whole.faasSums["faas.invocations"], whole.faasSums["faas.errors"], ok, failed)
	}
	if counts["dropped"]+counts["abandoned"]+counts["rejected"] > 0 {
		t.Errorf("the extensions lost data with a healthy gateway: %s", formatCounts(counts))
	}

	s := checkSampling(t, whole, sampled, samplePercent)
	t.Logf("tail sampling: %d traces, %d with an error (%d of them across two functions) kept whole, %d of the other %d kept by the %d %% policy; %d spans kept; %d wrong",
		s.traces, s.errorTraces, s.errorTracesAcross, s.keptOthers, s.traces-s.errorTraces, samplePercent, sampled.spans, s.wrong)
	if s.errorTraces == 0 || s.errorTracesAcross == 0 {
		t.Errorf("the run made no error traces (or none across two functions): the sampling check proved nothing")
	}
}
