package buffer_test

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// gen builds a request of resources × scopes × items whose items carry a
// payload of varying size.
type gen struct {
	resources, scopes, items int
	payload                  int // bytes of the largest item's payload
}

func (g gen) traces() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range g.resources {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprint("svc", r))
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		for s := range g.scopes {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprint("scope", s))
			ss.Scope().SetVersion("v1")
			ss.Scope().Attributes().PutStr("owner", fmt.Sprint(r, "/", s))
			for i := range g.items {
				sp := ss.Spans().AppendEmpty()
				sp.SetName(fmt.Sprintf("r%d.s%d.i%d", r, s, i))
				sp.Attributes().PutStr("payload", strings.Repeat("x", g.size(r, s, i)))
			}
		}
	}
	return td
}

func (g gen) logs() plog.Logs {
	ld := plog.NewLogs()
	for r := range g.resources {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprint("svc", r))
		for s := range g.scopes {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprint("scope", s))
			for i := range g.items {
				lr := sl.LogRecords().AppendEmpty()
				lr.Body().SetStr(fmt.Sprintf("r%d.s%d.i%d", r, s, i))
				lr.Attributes().PutStr("payload", strings.Repeat("x", g.size(r, s, i)))
			}
		}
	}
	return ld
}

// metrics makes, per scope, one metric of each type with items data
// points each.
func (g gen) metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	for r := range g.resources {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprint("svc", r))
		for s := range g.scopes {
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(fmt.Sprint("scope", s))
			prefix := fmt.Sprintf("r%d.s%d.", r, s)
			gauge := sm.Metrics().AppendEmpty()
			gauge.SetName(prefix + "gauge")
			gauge.SetUnit("1")
			sum := sm.Metrics().AppendEmpty()
			sum.SetName(prefix + "sum")
			sum.SetEmptySum().SetIsMonotonic(true)
			sum.Sum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			hist := sm.Metrics().AppendEmpty()
			hist.SetName(prefix + "histogram")
			hist.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			exp := sm.Metrics().AppendEmpty()
			exp.SetName(prefix + "exponential")
			exp.SetEmptyExponentialHistogram()
			sumry := sm.Metrics().AppendEmpty()
			sumry.SetName(prefix + "summary")
			sumry.SetEmptySummary()
			gauge.SetEmptyGauge()
			for i := range g.items {
				payload := strings.Repeat("x", g.size(r, s, i))
				gauge.Gauge().DataPoints().AppendEmpty().Attributes().PutStr("payload", payload)
				sum.Sum().DataPoints().AppendEmpty().Attributes().PutStr("payload", payload)
				hist.Histogram().DataPoints().AppendEmpty().Attributes().PutStr("payload", payload)
				exp.ExponentialHistogram().DataPoints().AppendEmpty().Attributes().PutStr("payload", payload)
				sumry.Summary().DataPoints().AppendEmpty().Attributes().PutStr("payload", payload)
			}
		}
	}
	return md
}

func (g gen) size(r, s, i int) int {
	if g.payload == 0 {
		return 0
	}
	return (r*7 + s*13 + i*31) % (g.payload + 1)
}

var splitTests = []struct {
	name     string
	gen      gen
	maxBytes int
	// wantSplit: whether the input must be cut at all.
	wantSplit bool
	// oversized: items larger than maxBytes exist; their pieces may exceed it.
	oversized bool
}{
	{name: "fits", gen: gen{2, 2, 10, 50}, maxBytes: 1 << 20},
	{name: "no limit", gen: gen{2, 2, 10, 50}, maxBytes: 0},
	{name: "many small resources", gen: gen{200, 1, 2, 20}, maxBytes: 2000, wantSplit: true},
	{name: "one resource, many scopes", gen: gen{1, 100, 3, 20}, maxBytes: 1500, wantSplit: true},
	{name: "one scope, many items", gen: gen{1, 1, 1000, 100}, maxBytes: 4096, wantSplit: true},
	{name: "mixed", gen: gen{5, 7, 40, 300}, maxBytes: 3000, wantSplit: true},
	{name: "a limit that barely fits the headers", gen: gen{3, 3, 20, 10}, maxBytes: 200, wantSplit: true},
	{name: "items larger than the limit", gen: gen{2, 2, 10, 1000}, maxBytes: 600, wantSplit: true, oversized: true},
}

