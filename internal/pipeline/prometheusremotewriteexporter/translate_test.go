package prometheusremotewriteexporter

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// t0 is the time of the test points: 1700000000 s.
const t0 = pcommon.Timestamp(1_700_000_000 * 1e9)

// render writes a result as sorted lines "name{labels} value@ms", with
// native histograms as "name{labels} hist(count,sum,schema,offset,deltas)@ms".
func render(res result) []string {
	var out []string
	for _, s := range res.series {
		var name string
		var ls []string
		for _, l := range s.labels {
			if l.name == nameLabel {
				name = l.value
				continue
			}
			ls = append(ls, fmt.Sprintf("%s=%q", l.name, l.value))
		}
		head := name + "{" + strings.Join(ls, ",") + "}"
		for _, x := range s.samples {
			v := fmt.Sprint(x.value)
			if math.Float64bits(x.value) == math.Float64bits(staleNaN) {
				v = "stale"
			}
			out = append(out, fmt.Sprintf("%s %s@%d", head, v, x.ts))
		}
		for _, h := range s.histograms {
			out = append(out, fmt.Sprintf("%s hist(%d,%g,%d,%d,%v)@%d", head, h.count, h.sum, h.schema, h.posOffset, h.posDeltas, h.ts))
		}
	}
	sort.Strings(out)
	return out
}

// metrics builds one resource (attributes res) with metrics made by add.
func metrics(res map[string]any, add ...func(pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("test")
	for _, f := range add {
		f(sm.Metrics())
	}
	return md
}

func gauge(name, unit string, v float64, attrs map[string]any) func(pmetric.MetricSlice) {
	return func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(v)
		dp.SetTimestamp(t0)
		_ = dp.Attributes().FromRaw(attrs)
	}
}

func sum(name, unit string, monotonic bool, temporality pmetric.AggregationTemporality, v int64, start, ts pcommon.Timestamp, attrs map[string]any) func(pmetric.MetricSlice) {
	return func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		s := m.SetEmptySum()
		s.SetIsMonotonic(monotonic)
		s.SetAggregationTemporality(temporality)
		dp := s.DataPoints().AppendEmpty()
		dp.SetIntValue(v)
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(ts)
		_ = dp.Attributes().FromRaw(attrs)
	}
}

func counter(name, unit string, v int64) func(pmetric.MetricSlice) {
	return sum(name, unit, true, pmetric.AggregationTemporalityCumulative, v, t0-1e9, t0, nil)
}

func histogram(name, unit string, temporality pmetric.AggregationTemporality, bounds []float64, counts []uint64, total float64, ts pcommon.Timestamp) func(pmetric.MetricSlice) {
	return func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(temporality)
		dp := h.DataPoints().AppendEmpty()
		dp.ExplicitBounds().FromRaw(bounds)
		dp.BucketCounts().FromRaw(counts)
		var n uint64
		for _, c := range counts {
			n += c
		}
		dp.SetCount(n)
		dp.SetSum(total)
		dp.SetStartTimestamp(t0 - 10e9)
		dp.SetTimestamp(ts)
	}
}

const ms0 = 1_700_000_000_000

