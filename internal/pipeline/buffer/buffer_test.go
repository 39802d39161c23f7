package buffer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// res describes one ResourceSpans/Logs/Metrics of a test request.
type res struct {
	attrs  map[string]any
	schema string
	scopes []scope
}

// scope describes one scope of a test request and the names of its items.
type scope struct {
	name, version string
	items         []string
}

func newTraces(t testing.TB, rs ...res) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	for _, r := range rs {
		d := td.ResourceSpans().AppendEmpty()
		if err := d.Resource().Attributes().FromRaw(r.attrs); err != nil {
			t.Fatal(err)
		}
		d.SetSchemaUrl(r.schema)
		for _, s := range r.scopes {
			ss := d.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(s.name)
			ss.Scope().SetVersion(s.version)
			for _, name := range s.items {
				sp := ss.Spans().AppendEmpty()
				sp.SetName(name)
				sp.SetTraceID(pcommon.TraceID{1, 2, 3})
				sp.SetSpanID(pcommon.SpanID{4, 5, 6})
			}
		}
	}
	return td
}

func newLogs(t testing.TB, rs ...res) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	for _, r := range rs {
		d := ld.ResourceLogs().AppendEmpty()
		if err := d.Resource().Attributes().FromRaw(r.attrs); err != nil {
			t.Fatal(err)
		}
		d.SetSchemaUrl(r.schema)
		for _, s := range r.scopes {
			sl := d.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(s.name)
			sl.Scope().SetVersion(s.version)
			for _, body := range s.items {
				sl.LogRecords().AppendEmpty().Body().SetStr(body)
			}
		}
	}
	return ld
}

// newMetrics makes one gauge per scope, named after the scope, with a data
// point per item.
func newMetrics(t testing.TB, rs ...res) pmetric.Metrics {
	t.Helper()
	md := pmetric.NewMetrics()
	for _, r := range rs {
		d := md.ResourceMetrics().AppendEmpty()
		if err := d.Resource().Attributes().FromRaw(r.attrs); err != nil {
			t.Fatal(err)
		}
		d.SetSchemaUrl(r.schema)
		for _, s := range r.scopes {
			sm := d.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(s.name)
			sm.Scope().SetVersion(s.version)
			g := sm.Metrics().AppendEmpty()
			g.SetName(s.name + ".gauge")
			points := g.SetEmptyGauge().DataPoints()
			for i, item := range s.items {
				p := points.AppendEmpty()
				p.SetIntValue(int64(i))
				p.Attributes().PutStr("item", item)
			}
		}
	}
	return md
}

// shape lists a Traces' resources as "attrs|schema: scope[span span] ...".
func shape(td ptrace.Traces) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		var b strings.Builder
		fmt.Fprintf(&b, "%v|%s:", rs.Resource().Attributes().AsRaw(), rs.SchemaUrl())
		for _, ss := range rs.ScopeSpans().All() {
			fmt.Fprintf(&b, " %s@%s[", ss.Scope().Name(), ss.Scope().Version())
			for i, sp := range ss.Spans().All() {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(sp.Name())
			}
			b.WriteByte(']')
		}
		out = append(out, b.String())
	}
	return out
}

func logShape(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		var b strings.Builder
		fmt.Fprintf(&b, "%v|%s:", rl.Resource().Attributes().AsRaw(), rl.SchemaUrl())
		for _, sl := range rl.ScopeLogs().All() {
			fmt.Fprintf(&b, " %s@%s[", sl.Scope().Name(), sl.Scope().Version())
			for i, lr := range sl.LogRecords().All() {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(lr.Body().Str())
			}
			b.WriteByte(']')
		}
		out = append(out, b.String())
	}
	return out
}

func metricShape(md pmetric.Metrics) []string {
	var out []string
	for _, rm := range md.ResourceMetrics().All() {
		var b strings.Builder
		fmt.Fprintf(&b, "%v|%s:", rm.Resource().Attributes().AsRaw(), rm.SchemaUrl())
		for _, sm := range rm.ScopeMetrics().All() {
			fmt.Fprintf(&b, " %s@%s[", sm.Scope().Name(), sm.Scope().Version())
			for i, m := range sm.Metrics().All() {
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%s:%d", m.Name(), m.Gauge().DataPoints().Len())
			}
			b.WriteByte(']')
		}
		out = append(out, b.String())
	}
	return out
}

