package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// TestPrometheusRemoteWriteRetried builds a prometheusremotewrite exporter
// from a configuration and flushes to an endpoint that answers 503 twice:
// the engine retries it within the flush's budget, as for OTLP, and the
// points are counted as exported.
func TestPrometheusRemoteWriteRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "ingester busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Content-Encoding") != "snappy" {
			http.Error(w, "not snappy", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	yaml := `receivers:
  otlp:
    protocols:
      http:
exporters:
  prometheusremotewrite:
    endpoint: ` + srv.URL + `/api/v1/write
    retry_on_failure: {enabled: true}
service:
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheusremotewrite]
`
	cfg, err := config.Parse([]byte(yaml), "config.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	x, err := Build(cfg, Options{BufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Shutdown(context.Background())
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("orders")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(3)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	if err := x.pipes[0].buf.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x.Flush(ctx, false)
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (two 503s, then accepted)", n)
	}
	if got := x.stats.exported.Load(); got != 1 {
		t.Errorf("exported %d points, want 1 (retried %d, dropped %d)", got, x.stats.retried.Load(), x.stats.dropped.Load())
	}
}