func TestTranslate(t *testing.T) {
	base := settings{suffixes: true, targetInfo: false, instance: "env-1"}
	tests := []struct {
		name string
		set  func(*settings)
		md   pmetric.Metrics
		want []string
	}{
		{"counter with unit: _seconds_total", nil,
			metrics(nil, counter("http.server.duration", "s", 3)),
			[]string{`http_server_duration_seconds_total{instance="env-1"} 3@1700000000000`}},
		{"gauge of unit 1: _ratio", nil,
			metrics(nil, gauge("cpu.utilization", "1", 0.5, nil)),
			[]string{`cpu_utilization_ratio{instance="env-1"} 0.5@1700000000000`}},
		{"bytes; per-second unit; annotation only", nil,
			metrics(nil, gauge("process.memory.usage", "By", 10, nil), gauge("net.io.rate", "By/s", 2, nil), counter("app.requests", "{request}", 4)),
			[]string{
				`app_requests_total{instance="env-1"} 4@1700000000000`,
				`net_io_rate_bytes_per_second{instance="env-1"} 2@1700000000000`,
				`process_memory_usage_bytes{instance="env-1"} 10@1700000000000`,
			}},
		{"_total and the unit are not doubled", nil,
			metrics(nil, counter("jobs_total", "", 1), gauge("latency_seconds", "s", 1, nil)),
			[]string{`jobs_total{instance="env-1"} 1@1700000000000`, `latency_seconds{instance="env-1"} 1@1700000000000`}},
		{"no suffixes", func(s *settings) { s.suffixes = false },
			metrics(nil, counter("http.server.duration", "s", 3)),
			[]string{`http_server_duration{instance="env-1"} 3@1700000000000`}},
		{"namespace; leading digit", func(s *settings) { s.namespace = "shop" },
			metrics(nil, counter("orders", "", 3), gauge("3xx.rate", "", 1, nil)),
			[]string{`shop_3xx_rate{instance="env-1"} 1@1700000000000`, `shop_orders_total{instance="env-1"} 3@1700000000000`}},
		{"leading digit without namespace", nil,
			metrics(nil, gauge("3xx.rate", "", 1, nil)),
			[]string{`_3xx_rate{instance="env-1"} 1@1700000000000`}},
		{"labels sanitized, colliding keys joined", nil,
			metrics(nil, gauge("g", "", 1, map[string]any{"http.method": "GET", "1st": "a", "_private": "b", "__reserved": "c", "a.b": "x", "a_b": "y", "empty": ""})),
			[]string{`g{__reserved="c",a_b="x;y",http_method="GET",instance="env-1",key_1st="a",key_private="b"} 1@1700000000000`}},
		{"job from service.namespace/service.name, instance from service.instance.id", nil,
			metrics(map[string]any{"service.name": "orders", "service.namespace": "shop", "service.instance.id": "i-1"}, gauge("g", "", 1, nil)),
			[]string{`g{instance="i-1",job="shop/orders"} 1@1700000000000`}},
		{"instance from faas.instance", nil,
			metrics(map[string]any{"service.name": "orders", "faas.instance": "2026/12/04/[$LATEST]abc"}, gauge("g", "", 1, nil)),
			[]string{`g{instance="2026/12/04/[$LATEST]abc",job="orders"} 1@1700000000000`}},
		{"external labels do not override", func(s *settings) { s.externalLabels = map[string]string{"env": "prod", "region": "eu"} },
			metrics(nil, gauge("g", "", 1, map[string]any{"region": "us"})),
			[]string{`g{env="prod",instance="env-1",region="us"} 1@1700000000000`}},
		{"resource to telemetry: point attributes win", func(s *settings) { s.resourceToTelemetry = true },
			metrics(map[string]any{"service.name": "orders", "cloud.region": "eu-west-1", "k": "resource"}, gauge("g", "", 1, map[string]any{"k": "point"})),
			[]string{`g{cloud_region="eu-west-1",instance="env-1",job="orders",k="point",service_name="orders"} 1@1700000000000`}},
		{"target_info: resource attributes but the identifying ones", func(s *settings) { s.targetInfo = true },
			metrics(map[string]any{"service.name": "orders", "service.instance.id": "i-1", "cloud.region": "eu-west-1", "faas.name": "orders-fn"}, gauge("g", "", 1, nil)),
			[]string{`g{instance="i-1",job="orders"} 1@1700000000000`, `target_info{cloud_region="eu-west-1",faas_name="orders-fn",instance="i-1",job="orders"} 1@1700000000000`}},
		{"no target_info for a resource of only service.*", func(s *settings) { s.targetInfo = true },
			metrics(map[string]any{"service.name": "orders"}, gauge("g", "", 1, nil)),
			[]string{`g{instance="env-1",job="orders"} 1@1700000000000`}},
		{"non-monotonic cumulative sum is a gauge", nil,
			metrics(nil, sum("queue.size", "{item}", false, pmetric.AggregationTemporalityCumulative, 7, t0-1e9, t0, nil)),
			[]string{`queue_size{instance="env-1"} 7@1700000000000`}},
		{"histogram: cumulative buckets with le, sum, count", nil,
			metrics(nil, histogram("http.server.request.duration", "s", pmetric.AggregationTemporalityCumulative, []float64{0.1, 1}, []uint64{2, 3, 1}, 4.5, t0)),
			[]string{
				`http_server_request_duration_seconds_bucket{instance="env-1",le="+Inf"} 6@1700000000000`,
				`http_server_request_duration_seconds_bucket{instance="env-1",le="0.1"} 2@1700000000000`,
				`http_server_request_duration_seconds_bucket{instance="env-1",le="1"} 5@1700000000000`,
				`http_server_request_duration_seconds_count{instance="env-1"} 6@1700000000000`,
				`http_server_request_duration_seconds_sum{instance="env-1"} 4.5@1700000000000`,
			}},
		{"summary: quantiles, sum, count", nil,
			metrics(nil, func(ms pmetric.MetricSlice) {
				m := ms.AppendEmpty()
				m.SetName("rpc.duration")
				m.SetUnit("ms")
				dp := m.SetEmptySummary().DataPoints().AppendEmpty()
				dp.SetTimestamp(t0)
				dp.SetCount(10)
				dp.SetSum(55)
				q := dp.QuantileValues().AppendEmpty()
				q.SetQuantile(0.99)
				q.SetValue(9.5)
			}),
			[]string{
				`rpc_duration_milliseconds_count{instance="env-1"} 10@1700000000000`,
				`rpc_duration_milliseconds_sum{instance="env-1"} 55@1700000000000`,
				`rpc_duration_milliseconds{instance="env-1",quantile="0.99"} 9.5@1700000000000`,
			}},
		{"created series: start time in seconds", func(s *settings) { s.created = true },
			metrics(nil, counter("orders", "", 3)),
			[]string{`orders_created{instance="env-1"} 1.699999999e+09@1700000000000`, `orders_total{instance="env-1"} 3@1700000000000`}},
		{"no recorded value: stale marker", nil,
			metrics(nil, func(ms pmetric.MetricSlice) {
				m := ms.AppendEmpty()
				m.SetName("g")
				dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
				dp.SetTimestamp(t0)
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
			}),
			[]string{`g{instance="env-1"} stale@1700000000000`}},
		{"exponential histogram: native, scale 10 merged down to schema 8", nil,
			metrics(nil, func(ms pmetric.MetricSlice) {
				m := ms.AppendEmpty()
				m.SetName("latency")
				m.SetUnit("s")
				eh := m.SetEmptyExponentialHistogram()
				eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				dp := eh.DataPoints().AppendEmpty()
				dp.SetTimestamp(t0)
				dp.SetScale(10)
				dp.SetCount(10)
				dp.SetSum(3)
				dp.Positive().SetOffset(3) // indexes 3..8 at scale 10 are 0,1,1,1,1,2 at scale 8: counts 1, 8, 1
				dp.Positive().BucketCounts().FromRaw([]uint64{1, 2, 3, 1, 2, 1})
			}),
			[]string{`latency_seconds{instance="env-1"} hist(10,3,8,1,[1 7 -7])@1700000000000`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			if tc.set != nil {
				tc.set(&s)
			}
			tr := newTranslator(s)
			res := tr.translate(tc.md)
			got := render(res)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(res.dropped) > 0 {
				t.Errorf("dropped: %v", res.dropped)
			}
		})
	}
}