func TestSplitTraces(t *testing.T) {
	var m ptrace.ProtoMarshaler
	for _, tt := range splitTests {
		t.Run(tt.name, func(t *testing.T) {
			td := tt.gen.traces()
			want := spanIndex(td)
			total := m.TracesSize(td)

			pieces := buffer.SplitTraces(td, tt.maxBytes)

			if !tt.wantSplit {
				if len(pieces) != 1 || pieces[0] != td {
					t.Fatalf("got %d pieces, want td itself", len(pieces))
				}
				return
			}
			if td.ResourceSpans().Len() != 0 {
				t.Errorf("input not emptied: %d resources left", td.ResourceSpans().Len())
			}
			var names []string
			for i, p := range pieces {
				size := m.TracesSize(p)
				if size > tt.maxBytes && !(tt.oversized && p.SpanCount() == 1) {
					t.Errorf("piece %d: %d bytes > limit %d (%d spans)", i, size, tt.maxBytes, p.SpanCount())
				}
				for _, rs := range p.ResourceSpans().All() {
					if rs.ScopeSpans().Len() == 0 {
						t.Errorf("piece %d: resource with no scopes", i)
					}
					for _, ss := range rs.ScopeSpans().All() {
						if ss.Spans().Len() == 0 {
							t.Errorf("piece %d: scope with no spans", i)
						}
						for _, sp := range ss.Spans().All() {
							names = append(names, sp.Name())
							home := fmt.Sprint(rs.Resource().Attributes().AsRaw(), rs.SchemaUrl(),
								ss.Scope().Name(), ss.Scope().Version(), ss.Scope().Attributes().AsRaw())
							if home != want[sp.Name()] {
								t.Errorf("span %s is under %s, want %s", sp.Name(), home, want[sp.Name()])
							}
						}
					}
				}
			}
			checkOrder(t, names, tt.gen)
			var sizes []int
			for _, p := range pieces {
				sizes = append(sizes, m.TracesSize(p))
			}
			checkFew(t, sizes, tt.maxBytes)
			t.Logf("%d bytes under a %d-byte limit: pieces of %v bytes", total, tt.maxBytes, sizes)
		})
	}
}

// spanIndex maps each span's name to its resource and scope.
func spanIndex(td ptrace.Traces) map[string]string {
	idx := map[string]string{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				idx[sp.Name()] = fmt.Sprint(rs.Resource().Attributes().AsRaw(), rs.SchemaUrl(),
					ss.Scope().Name(), ss.Scope().Version(), ss.Scope().Attributes().AsRaw())
			}
		}
	}
	return idx
}

// checkOrder checks that names are every item of g, once, in order.
func checkOrder(t *testing.T, names []string, g gen) {
	t.Helper()
	var want []string
	for r := range g.resources {
		for s := range g.scopes {
			for i := range g.items {
				want = append(want, fmt.Sprintf("r%d.s%d.i%d", r, s, i))
			}
		}
	}
	if len(names) != len(want) {
		t.Fatalf("%d items in the pieces, want %d", len(names), len(want))
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("item %d is %s, want %s", i, names[i], want[i])
		}
	}
}

// checkFew checks that the pieces are few: no two neighbours would have
// fitted into one request.
func checkFew(t *testing.T, sizes []int, maxBytes int) {
	t.Helper()
	for i := 0; i+1 < len(sizes); i++ {
		if sizes[i]+sizes[i+1] <= maxBytes {
			t.Errorf("pieces %d and %d (%d and %d bytes) would fit together under the %d-byte limit",
				i, i+1, sizes[i], sizes[i+1], maxBytes)
		}
	}
}

func TestSplitLogs(t *testing.T) {
	var m plog.ProtoMarshaler
	for _, tt := range splitTests {
		t.Run(tt.name, func(t *testing.T) {
			ld := tt.gen.logs()
			total := m.LogsSize(ld)
			pieces := buffer.SplitLogs(ld, tt.maxBytes)
			if !tt.wantSplit {
				if len(pieces) != 1 || pieces[0] != ld {
					t.Fatalf("got %d pieces, want ld itself", len(pieces))
				}
				return
			}
			var names []string
			for i, p := range pieces {
				if size := m.LogsSize(p); size > tt.maxBytes && !(tt.oversized && p.LogRecordCount() == 1) {
					t.Errorf("piece %d: %d bytes > limit %d", i, size, tt.maxBytes)
				}
				for _, rl := range p.ResourceLogs().All() {
					svc, _ := rl.Resource().Attributes().Get("service.name")
					for _, sl := range rl.ScopeLogs().All() {
						if sl.LogRecords().Len() == 0 {
							t.Errorf("piece %d: empty scope", i)
						}
						for _, lr := range sl.LogRecords().All() {
							name := lr.Body().Str()
							names = append(names, name)
							var r, s, n int
							fmt.Sscanf(name, "r%d.s%d.i%d", &r, &s, &n)
							if svc.Str() != fmt.Sprint("svc", r) || sl.Scope().Name() != fmt.Sprint("scope", s) {
								t.Errorf("%s under %s/%s", name, svc.Str(), sl.Scope().Name())
							}
						}
					}
				}
			}
			checkOrder(t, names, tt.gen)
			var sizes []int
			for _, p := range pieces {
				sizes = append(sizes, m.LogsSize(p))
			}
			checkFew(t, sizes, tt.maxBytes)
			t.Logf("%d bytes under a %d-byte limit: %d pieces", total, tt.maxBytes, len(pieces))
		})
	}
}

