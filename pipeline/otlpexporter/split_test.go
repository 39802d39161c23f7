package otlpexporter

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestSplitTraces(t *testing.T) {
	td := testTraces(3, 2, 25)
	before := tracesJSON(t, td)
	var m ptrace.ProtoMarshaler
	total := m.TracesSize(td)
	if parts := splitTraces(td, total); len(parts) != 1 || parts[0] != td {
		t.Errorf("a batch of exactly max bytes was split or copied into %d parts", len(parts))
	}
	for _, max := range []int{1, 300, 1000, 4000, total - 1} {
		parts := splitTraces(td, max)
		var names []string
		for _, p := range parts {
			if size := m.TracesSize(p); size > max && p.SpanCount() > 1 {
				t.Errorf("max %d: a part of %d spans is %d bytes", max, p.SpanCount(), size)
			}
			checkSpansKeepTheirScope(t, p)
			names = append(names, spanNames(p)...)
		}
		if got, want := strings.Join(names, ","), strings.Join(spanNames(td), ","); got != want {
			t.Errorf("max %d: spans after splitting differ:\n got %s\nwant %s", max, got, want)
		}
		if max >= 300 && len(parts) > 2*(total/max+1) {
			t.Errorf("max %d: %d parts for %d bytes: the size estimate is too loose", max, len(parts), total)
		}
		if max == 1 && len(parts) != td.SpanCount() {
			t.Errorf("max 1: %d parts, want one per span (%d)", len(parts), td.SpanCount())
		}
	}
	if tracesJSON(t, td) != before {
		t.Error("splitting changed its input")
	}
}

func spanNames(td ptrace.Traces) []string {
	var names []string
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				names = append(names, ss.Spans().At(k).Name())
			}
		}
	}
	return names
}

func TestSplitMetrics(t *testing.T) {
	md := testMetrics(30)
	before := metricsJSON(t, md)
	var m pmetric.ProtoMarshaler
	total := m.MetricsSize(md)
	originals := map[string]pmetric.Metric{}
	metrics := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < metrics.Len(); i++ {
		originals[metrics.At(i).Name()] = metrics.At(i)
	}
	for _, max := range []int{1, 500, 2000, total - 1} {
		parts := splitMetrics(md, max)
		if len(parts) < 2 {
			t.Fatalf("max %d: %d parts", max, len(parts))
		}
		seen := map[string][]int64{} // metric name → indexes of its points, in order
		for _, p := range parts {
			if size := m.MetricsSize(p); size > max && p.DataPointCount() > 1 {
				t.Errorf("max %d: a part of %d points is %d bytes", max, p.DataPointCount(), size)
			}
			rm := p.ResourceMetrics().At(0)
			if v, _ := rm.Resource().Attributes().Get("service.name"); v.Str() != "svc-metrics" || rm.ScopeMetrics().At(0).Scope().Name() != "meter" {
				t.Errorf("max %d: a part lost its resource or scope", max)
			}
			ms := rm.ScopeMetrics().At(0).Metrics()
			for i := 0; i < ms.Len(); i++ {
				got := ms.At(i)
				want := originals[got.Name()]
				if got.Type() != want.Type() || got.Unit() != want.Unit() || got.Description() != want.Description() ||
					got.Metadata().Len() != want.Metadata().Len() {
					t.Errorf("max %d: metric %s lost its descriptor", max, got.Name())
				}
				switch got.Type() {
				case pmetric.MetricTypeSum:
					if got.Sum().IsMonotonic() != want.Sum().IsMonotonic() ||
						got.Sum().AggregationTemporality() != want.Sum().AggregationTemporality() {
						t.Errorf("max %d: sum %s lost monotonicity or temporality", max, got.Name())
					}
				case pmetric.MetricTypeHistogram:
					if got.Histogram().AggregationTemporality() != want.Histogram().AggregationTemporality() {
						t.Errorf("max %d: histogram %s lost its temporality", max, got.Name())
					}
				case pmetric.MetricTypeExponentialHistogram:
					if got.ExponentialHistogram().AggregationTemporality() != want.ExponentialHistogram().AggregationTemporality() {
						t.Errorf("max %d: exponential histogram %s lost its temporality", max, got.Name())
					}
				}
				seen[got.Name()] = append(seen[got.Name()], pointIndexes(got)...)
			}
		}
		for name, idx := range seen {
			for i, v := range idx {
				if int64(i) != v {
					t.Errorf("max %d: metric %s has points %v, want 0..29 in order", max, name, idx)
					break
				}
			}
			if len(idx) != 30 {
				t.Errorf("max %d: metric %s has %d points, want 30", max, name, len(idx))
			}
		}
		if len(seen) != 5 {
			t.Errorf("max %d: %d metrics after splitting, want 5", max, len(seen))
		}
	}
	if metricsJSON(t, md) != before {
		t.Error("splitting changed its input")
	}
}

// pointIndexes returns the "index" attribute of each data point of met.
func pointIndexes(met pmetric.Metric) []int64 {
	var idx []int64
	add := func(v int64) { idx = append(idx, v) }
	switch met.Type() {
	case pmetric.MetricTypeGauge:
		for i := 0; i < met.Gauge().DataPoints().Len(); i++ {
			v, _ := met.Gauge().DataPoints().At(i).Attributes().Get("index")
			add(v.Int())
		}
	case pmetric.MetricTypeSum:
		for i := 0; i < met.Sum().DataPoints().Len(); i++ {
			v, _ := met.Sum().DataPoints().At(i).Attributes().Get("index")
			add(v.Int())
		}
	case pmetric.MetricTypeHistogram:
		for i := 0; i < met.Histogram().DataPoints().Len(); i++ {
			v, _ := met.Histogram().DataPoints().At(i).Attributes().Get("index")
			add(v.Int())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := 0; i < met.ExponentialHistogram().DataPoints().Len(); i++ {
			v, _ := met.ExponentialHistogram().DataPoints().At(i).Attributes().Get("index")
			add(v.Int())
		}
	case pmetric.MetricTypeSummary:
		for i := 0; i < met.Summary().DataPoints().Len(); i++ {
			v, _ := met.Summary().DataPoints().At(i).Attributes().Get("index")
			add(v.Int())
		}
	}
	return idx
}

func TestSplitLogs(t *testing.T) {
	ld := testLogs(200)
	before := logsJSON(t, ld)
	var m plog.ProtoMarshaler
	for _, max := range []int{1, 700, 3000} {
		parts := splitLogs(ld, max)
		next := int64(0)
		for _, p := range parts {
			if size := m.LogsSize(p); size > max && p.LogRecordCount() > 1 {
				t.Errorf("max %d: a part of %d records is %d bytes", max, p.LogRecordCount(), size)
			}
			recs := p.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < recs.Len(); i++ {
				v, _ := recs.At(i).Attributes().Get("index")
				if v.Int() != next {
					t.Fatalf("max %d: record %d where %d was expected", max, v.Int(), next)
				}
				next++
			}
		}
		if next != 200 {
			t.Errorf("max %d: %d records after splitting, want 200", max, next)
		}
	}
	if logsJSON(t, ld) != before {
		t.Error("splitting changed its input")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
	} {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