// TestDeltaToCumulative checks the running totals of delta sums and
// histograms across exports: their start time is the first point's, an
// export tried again sends the same values, and a late point is folded
// into the next.
func TestDeltaToCumulative(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, instance: "env-1"})
	delta := pmetric.AggregationTemporalityDelta
	steps := []struct {
		name string
		md   pmetric.Metrics
		want []string
	}{
		{"first", metrics(nil, sum("invocations", "", true, delta, 3, t0-1e9, t0, nil), histogram("d", "ms", delta, []float64{10}, []uint64{1, 1}, 12, t0)),
			[]string{
				`d_milliseconds_bucket{instance="env-1",le="+Inf"} 2@1700000000000`,
				`d_milliseconds_bucket{instance="env-1",le="10"} 1@1700000000000`,
				`d_milliseconds_count{instance="env-1"} 2@1700000000000`,
				`d_milliseconds_sum{instance="env-1"} 12@1700000000000`,
				`invocations_total{instance="env-1"} 3@1700000000000`,
			}},
		{"second adds", metrics(nil, sum("invocations", "", true, delta, 5, t0, t0+2e9, nil), histogram("d", "ms", delta, []float64{10}, []uint64{2, 0}, 8, t0+2e9)),
			[]string{
				`d_milliseconds_bucket{instance="env-1",le="+Inf"} 4@1700000002000`,
				`d_milliseconds_bucket{instance="env-1",le="10"} 3@1700000002000`,
				`d_milliseconds_count{instance="env-1"} 4@1700000002000`,
				`d_milliseconds_sum{instance="env-1"} 20@1700000002000`,
				`invocations_total{instance="env-1"} 8@1700000002000`,
			}},
		{"the same export again: the same values", metrics(nil, sum("invocations", "", true, delta, 5, t0, t0+2e9, nil)),
			[]string{`invocations_total{instance="env-1"} 8@1700000002000`}},
		{"a late point: added, not sent", metrics(nil, sum("invocations", "", true, delta, 1, t0, t0+1e9, nil)),
			nil},
		{"the next point carries it", metrics(nil, sum("invocations", "", true, delta, 2, t0+2e9, t0+3e9, nil)),
			[]string{`invocations_total{instance="env-1"} 11@1700000003000`}},
		{"another attribute set is another stream", metrics(nil, sum("invocations", "", true, delta, 2, t0+2e9, t0+3e9, map[string]any{"k": "v"})),
			[]string{`invocations_total{instance="env-1",k="v"} 2@1700000003000`}},
	}
	for _, st := range steps {
		got := render(tr.translate(st.md))
		if strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("%s: got:\n%s\nwant:\n%s", st.name, strings.Join(got, "\n"), strings.Join(st.want, "\n"))
		}
	}
	// The created series carries the first delta's start.
	tr2 := newTranslator(settings{suffixes: true, created: true, instance: "e"})
	tr2.translate(metrics(nil, sum("n", "", true, delta, 1, t0-5e9, t0, nil)))
	got := render(tr2.translate(metrics(nil, sum("n", "", true, delta, 1, t0, t0+1e9, nil))))
	want := []string{`n_created{instance="e"} 1.699999995e+09@1700000001000`, `n_total{instance="e"} 2@1700000001000`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("created: got %v, want %v", got, want)
	}
}

