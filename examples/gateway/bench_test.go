package gateway_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// distinctSpans counts the different spans (trace and span id) in tds.
func distinctSpans(tds []ptrace.Traces) int {
	type key struct {
		t pcommon.TraceID
		s pcommon.SpanID
	}
	seen := map[key]bool{}
	for _, td := range tds {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					seen[key{sp.TraceID(), sp.SpanID()}] = true
				}
			}
		}
	}
	return len(seen)
}

// benchGatewayConfig is the gateway of BenchmarkGateway: the OTLP
// receiver, %PROCESSORS%, and OTLP/HTTP to the sink.
const benchGatewayConfig = gatewayReceivers + `processors:
  batch:
  tail_sampling:
    decision_wait: 1s
    policies:
      - name: errors
        type: status_code
        status_code:
          status_codes: [ERROR]
      - name: the-rest
        type: probabilistic
        probabilistic:
          sampling_percentage: 100
exporters:
  otlp_http/backend:
    endpoint: http://%BACKEND%
` + gatewayService + `    traces:
      receivers: [otlp]
      processors: [%PROCESSORS%]
      exporters: [otlp_http/backend]
`

// benchExtensionConfig: the function's OTLP only, so that the count of
// spans at the backend is exactly what the function made.
const benchExtensionConfig = `
lambdaotel:
  spill:
    dir: %SPILL_DIR%
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
exporters:
  otlphttp:
    endpoint: http://%GATEWAY%
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`

// BenchmarkGateway measures spans per second from one function through one
// extension (Managed Instances mode, 4 invocations at a time, 500 spans
// each with ten 32-byte attributes, exported as they come) to a gateway collector and on to the sink,
// and the gateway's CPU time (user + system, from /proc) per 10,000 spans:
// the gateway cores that 10,000 spans/s take. Everything runs on this
// machine at once (function, extension, gateway, sink).
//
//	go test -run '^$' -bench Gateway -benchtime 1x ./examples/gateway
func BenchmarkGateway(b *testing.B) {
	const (
		invocations = 200
		spans       = 499 // children; with the root, 500 per invocation
		attrs       = 10  // attributes of 32 bytes on each child
		concurrency = 4
	)
	for _, c := range []struct{ name, processors string }{
		{"batch", "batch"},
		{"tail_sampling+batch", "tail_sampling, batch"},
	} {
		b.Run(c.name, func(b *testing.B) {
			backend := lambdatest.StartSink(b, nil)
			gw := startGateway(b, benchGatewayConfig, map[string]string{"%BACKEND%": backend.HTTPAddr(), "%PROCESSORS%": c.processors})
			layer, task, config, port := installFunction(b, benchExtensionConfig, "%GATEWAY%", gw.httpAddr)
			logs := &lambdatest.LogBuffer{}
			env := lambdatest.StartSandbox(b, sandbox.Config{
				TaskRoot: task, Layers: []string{layer}, FunctionName: "bench", Timeout: 30 * time.Second,
				Network:        sandbox.NetworkHost, // no relay between the extension and the gateway
				MaxConcurrency: concurrency,
				Env: map[string]string{"LAMBDAOTEL_CONFIG": config,
					"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", port),
					"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			}, logs)
			f := &function{name: "bench", env: env, managed: true, logs: logs}
			invoke(b, f, event{}) // init, outside the measurement
			deadline := time.Now().Add(30 * time.Second)
			for backend.SpanCount() < 1 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			var spansPerSec, coresPer10k float64
			rss0, _ := gw.memoryKB(b)
			for range b.N {
				before := backend.SpanCount()
				want := before + invocations*(spans+1)
				cpu0, t0 := gw.cpuSeconds(b), time.Now()
				next := make(chan struct{}, invocations)
				for range invocations {
					next <- struct{}{}
				}
				close(next)
				var wg sync.WaitGroup
				for range concurrency {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range next {
							invoke(b, f, event{Spans: spans, Attrs: attrs})
						}
					}()
				}
				wg.Wait()
				// Until every span made has arrived (counted by span id: a
				// request the extension gave up on after its flush budget,
				// and spilled, may have reached the gateway and arrive
				// twice).
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) && (backend.SpanCount() < want || distinctSpans(backend.Traces()) < want) {
					time.Sleep(100 * time.Millisecond)
				}
				elapsed, cpu := time.Since(t0), gw.cpuSeconds(b)-cpu0
				got := distinctSpans(backend.Traces()) - before
				if got < invocations*(spans+1) {
					b.Fatalf("%d different spans reached the backend in 60 s, want %d", got, invocations*(spans+1))
				}
				spansPerSec = float64(got) / elapsed.Seconds()
				coresPer10k = cpu / float64(got) * 10000
			}
			_, peak := gw.memoryKB(b)
			counts := shutDown([]*function{f}) // what is still spilled is replayed at SHUTDOWN
			in := newInventory()
			in.addTraces(backend.Traces())
			dups, unique := 0, 0
			for _, ti := range in.traces {
				for _, n := range ti.spans {
					dups += n - 1
					unique++
				}
			}
			b.Logf("%s: %d spans at the backend, %d different (%d made), %d copies more; extension: %s",
				c.name, in.spans, unique, invocations*(spans+1)*b.N+1, dups, formatCounts(counts))
			fmt.Printf("| spans that arrived twice (%s) | %.2f %% |  | requests the extension gave up on after its flush budget (500 ms), spilled and sent again, though the busy gateway had taken them: %d spilled |\n",
				c.name, 100*float64(dups)/float64(unique), counts["spilled"])
			b.ReportMetric(spansPerSec, "spans/s")
			b.ReportMetric(coresPer10k, "gateway-cores-per-10k-spans/s")
			fmt.Printf("| spans per second, one function → extension → gateway (%s) → sink | %.0f span/s |  | Managed Instances, %d at a time, %d spans per invocation (%d attributes each), %d invocations; function, extension, gateway and sink on one 2-core machine |\n",
				c.name, spansPerSec, concurrency, spans+1, attrs+1, invocations)
			fmt.Printf("| gateway CPU per 10,000 spans/s (%s) | %.3f cores |  | user+system time from /proc/PID/stat per 10,000 spans |\n", c.name, coresPer10k)
			fmt.Printf("| gateway peak memory (%s) | %.1f MB |  | VmHWM; %.1f MB before the run (VmRSS) |\n", c.name, float64(peak)/1024, float64(rss0)/1024)
		})
	}
}
