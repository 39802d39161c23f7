package extension_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/emfcheck"
)

const metricsFunc = "github.com/lambdaotel/lambdaotel/internal/fixtures/metricsfunc"

// awsemfConfig sends the function's and the platform's metrics to the
// awsemf exporter (the extension's stdout) and the logs, the function's
// and the extension's lines included, to the sink.
const awsemfConfig = `
lambdaotel:
  flush:
    strategy: end
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%GRPC_PORT%
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
  telemetryapi:
    types: [platform, function, extension]
exporters:
  awsemf:
    namespace: LambdaOtel/Test
    retain_initial_value_of_delta_metric: true
    output_destination: stdout
  otlphttp:
    endpoint: http://%SINK_HTTP%
service:
  pipelines:
    metrics:
      receivers: [otlp, telemetryapi]
      exporters: [awsemf]
    logs:
      receivers: [otlp, telemetryapi]
      exporters: [otlphttp]
`

// TestAWSEMF runs a function that records a counter, a histogram and a
// gauge with the OpenTelemetry Go SDK through the extension configured
// with the awsemf exporter, takes the lines the environment wrote, parses
// the EMF records among them by CloudWatch's rules and checks names,
// dimensions, units and values. The records come back to the extension as
// extension log lines through the Telemetry API: none of them reaches the
// logs pipeline's backend, while the function's own EMF-looking line does.
func TestAWSEMF(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{function: metricsFunc, protocol: "http/protobuf", config: awsemfConfig})
	const invocations = 2
	for k := range invocations {
		if res := e.invoke(t, `{}`); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	e.sb.Shutdown()

	recs, err := emfcheck.Lines([]byte(e.logs.String()))
	if err != nil {
		t.Fatalf("an EMF record breaks CloudWatch's rules: %v", err)
	}
	type found struct {
		dims   [][]string
		unit   string
		value  []float64
		stats  *emfcheck.Stats
		member map[string]any
		time   int64
	}
	byName := map[string][]found{}
	platform := 0
	for _, r := range recs {
		for _, d := range r.Directives {
			switch d.Namespace {
			case "Function/Own":
				continue
			case "LambdaOtel/Test":
			default:
				t.Errorf("record of namespace %q", d.Namespace)
			}
			for _, m := range d.Metrics {
				byName[m.Name] = append(byName[m.Name], found{d.Dimensions, m.Unit, m.Values, m.Stats, r.Members, r.Timestamp})
				if strings.HasPrefix(m.Name, "faas.") {
					platform++
				}
			}
		}
	}
	if platform == 0 {
		t.Errorf("no metric of the telemetryapi receiver (faas.*) among %d records", len(recs))
	}
	// The counter: cumulative in the SDK, +2 per invocation; the first
	// value is sent (retain_initial_value_of_delta_metric), then deltas.
	placed := byName["orders.placed"]
	if len(placed) != invocations {
		t.Fatalf("orders.placed in %d records, want %d", len(placed), invocations)
	}
	wantDims := [][]string{{"OTelLib"}, {"OTelLib", "route"}}
	for i, f := range placed {
		if !reflect.DeepEqual(f.value, []float64{2}) {
			t.Errorf("orders.placed #%d = %v, want 2 (a delta)", i, f.value)
		}
		if !reflect.DeepEqual(f.dims, wantDims) {
			t.Errorf("orders.placed #%d dimensions %v, want %v", i, f.dims, wantDims)
		}
		if f.member["route"] != "/api/orders" || f.member["OTelLib"] != "metricsfunc" {
			t.Errorf("orders.placed #%d: members route=%v OTelLib=%v", i, f.member["route"], f.member["OTelLib"])
		}
	}
	// The histogram: a statistic set, cumulative as the SDK sends it (as
	// upstream: histograms are not turned into deltas), unit ms mapped.
	lat := byName["orders.latency"]
	if len(lat) != invocations {
		t.Fatalf("orders.latency in %d records, want %d", len(lat), invocations)
	}
	for i, f := range lat {
		k := float64(i + 1)
		if f.stats == nil || f.stats.Count != 2*k || f.stats.Sum != 40*k || f.stats.Min != 10 || f.stats.Max != 30 {
			t.Errorf("orders.latency #%d = %+v, want count %v, sum %v, min 10, max 30", i, f.stats, 2*k, 40*k)
		}
		if f.unit != "Milliseconds" || !reflect.DeepEqual(f.dims, wantDims) {
			t.Errorf("orders.latency #%d: unit %q dimensions %v", i, f.unit, f.dims)
		}
		// Same attributes and time (in milliseconds, the SDK's clock read
		// per instrument) as the counter: the same record.
		if _, ok := f.member["orders.placed"]; !ok && f.time == byName["orders.placed"][i].time {
			t.Errorf("orders.latency #%d is not in the record of orders.placed", i)
		}
	}
	// The gauge: the invocation's number, no attribute but OTelLib.
	depth := byName["queue.depth"]
	if len(depth) != invocations {
		t.Fatalf("queue.depth in %d records, want %d", len(depth), invocations)
	}
	for i, f := range depth {
		if !reflect.DeepEqual(f.value, []float64{float64(i + 1)}) || !reflect.DeepEqual(f.dims, [][]string{{"OTelLib"}}) {
			t.Errorf("queue.depth #%d = %v with dimensions %v, want %d with [[OTelLib]]", i, f.value, f.dims, i+1)
		}
	}

	// No EMF record of the extension came back into the logs pipeline;
	// the function's EMF-looking lines did, as any function line does.
	own := 0
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					body := lr.Body().AsString()
					switch {
					case strings.Contains(body, "Function/Own"):
						own++
					case strings.Contains(body, `"_aws"`):
						t.Errorf("an EMF record of the extension was exported as a log record: %.200s", body)
					}
				}
			}
		}
	}
	if own != invocations {
		t.Errorf("%d of the function's own EMF lines at the backend, want %d", own, invocations)
	}
}
