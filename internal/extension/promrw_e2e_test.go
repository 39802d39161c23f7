package extension_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/prometheusremotewriteexporter"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// startPrometheus runs a Prometheus server (the prometheus command, e.g.
// Debian's package) on loopback with its remote write receiver and native
// histograms and exemplar storage on, storing in a directory of the
// test's own. The test is
// skipped when there is no prometheus command, unless
// LAMBDAOTEL_PROMETHEUS_REQUIRED is set (CI installs it).
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("LAMBDAOTEL_PROMETHEUS_REQUIRED") != "" {
			t.Fatal("no prometheus command on PATH and LAMBDAOTEL_PROMETHEUS_REQUIRED is set: apt-get install prometheus")
		}
		t.Skip("no prometheus command on PATH (apt-get install prometheus); TestRemoteWriteToAMP in internal/extension/promwrite checks the requests with Prometheus' own types")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(lambdatest.FreePort(t))
	logs := &lambdatest.LogBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--enable-feature=native-histograms,exemplar-storage", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus' log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	lambdatest.Forward(t, base)
	return base
}

// promQuery evaluates an instant query and returns each series' labels
// and value.
func promQuery(t *testing.T, base, q string) []promResult {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric    map[string]string `json:"metric"`
				Value     [2]any            `json:"value"`
				Histogram [2]any            `json:"histogram"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("query %s: %v %s %s", q, err, out.Status, out.Error)
	}
	var rs []promResult
	for _, r := range out.Data.Result {
		s, _ := r.Value[1].(string)
		v, _ := strconv.ParseFloat(s, 64)
		rs = append(rs, promResult{r.Metric, v})
	}
	return rs
}

type promResult struct {
	labels map[string]string
	value  float64
}

// TestRemoteWriteToPrometheus runs a function using the OpenTelemetry Go
// SDK in the sandbox, with the extension exporting its metrics and the
// platform's to a real Prometheus server over remote write, and asks
// Prometheus what it stored: the SDK's counter per request_id with job
// and the external label, the platform's delta counters and histograms
// made cumulative (rate and histogram_quantile work on them), target_info
// joined on job and instance; and an exponential histogram stored as a
// native histogram.
func TestRemoteWriteToPrometheus(t *testing.T) {
	t.Parallel()
	prom := startPrometheus(t)
	config := strings.NewReplacer("%PROM%", prom).Replace(`
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
  prometheusremotewrite:
    endpoint: %PROM%/api/v1/write
    external_labels: {deployment: e2e}
  otlphttp:
    endpoint: http://%SINK_HTTP%
service:
  pipelines:
    metrics:
      receivers: [otlp, telemetryapi]
      exporters: [prometheusremotewrite]
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`)
	e := startEnv(t, envOptions{config: config, protocol: "http/protobuf", sandbox: sandbox.Config{FunctionName: "orders"}})
	const invocations = 3
	var ids []string
	for k := range invocations {
		res := e.invoke(t, `{"spans":1}`)
		if res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
		ids = append(ids, strings.Trim(string(res.Payload), `"`))
	}
	e.sb.Shutdown() // the final flush sends the last invocation's platform metrics
	for _, bad := range []string{"export failed", "the backend rejected", "data points not sent"} {
		if strings.Contains(e.logs.String(), bad) {
			t.Errorf("the extension's log says %q:\n%s", bad, e.logs.String())
		}
	}
	for _, id := range ids {
		r := promQuery(t, prom, fmt.Sprintf(`fixture_invocations_total{request_id=%q}`, id))
		if len(r) != 1 || r[0].value != 1 || r[0].labels["job"] != "otelfunc" || r[0].labels["deployment"] != "e2e" || r[0].labels["instance"] == "" {
			t.Errorf("fixture_invocations_total{request_id=%q}: %v", id, r)
		}
	}
	for q, want := range map[string]float64{
		`sum(faas_invocations_total{deployment="e2e"})`:                                invocations,
		`sum(faas_invoke_duration_seconds_count)`:                                      invocations,
		`sum(faas_invoke_duration_seconds_bucket{le="+Inf"})`:                          invocations,
		`count(target_info{job="otelfunc",telemetry_sdk_language="go"})`:               1,
		`count(fixture_invocations_total * on (job, instance) group_left target_info)`: invocations,
	} {
		if r := promQuery(t, prom, q); len(r) != 1 || r[0].value != want {
			t.Errorf("%s: %v, want %v", q, r, want)
		}
	}
	if r := promQuery(t, prom, `histogram_quantile(0.5, sum by (le) (faas_invoke_duration_seconds_bucket))`); len(r) != 1 || !(r[0].value > 0) {
		t.Errorf("median invoke duration: %v", r)
	}
	// The SDK's exemplars of the counter: one per invocation, with the
	// trace of the invocation's span.
	now := time.Now()
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/query_exemplars?query=fixture_invocations_total&start=%d&end=%d", prom, now.Add(-time.Hour).Unix(), now.Add(time.Minute).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Data []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ex)
	resp.Body.Close()
	withTrace := 0
	for _, d := range ex.Data {
		for _, e := range d.Exemplars {
			if len(e.Labels["trace_id"]) == 32 {
				withTrace++
			}
		}
	}
	if err != nil || withTrace != invocations {
		t.Errorf("exemplars of fixture_invocations_total with a trace_id: %d, want %d (%v %+v)", withTrace, invocations, err, ex)
	}

	// An exponential histogram, sent by the exporter itself: a native
	// histogram in Prometheus.
	exp, err := prometheusremotewriteexporter.New("prometheusremotewrite", prometheusremotewriteexporter.Config{
		Endpoint: prom + "/api/v1/write", AddMetricSuffixes: true, TargetInfo: true, Instance: "direct",
	})
	if err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("checkout.latency")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := eh.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetScale(3)
	dp.SetCount(7)
	dp.SetSum(2.5)
	dp.SetZeroCount(1)
	dp.Positive().SetOffset(-8) // buckets around 0.5 s
	dp.Positive().BucketCounts().FromRaw([]uint64{1, 0, 2, 3})
	for range 2 { // the second time as an export tried again: the same sample, accepted
		if err := exp.ExportMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	if r := promQuery(t, prom, `histogram_count(checkout_latency_seconds{instance="direct"})`); len(r) != 1 || r[0].value != 7 {
		t.Errorf("histogram_count of the native histogram: %v, want 7", r)
	}
	if r := promQuery(t, prom, `histogram_sum(checkout_latency_seconds{instance="direct"})`); len(r) != 1 || r[0].value != 2.5 {
		t.Errorf("histogram_sum of the native histogram: %v, want 2.5", r)
	}
	// The same histogram as two deltas: made cumulative, 7 + 7.
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	m.SetName("checkout.delta.latency")
	base := time.Now().Add(-10 * time.Second) // in the past: an instant query sees both
	for k := range 2 {
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(k-1) * time.Second)))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(k) * time.Second)))
		if err := exp.ExportMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	if r := promQuery(t, prom, `histogram_count(checkout_delta_latency_seconds{instance="direct"})`); len(r) != 1 || r[0].value != 14 {
		t.Errorf("histogram_count of the delta native histogram made cumulative: %v, want 14", r)
	}
}