func TestSplitMetrics(t *testing.T) {
	var m pmetric.ProtoMarshaler
	for _, tt := range splitTests {
		t.Run(tt.name, func(t *testing.T) {
			md := tt.gen.metrics()
			total := m.MetricsSize(md)
			wantPoints := md.DataPointCount()
			pieces := buffer.SplitMetrics(md, tt.maxBytes)
			if !tt.wantSplit {
				if len(pieces) != 1 || pieces[0] != md {
					t.Fatalf("got %d pieces, want md itself", len(pieces))
				}
				return
			}
			points := 0
			perMetric := map[string]int{}
			for i, p := range pieces {
				if size := m.MetricsSize(p); size > tt.maxBytes && !(tt.oversized && p.DataPointCount() == 1) {
					t.Errorf("piece %d: %d bytes > limit %d (%d points)", i, size, tt.maxBytes, p.DataPointCount())
				}
				points += p.DataPointCount()
				for _, rm := range p.ResourceMetrics().All() {
					svc, _ := rm.Resource().Attributes().Get("service.name")
					for _, sm := range rm.ScopeMetrics().All() {
						for _, mt := range sm.Metrics().All() {
							var r, s int
							var kind string
							fmt.Sscanf(strings.ReplaceAll(mt.Name(), ".", " "), "r%d s%d %s", &r, &s, &kind)
							if svc.Str() != fmt.Sprint("svc", r) || sm.Scope().Name() != fmt.Sprint("scope", s) {
								t.Errorf("%s under %s/%s", mt.Name(), svc.Str(), sm.Scope().Name())
							}
							checkMetricHeader(t, mt, kind)
							perMetric[mt.Name()] += pointCount(mt)
						}
					}
				}
			}
			if points != wantPoints {
				t.Errorf("%d data points in the pieces, want %d", points, wantPoints)
			}
			for name, n := range perMetric {
				if n != tt.gen.items {
					t.Errorf("metric %s: %d points, want %d", name, n, tt.gen.items)
				}
			}
			var sizes []int
			for _, p := range pieces {
				sizes = append(sizes, m.MetricsSize(p))
			}
			checkFew(t, sizes, tt.maxBytes)
			t.Logf("%d bytes under a %d-byte limit: %d pieces", total, tt.maxBytes, len(pieces))
		})
	}
}

// checkMetricHeader checks that a piece of a metric kept its type and
// properties.
func checkMetricHeader(t *testing.T, mt pmetric.Metric, kind string) {
	t.Helper()
	ok := true
	switch kind {
	case "gauge":
		ok = mt.Type() == pmetric.MetricTypeGauge && mt.Unit() == "1"
	case "sum":
		ok = mt.Type() == pmetric.MetricTypeSum && mt.Sum().IsMonotonic() &&
			mt.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	case "histogram":
		ok = mt.Type() == pmetric.MetricTypeHistogram &&
			mt.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta
	case "exponential":
		ok = mt.Type() == pmetric.MetricTypeExponentialHistogram
	case "summary":
		ok = mt.Type() == pmetric.MetricTypeSummary
	default:
		ok = false
	}
	if !ok {
		t.Errorf("metric %s lost its type or properties: %v", mt.Name(), mt.Type())
	}
}

func TestSplitReadOnly(t *testing.T) {
	td := gen{2, 2, 50, 100}.traces()
	td.MarkReadOnly()
	n := td.SpanCount()
	pieces := buffer.SplitTraces(td, 2000)
	got := 0
	for _, p := range pieces {
		got += p.SpanCount()
	}
	if len(pieces) < 2 || got != n || td.SpanCount() != n {
		t.Errorf("%d pieces with %d spans; input now %d spans; want several, %d, %d", len(pieces), got, td.SpanCount(), n, n)
	}
}

func BenchmarkSplitTraces(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		td := gen{3, 3, 300, 200}.traces()
		b.StartTimer()
		buffer.SplitTraces(td, 64<<10)
	}
}

func pointCount(mt pmetric.Metric) int {
	switch mt.Type() {
	case pmetric.MetricTypeGauge:
		return mt.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return mt.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return mt.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return mt.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return mt.Summary().DataPoints().Len()
	}
	return 0
}