// TestDropped checks what is not sent, and that it is counted by reason.
func TestDropped(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, instance: "e"})
	tr.translate(metrics(nil, gauge("g", "", 1, nil)))
	older := metrics(nil, func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("g")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(t0 - 1e9)
		dp.SetDoubleValue(2)
	}, func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("eh2")
		eh := m.SetEmptyExponentialHistogram()
		eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := eh.DataPoints().AppendEmpty()
		dp.SetTimestamp(t0)
		dp.SetScale(-5)
	})
	gauge("...", "", 1, nil)(older.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics())
	res := tr.translate(older)
	if len(res.series) != 0 {
		t.Errorf("series sent: %v", render(res))
	}
	want := map[string]int{reasonOld: 1, reasonScale: 1, reasonNoName: 1}
	if fmt.Sprint(res.dropped) != fmt.Sprint(want) {
		t.Errorf("dropped %v, want %v", res.dropped, want)
	}
}

// TestMetadata checks the metadata of each family.
func TestMetadata(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, metadata: true, instance: "e"})
	md := metrics(nil, counter("orders", "{order}", 1), gauge("temp", "Cel", 1, nil),
		histogram("d", "s", pmetric.AggregationTemporalityCumulative, []float64{1}, []uint64{1, 0}, 0.5, t0))
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).SetDescription("orders placed")
	got := fmt.Sprint(tr.translate(md).metadata)
	want := "[{3 d_seconds  s} {1 orders_total orders placed {order}} {2 temp_celsius  Cel}]"
	if got != want {
		t.Errorf("metadata %s, want %s", got, want)
	}
}

func TestMillisNow(t *testing.T) {
	tr := newTranslator(settings{instance: "e"})
	tr.now = func() time.Time { return time.UnixMilli(42) }
	md := metrics(nil, func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("g")
		m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	})
	if got := render(tr.translate(md)); len(got) != 1 || !strings.HasSuffix(got[0], "@42") {
		t.Errorf("a point without a timestamp: %v, want the time of the export", got)
	}
}

