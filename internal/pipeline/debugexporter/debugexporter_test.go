package debugexporter

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lambdaotel")
	for i, name := range []string{"GET /orders", "SELECT orders"} {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(name)
		sp.SetTraceID(pcommon.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, byte(i + 1)})
		if i == 1 {
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
			sp.SetKind(ptrace.SpanKindClient)
		} else {
			sp.SetKind(ptrace.SpanKindServer)
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(12 * time.Millisecond)))
		sp.Attributes().PutStr("http.route", "/orders")
		ev := sp.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.message", "boom")
	}
	return td
}

func testMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	sum := ms.AppendEmpty()
	sum.SetName("faas.invocations")
	s := sum.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := s.DataPoints().AppendEmpty()
	dp.SetIntValue(3)
	dp.Attributes().PutStr("faas.trigger", "http")
	h := ms.AppendEmpty()
	h.SetName("faas.duration")
	hdp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	hdp.SetCount(2)
	hdp.SetSum(4.5)
	hdp.ExplicitBounds().FromRaw([]float64{1, 10})
	hdp.BucketCounts().FromRaw([]uint64{0, 2, 0})
	g := ms.AppendEmpty()
	g.SetName("faas.mem_usage")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1.5)
	return md
}

func testLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetSeverityText("ERROR")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("payment declined")
	lr.Attributes().PutInt("order.id", 42)
	return ld
}

func TestVerbosities(t *testing.T) {
	tests := []struct {
		verbosity Verbosity
		signal    pipeline.Signal
		wantLines int      // 0: do not check
		want      []string // substrings of the output
	}{
		{"", pipeline.Traces, 1, []string{"debug: 2 spans\n"}},
		{Basic, pipeline.Metrics, 1, []string{"debug: 3 data points in 3 metrics\n"}},
		{Basic, pipeline.Logs, 1, []string{"debug: 1 log record\n"}},
		{Normal, pipeline.Traces, 3, []string{
			`span "GET /orders" trace=ab0102030405060708090a0b0c0d0e0f span=0000000000000001 parent= kind=Server status=Unset duration=12ms service=checkout {http.route=/orders}`,
			`span "SELECT orders"`, "parent=0000000000000001 kind=Client"}},
		{Normal, pipeline.Metrics, 4, []string{
			"metric faas.invocations sum value=3 service=checkout {faas.trigger=http}",
			"metric faas.duration histogram count=2 sum=4.5",
			"metric faas.mem_usage gauge value=1.5"}},
		{Normal, pipeline.Logs, 2, []string{`log ERROR "payment declined" trace= span= service=checkout {order.id=42}`}},
		{Detailed, pipeline.Traces, 0, []string{
			"ResourceSpans #0", "     -> service.name: Str(checkout)", "InstrumentationScope lambdaotel",
			"Span #1", "    Parent ID      : 0000000000000001", "    Name           : SELECT orders", "    Kind           : Client",
			"     -> http.route: Str(/orders)", "SpanEvent #0", "     -> Name: exception", "          -> exception.message: Str(boom)"}},
		{Detailed, pipeline.Metrics, 0, []string{
			"     -> Name: faas.invocations", "     -> IsMonotonic: true", "     -> AggregationTemporality: Delta",
			"NumberDataPoints #0", "     -> faas.trigger: Str(http)", "Value: 3",
			"HistogramDataPoints #0", "Count: 2", "Sum: 4.5", "ExplicitBounds #1: 10", "Buckets #1, Count: 2", "Value: 1.5"}},
		{Detailed, pipeline.Logs, 0, []string{
			"LogRecord #0", "SeverityText: ERROR", "SeverityNumber: Error(17)", "Body: Str(payment declined)", "     -> order.id: Int(42)"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.verbosity)+"/"+string(tt.signal), func(t *testing.T) {
			var buf bytes.Buffer
			e, err := New("debug", &buf, tt.verbosity)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			switch tt.signal {
			case pipeline.Traces:
				err = e.ExportTraces(ctx, testTraces())
			case pipeline.Metrics:
				err = e.ExportMetrics(ctx, testMetrics())
			case pipeline.Logs:
				err = e.ExportLogs(ctx, testLogs())
			}
			if err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if n := strings.Count(out, "\n"); tt.wantLines != 0 && n != tt.wantLines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.wantLines, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// countingWriter counts Write calls and can fail them.
type countingWriter struct {
	writes int
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func TestOneWritePerExport(t *testing.T) {
	w := &countingWriter{}
	e, err := New("debug/all", w, Detailed)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.ExportTraces(ctx, testTraces())
	e.ExportMetrics(ctx, testMetrics())
	e.ExportLogs(ctx, testLogs())
	if w.writes != 3 {
		t.Errorf("%d writes for 3 exports, want 3", w.writes)
	}

	w.err = errors.New("disk full")
	err = e.ExportLogs(ctx, testLogs())
	var xerr *pipeline.ExportError
	if !errors.As(err, &xerr) || xerr.Retryable || !strings.Contains(err.Error(), "debug/all") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v, want a permanent ExportError naming debug/all and the cause", err)
	}
}

func TestBadVerbosity(t *testing.T) {
	_, err := New("debug", &bytes.Buffer{}, "verbose")
	if err == nil || !strings.Contains(err.Error(), `verbosity "verbose"`) || !strings.Contains(err.Error(), "basic, normal or detailed") {
		t.Errorf("New error %v, want one naming the verbosity and the choices", err)
	}
}
