package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
)

// failoverGatewayConfig is a gateway that answers a request only once the
// backend has taken it: no batch processor and no sending queue, so that
// nothing it acknowledged is only in its memory when it is killed.
const failoverGatewayConfig = gatewayReceivers + `exporters:
  otlp_http/backend:
    endpoint: http://%BACKEND%
    sending_queue:
      enabled: false
` + gatewayService + `    traces:
      receivers: [otlp]
      exporters: [otlp_http/backend]
    metrics:
      receivers: [otlp]
      exporters: [otlp_http/backend]
    logs:
      receivers: [otlp]
      exporters: [otlp_http/backend]
`

// inMemoryGatewayConfig is the usual gateway: the batch processor and the
// exporter's sending queue (both in memory, at their defaults) answer the
// extension before the backend has the data.
var inMemoryGatewayConfig = strings.NewReplacer(
	"    sending_queue:\n      enabled: false\n", "",
	"      receivers: [otlp]\n", "      receivers: [otlp]\n      processors: [batch]\n",
	"exporters:\n  otlp_http", "processors:\n  batch:\nexporters:\n  otlp_http",
).Replace(failoverGatewayConfig)

// TestFailover runs eight environments (half in Managed Instances mode)
// against a tier of two gateways behind a load balancer, with the sink as
// the backend. A third of the way through, one gateway is SIGKILLed: the
// extensions' exports to it fail mid-request and are retried through the
// balancer to the other. Two thirds of the way, the other is killed too,
// and a new gateway joins 1.5 s later: meanwhile the extensions spill to
// /tmp and replay later. Everything the functions and the platform
// reported reaches the backend (by item id); duplicates are counted.
//
// The same run with gateways that batch in memory (the batch processor,
// the exporter's sending queue) counts what the killed gateways had
// acknowledged but not yet sent: that is lost, and the extension cannot
// know it.
func TestFailover(t *testing.T) {
	for _, c := range []struct {
		name, config string
		lossAllowed  bool
	}{
		{"answering after the backend", failoverGatewayConfig, false},
		{"batching in memory", inMemoryGatewayConfig, true},
	} {
		t.Run(c.name, func(t *testing.T) { failover(t, c.config, c.lossAllowed) })
	}
}

func failover(t *testing.T, config string, lossAllowed bool) {
	backend := lambdatest.StartSink(t, nil)
	vars := map[string]string{"%BACKEND%": backend.HTTPAddr()}
	a := startGateway(t, config, vars)
	b := startGateway(t, config, vars)
	lbGRPC := startBalancer(t, a.grpcAddr, b.grpcAddr)
	lbHTTP := startBalancer(t, a.httpAddr, b.httpAddr)

	const n, count = 8, 18
	fns := make([]*function, n)
	var wg sync.WaitGroup
	for i := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := functionOptions{name: fmt.Sprintf("failover-%d", i), grpc: i%2 == 1, gatewayGRPC: lbGRPC.addr(), gatewayHTTP: lbHTTP.addr()}
			if i >= n/2 {
				o.managed = 4
			}
			fns[i] = startFunction(t, o)
		}()
	}
	wg.Wait()

	total := n * count
	var (
		stage   atomic.Int32
		events  = make(chan string, 4)
		replace sync.WaitGroup
		c       *gateway // the gateway that joins
	)
	replace.Add(1)
	after := func(done int) {
		switch {
		case done >= total/3 && stage.CompareAndSwap(0, 1):
			a.kill()
			events <- fmt.Sprintf("gateway 1 killed after %d invocations", done)
		case done >= 2*total/3 && stage.CompareAndSwap(1, 2):
			b.kill()
			events <- fmt.Sprintf("gateway 2 killed after %d invocations: no gateway", done)
			go func() {
				defer replace.Done()
				time.Sleep(1500 * time.Millisecond)
				c = startGateway(t, config, vars)
				lbGRPC.set(c.grpcAddr)
				lbHTTP.set(c.httpAddr)
				events <- "gateway 3 joined"
			}()
		}
	}
	start := time.Now()
	invs := runInvocations(t, fns, count, 4, after)
	if stage.Load() == 2 {
		replace.Wait()
	} else {
		t.Fatalf("the run ended before both gateways were killed (stage %d)", stage.Load())
	}
	counts := shutDown(fns)
	ran := time.Since(start)
	close(events)
	for e := range events {
		t.Log(e)
	}

	// The extensions answered SHUTDOWN after their last export, and the
	// gateway left stops gracefully (sending what it holds): what the
	// backend has then is all it will get.
	c.stop()
	in := newInventory()
	in.addTraces(backend.Traces())
	in.addMetrics(backend.Metrics())
	in.addLogs(backend.Logs())
	d := checkDelivery(in, invs)
	t.Logf("%d environments, %d invocations in %v; extensions: %s", n, len(all(invs)), ran.Round(time.Millisecond), formatCounts(counts))
	t.Logf("at the backend: %d spans, %d metric points, %d log records; by item id: %v", in.spans, in.points, in.records, d)
	if lossAllowed {
		t.Logf("lost with the killed gateways (acknowledged to the extensions, held in their memory): %d of %d items (%.1f %%)",
			d.missing, d.expected, 100*float64(d.missing)/float64(d.expected))
	}
	if (d.missing > 0 && !lossAllowed) || d.unexpected > 0 {
		t.Errorf("data was lost when gateways were killed: %v; for example:\n%s", d, strings.Join(d.examples, "\n"))
	}
	if counts["spilled"] == 0 || counts["replayed"] == 0 {
		t.Errorf("with no gateway for 1.5 s the extensions spilled %d items and replayed %d: the spill path was not exercised", counts["spilled"], counts["replayed"])
	}
	if counts["dropped"]+counts["abandoned"] > 0 {
		t.Errorf("the extensions dropped or abandoned data: %s", formatCounts(counts))
	}
}