// TestTargetInfoPerInstance checks that resources sharing job and
// instance make one target_info with the attributes of all, and that when
// its labels change the previous series is marked stale.
func TestTargetInfoPerInstance(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, targetInfo: true, instance: "env-1"})
	md := metrics(map[string]any{"service.name": "orders", "cloud.region": "eu-west-1"}, gauge("a", "", 1, nil))
	metrics(map[string]any{"service.name": "orders", "faas.name": "orders-fn", "cloud.region": "us-east-1"}, gauge("b", "", 1, nil)).
		ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	got := render(tr.translate(md))
	want := []string{
		`a{instance="env-1",job="orders"} 1@1700000000000`,
		`b{instance="env-1",job="orders"} 1@1700000000000`,
		`target_info{cloud_region="eu-west-1",faas_name="orders-fn",instance="env-1",job="orders"} 1@1700000000000`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("first batch: got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	later := metrics(map[string]any{"service.name": "orders", "faas.version": "$LATEST"}, func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("a")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(t0 + 1e9)
		dp.SetDoubleValue(2)
	})
	got = render(tr.translate(later))
	want = []string{
		`a{instance="env-1",job="orders"} 2@1700000001000`,
		`target_info{cloud_region="eu-west-1",faas_name="orders-fn",faas_version="$LATEST",instance="env-1",job="orders"} 1@1700000001000`,
		`target_info{cloud_region="eu-west-1",faas_name="orders-fn",instance="env-1",job="orders"} stale@1700000001000`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("second batch: got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDeltaExponentialHistogram checks delta exponential histograms made
// cumulative: counts added bucket by bucket at the lower of the scales.
func TestDeltaExponentialHistogram(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, instance: "e"})
	point := func(scale, offset int32, counts []uint64, ts pcommon.Timestamp) pmetric.Metrics {
		return metrics(nil, func(ms pmetric.MetricSlice) {
			m := ms.AppendEmpty()
			m.SetName("latency")
			m.SetUnit("s")
			eh := m.SetEmptyExponentialHistogram()
			eh.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			dp := eh.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(ts - 1e9)
			dp.SetTimestamp(ts)
			dp.SetScale(scale)
			var n uint64
			for _, c := range counts {
				n += c
			}
			dp.SetCount(n)
			dp.SetSum(float64(n))
			dp.Positive().SetOffset(offset)
			dp.Positive().BucketCounts().FromRaw(counts)
		})
	}
	steps := []struct {
		md   pmetric.Metrics
		want string
	}{
		// scale 2, indexes 4,5: Prometheus buckets 5,6.
		{point(2, 4, []uint64{1, 2}, t0), `latency_seconds{instance="e"} hist(3,3,2,5,[1 1])@1700000000000`},
		// scale 1, index 3 (= scale-2 indexes 6,7): merged at scale 1:
		// indexes 2 (4,5 → 3 counts) and 3 (1 count).
		{point(1, 3, []uint64{1}, t0+1e9), `latency_seconds{instance="e"} hist(4,4,1,3,[3 -2])@1700000001000`},
		// The same export again: the same histogram.
		{point(1, 3, []uint64{1}, t0+1e9), `latency_seconds{instance="e"} hist(4,4,1,3,[3 -2])@1700000001000`},
	}
	for i, st := range steps {
		res := tr.translate(st.md)
		if got := strings.Join(render(res), "\n"); got != st.want || len(res.dropped) > 0 {
			t.Errorf("step %d: got %s (dropped %v), want %s", i, got, res.dropped, st.want)
		}
	}
}

// TestExemplars checks that a counter's exemplars go with its series and
// a histogram's with the first bucket holding the value, with trace_id,
// span_id and filtered attributes while they fit 128 runes.
func TestExemplars(t *testing.T) {
	tr := newTranslator(settings{suffixes: true, instance: "e"})
	traceID := pcommon.TraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	spanID := pcommon.SpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	addExemplar := func(es pmetric.ExemplarSlice, v float64, attrs map[string]any) {
		e := es.AppendEmpty()
		e.SetDoubleValue(v)
		e.SetTimestamp(t0)
		e.SetTraceID(traceID)
		e.SetSpanID(spanID)
		_ = e.FilteredAttributes().FromRaw(attrs)
	}
	md := metrics(nil, counter("orders", "", 3), histogram("d", "s", pmetric.AggregationTemporalityCumulative, []float64{0.1, 1}, []uint64{1, 1, 1}, 3, t0))
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	addExemplar(ms.At(0).Sum().DataPoints().At(0).Exemplars(), 1, map[string]any{"user.id": "u1", "long": strings.Repeat("x", 100)})
	addExemplar(ms.At(1).Histogram().DataPoints().At(0).Exemplars(), 0.5, nil)
	addExemplar(ms.At(1).Histogram().DataPoints().At(0).Exemplars(), 7, nil)
	got := map[string]string{}
	for _, s := range tr.translate(md).series {
		var name, le string
		for _, l := range s.labels {
			switch l.name {
			case nameLabel:
				name = l.value
			case leLabel:
				le = l.value
			}
		}
		for _, e := range s.exemplars {
			got[name+"{"+le+"}"] += fmt.Sprintf("%v %v@%d;", e.labels, e.value, e.ts)
		}
	}
	want := map[string]string{
		"orders_total{}":         "[{trace_id 0102030405060708090a0b0c0d0e0f10} {span_id 0102030405060708} {user_id u1}] 1@1700000000000;",
		"d_seconds_bucket{1}":    "[{trace_id 0102030405060708090a0b0c0d0e0f10} {span_id 0102030405060708}] 0.5@1700000000000;",
		"d_seconds_bucket{+Inf}": "[{trace_id 0102030405060708090a0b0c0d0e0f10} {span_id 0102030405060708}] 7@1700000000000;",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exemplars:\n%v\nwant:\n%v", got, want)
	}
}