var (
	svcA  = map[string]any{"service.name": "a", "faas.name": "fn"}
	svcA2 = map[string]any{"faas.name": "fn", "service.name": "a"} // same as svcA, other order
	svcB  = map[string]any{"service.name": "b", "faas.name": "fn"}
	nest1 = map[string]any{"service.name": "a", "k": map[string]any{"x": []any{int64(1), "two", 3.0, true}}}
	nest2 = map[string]any{"service.name": "a", "k": map[string]any{"x": []any{int64(1), "two", 3.0, false}}}
)

func TestTakeMergesByResourceAndScope(t *testing.T) {
	tests := []struct {
		name     string
		requests [][]res
		want     []string
	}{
		{
			name:     "one request stays as it is",
			requests: [][]res{{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"a", "b"}}}}}},
			want:     []string{"map[faas.name:fn service.name:a]|: s@[a b]"},
		},
		{
			name: "same resource and scope in two requests become one",
			requests: [][]res{
				{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"1"}}}}},
				{{attrs: svcA2, scopes: []scope{{name: "s", items: []string{"2", "3"}}}}},
			},
			want: []string{"map[faas.name:fn service.name:a]|: s@[1 2 3]"},
		},
		{
			name: "other scopes stay apart within the merged resource",
			requests: [][]res{
				{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"1"}}, {name: "t", items: []string{"2"}}}}},
				{{attrs: svcA, scopes: []scope{{name: "t", items: []string{"3"}}, {name: "s", version: "v2", items: []string{"4"}}}}},
				{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"5"}}}}},
			},
			want: []string{"map[faas.name:fn service.name:a]|: s@[1 5] t@[2 3] s@v2[4]"},
		},
		{
			name: "other resources and schema URLs stay apart, in order",
			requests: [][]res{
				{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"1"}}}}},
				{{attrs: svcB, scopes: []scope{{name: "s", items: []string{"2"}}}}},
				{{attrs: svcA, schema: "https://opentelemetry.io/schemas/1.26.0", scopes: []scope{{name: "s", items: []string{"3"}}}}},
				{{attrs: svcB, scopes: []scope{{name: "s", items: []string{"4"}}}}},
				{{attrs: svcA, scopes: []scope{{name: "s", items: []string{"5"}}}}},
			},
			want: []string{
				"map[faas.name:fn service.name:a]|: s@[1 5]",
				"map[faas.name:fn service.name:b]|: s@[2 4]",
				"map[faas.name:fn service.name:a]|https://opentelemetry.io/schemas/1.26.0: s@[3]",
			},
		},
		{
			name: "nested values are compared deeply",
			requests: [][]res{
				{{attrs: nest1, scopes: []scope{{name: "s", items: []string{"1"}}}}},
				{{attrs: nest2, scopes: []scope{{name: "s", items: []string{"2"}}}}},
				{{attrs: nest1, scopes: []scope{{name: "s", items: []string{"3"}}}}},
			},
			want: []string{
				"map[k:map[x:[1 two 3 true]] service.name:a]|: s@[1 3]",
				"map[k:map[x:[1 two 3 false]] service.name:a]|: s@[2]",
			},
		},
		{
			name: "two resources in one request are merged too",
			requests: [][]res{{
				{attrs: svcA, scopes: []scope{{name: "s", items: []string{"1"}}}},
				{attrs: svcA2, scopes: []scope{{name: "s", items: []string{"2"}}}},
			}},
			want: []string{"map[faas.name:fn service.name:a]|: s@[1 2]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b := buffer.New(0)
			wantItems := 0
			for _, r := range tt.requests {
				td := newTraces(t, r...)
				wantItems += td.SpanCount()
				if err := b.ConsumeTraces(ctx, td); err != nil {
					t.Fatal(err)
				}
				if err := b.ConsumeLogs(ctx, newLogs(t, r...)); err != nil {
					t.Fatal(err)
				}
				if err := b.ConsumeMetrics(ctx, newMetrics(t, r...)); err != nil {
					t.Fatal(err)
				}
			}
			batch := b.Take()
			if got := shape(batch.Traces); !equalStrings(got, tt.want) {
				t.Errorf("traces:\n got %q\nwant %q", got, tt.want)
			}
			if got := logShape(batch.Logs); !equalStrings(got, tt.want) {
				t.Errorf("logs:\n got %q\nwant %q", got, tt.want)
			}
			// Metrics: scopes merge; each request's gauge stays its own metric.
			if got, want := batch.Metrics.DataPointCount(), wantItems; got != want {
				t.Errorf("metrics: %d data points, want %d", got, want)
			}
			if got, want := batch.Metrics.ResourceMetrics().Len(), len(tt.want); got != want {
				t.Errorf("metrics: %d resources %q, want %d", got, metricShape(batch.Metrics), want)
			}
			want := buffer.Counts{Spans: int64(wantItems), DataPoints: int64(wantItems), LogRecords: int64(wantItems)}
			if batch.Items != want {
				t.Errorf("batch items %+v, want %+v", batch.Items, want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConsumeMovesAndTakeEmpties(t *testing.T) {
	ctx := context.Background()
	b := buffer.New(1 << 20)
	td := newTraces(t, res{attrs: svcA, scopes: []scope{{name: "s", items: []string{"1", "2"}}}})
	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(td))
	if err := b.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if td.ResourceSpans().Len() != 0 {
		t.Errorf("the consumed Traces still hold %d resources; want them moved", td.ResourceSpans().Len())
	}
	if b.Len() != 2 || b.Bytes() != size || b.Empty() {
		t.Errorf("Len %d, Bytes %d, Empty %v; want 2, %d, false", b.Len(), b.Bytes(), b.Empty(), size)
	}

	// Read-only data cannot be moved: it is copied.
	ro := newTraces(t, res{attrs: svcB, scopes: []scope{{name: "s", items: []string{"3"}}}})
	ro.MarkReadOnly()
	if err := b.ConsumeTraces(ctx, ro); err != nil {
		t.Fatal(err)
	}
	if ro.SpanCount() != 1 {
		t.Errorf("read-only input changed")
	}

	batch := b.Take()
	if batch.Items.Spans != 3 || batch.Traces.SpanCount() != 3 || batch.Empty() {
		t.Errorf("batch %+v with %d spans; want 3", batch.Items, batch.Traces.SpanCount())
	}
	if !b.Empty() || b.Bytes() != 0 || b.Len() != 0 {
		t.Errorf("after Take: Len %d, Bytes %d; want 0", b.Len(), b.Bytes())
	}
	if next := b.Take(); !next.Empty() || next.Traces.ResourceSpans().Len() != 0 {
		t.Errorf("second Take not empty: %+v", next.Items)
	}
	// The batch is the caller's: changing it does not change the buffer.
	batch.Traces.ResourceSpans().AppendEmpty()
	if b.Take().Traces.ResourceSpans().Len() != 0 {
		t.Errorf("a change to a taken batch reached the buffer")
	}
}

func TestFull(t *testing.T) {
	ctx := context.Background()
	one := res{attrs: svcA, scopes: []scope{{name: "s", items: []string{"span"}}}}
	tdSize := int64((&ptrace.ProtoMarshaler{}).TracesSize(newTraces(t, one)))
	ldSize := int64((&plog.ProtoMarshaler{}).LogsSize(newLogs(t, one)))
	b := buffer.New(2*tdSize + ldSize)

	for i := range 2 {
		if err := b.ConsumeTraces(ctx, newTraces(t, one)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := b.ConsumeLogs(ctx, newLogs(t, one)); err != nil {
		t.Fatal(err)
	}
	// The buffer is now exactly full.
	td := newTraces(t, one)
	err := b.ConsumeTraces(ctx, td)
	if !errors.Is(err, pipeline.ErrFull) {
		t.Fatalf("ConsumeTraces on a full buffer: %v, want ErrFull", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%d of %d bytes in use", 2*tdSize+ldSize, 2*tdSize+ldSize)) {
		t.Errorf("error %q does not say how full the buffer is", err)
	}
	if td.SpanCount() != 1 {
		t.Errorf("rejected data was changed")
	}
	if err := b.ConsumeMetrics(ctx, newMetrics(t, res{attrs: svcA, scopes: []scope{{name: "s", items: []string{"a", "b"}}}})); !errors.Is(err, pipeline.ErrFull) {
		t.Fatalf("ConsumeMetrics on a full buffer: %v, want ErrFull", err)
	}
	huge := newTraces(t, res{attrs: svcA, scopes: []scope{{name: "s", items: make([]string, 100)}}})
	// More than the whole buffer can never fit: not ErrFull (retry later)
	// but ErrTooLarge, by bytes or by items.
	if err := buffer.New(100).ConsumeTraces(ctx, huge); !errors.Is(err, pipeline.ErrTooLarge) || errors.Is(err, pipeline.ErrFull) ||
		!strings.Contains(err.Error(), "more than the whole buffer holds (100 bytes)") {
		t.Errorf("a request larger than the buffer: %v", err)
	}
	many := buffer.New(100 * buffer.MinItemBytes)
	if err := many.Admit(pipeline.Traces, 0, 101); !errors.Is(err, pipeline.ErrTooLarge) ||
		!strings.Contains(err.Error(), "101 spans are more than the whole buffer holds (100 items") {
		t.Errorf("Admit of more items than the buffer holds: %v", err)
	}
	if err := many.Admit(pipeline.Traces, 0, 100); err != nil {
		t.Errorf("Admit of as many items as the buffer holds: %v", err)
	}

	want := buffer.Stats{
		Accepted:         buffer.Counts{Spans: 2, LogRecords: 1},
		Rejected:         buffer.Counts{Spans: 1, DataPoints: 2},
		RejectedRequests: 2,
	}
	if got := b.Stats(); got != want {
		t.Errorf("Stats %+v, want %+v", got, want)
	}
	if got := b.Stats().Rejected.Of(pipeline.Metrics); got != 2 {
		t.Errorf("Rejected.Of(metrics) = %d", got)
	}

	// What was accepted before is still there, and after Take there is room.
	batch := b.Take()
	if batch.Traces.SpanCount() != 2 || batch.Logs.LogRecordCount() != 1 || batch.Bytes != 2*tdSize+ldSize {
		t.Errorf("batch: %d spans, %d log records, %d bytes", batch.Traces.SpanCount(), batch.Logs.LogRecordCount(), batch.Bytes)
	}
	if err := b.ConsumeTraces(ctx, td); err != nil {
		t.Errorf("after Take: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	b := buffer.New(0)
	const writers, requests = 4, 50
	var wg sync.WaitGroup
	var taken sync.Mutex
	total := 0
	for w := range writers {
		wg.Go(func() {
			for i := range requests {
				r := res{attrs: map[string]any{"w": int64(w)}, scopes: []scope{{name: "s", items: []string{fmt.Sprint(i)}}}}
				if err := b.ConsumeTraces(ctx, newTraces(t, r)); err != nil {
					t.Error(err)
				}
				if i%10 == 0 {
					n := b.Take().Traces.SpanCount()
					taken.Lock()
					total += n
					taken.Unlock()
				}
			}
		})
	}
	wg.Wait()
	total += b.Take().Traces.SpanCount()
	if total != writers*requests {
		t.Errorf("took %d spans, want %d", total, writers*requests)
	}
	if s := b.Stats(); s.Accepted.Spans != writers*requests {
		t.Errorf("accepted %d", s.Accepted.Spans)
	}
}

func BenchmarkConsumeTake(b *testing.B) {
	ctx := context.Background()
	buf := buffer.New(0)
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprint("span", i)
	}
	r := res{attrs: svcA, scopes: []scope{{name: "s", items: names}}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := buf.ConsumeTraces(ctx, newTraces(b, r)); err != nil {
			b.Fatal(err)
		}
		if i%10 == 9 {
			buf.Take()
		}
	}
}
