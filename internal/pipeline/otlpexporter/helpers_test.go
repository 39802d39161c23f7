package otlpexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/sink"
)

// startSink starts a sink on free loopback ports, closed when the test ends.
func startSink(t *testing.T, respond func(sink.Request) sink.Fault) *sink.Sink {
	t.Helper()
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Respond: respond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testContext returns a context that ends with the test. Its deadline only
// keeps a broken test from hanging; no test asserts on time.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// httpURLs returns an HTTPConfig with the sink's three URLs.
func httpURLs(s *sink.Sink) HTTPConfig {
	base := "http://" + s.HTTPAddr()
	return HTTPConfig{TracesURL: base + "/v1/traces", MetricsURL: base + "/v1/metrics", LogsURL: base + "/v1/logs"}
}

// closedAddr returns a loopback address that nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// testTraces returns traces of res resources × scopes scopes × spans spans.
// Resource r has service.name "svc-r"; scope s of it is named "scope-r-s";
// span i of it is named "span-r-s-i" and has the attributes resource=r,
// scope=s (so a test can check it kept its resource and scope) and index=i.
func testTraces(res, scopes, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < res; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		rs.Resource().Attributes().PutStr("cloud.provider", "aws")
		for s := 0; s < scopes; s++ {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("scope-%d-%d", r, s))
			ss.Scope().SetVersion("1.2.3")
			for i := 0; i < spans; i++ {
				sp := ss.Spans().AppendEmpty()
				sp.SetName(fmt.Sprintf("span-%d-%d-%d", r, s, i))
				sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(r), byte(s)})
				sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, byte(r), byte(s), byte(i >> 8), byte(i)})
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i+1) * time.Millisecond)))
				sp.Attributes().PutInt("resource", int64(r))
				sp.Attributes().PutInt("scope", int64(s))
				sp.Attributes().PutInt("index", int64(i))
				sp.Attributes().PutStr("http.route", "/orders/{id}")
				ev := sp.Events().AppendEmpty()
				ev.SetName("exception")
				ev.Attributes().PutStr("exception.message", "boom")
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
	}
	return td
}

// testMetrics returns one resource with one scope holding a metric of each
// type, each with points data points carrying the attribute index.
func testMetrics(points int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc-metrics")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("meter")
	ts := pcommon.NewTimestampFromTime(t0)

	g := sm.Metrics().AppendEmpty()
	g.SetName("faas.mem_usage")
	g.SetUnit("By")
	g.Metadata().PutStr("origin", "test")
	sum := sm.Metrics().AppendEmpty()
	sum.SetName("faas.invocations")
	sum.SetDescription("invocations")
	s := sum.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	h := sm.Metrics().AppendEmpty()
	h.SetName("faas.duration")
	h.SetUnit("ms")
	h.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	eh := sm.Metrics().AppendEmpty()
	eh.SetName("faas.exp_duration")
	eh.SetEmptyExponentialHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sumy := sm.Metrics().AppendEmpty()
	sumy.SetName("faas.latency")
	sumy.SetEmptySummary()
	gauge := g.SetEmptyGauge()
	for i := 0; i < points; i++ {
		dp := gauge.DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetIntValue(int64(i))
		dp.Attributes().PutInt("index", int64(i))

		sdp := s.DataPoints().AppendEmpty()
		sdp.SetTimestamp(ts)
		sdp.SetDoubleValue(float64(i))
		sdp.Attributes().PutInt("index", int64(i))

		hdp := h.Histogram().DataPoints().AppendEmpty()
		hdp.SetTimestamp(ts)
		hdp.SetCount(3)
		hdp.SetSum(12.5)
		hdp.ExplicitBounds().FromRaw([]float64{1, 10})
		hdp.BucketCounts().FromRaw([]uint64{1, 1, 1})
		hdp.Attributes().PutInt("index", int64(i))

		edp := eh.ExponentialHistogram().DataPoints().AppendEmpty()
		edp.SetTimestamp(ts)
		edp.SetCount(2)
		edp.SetScale(2)
		edp.Positive().BucketCounts().FromRaw([]uint64{1, 1})
		edp.Attributes().PutInt("index", int64(i))

		qdp := sumy.Summary().DataPoints().AppendEmpty()
		qdp.SetTimestamp(ts)
		qdp.SetCount(4)
		qdp.SetSum(8)
		q := qdp.QuantileValues().AppendEmpty()
		q.SetQuantile(0.5)
		q.SetValue(2)
		qdp.Attributes().PutInt("index", int64(i))
	}
	return md
}

// testLogs returns one resource with one scope of n log records.
func testLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc-logs")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("logger")
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
		lr.Body().SetStr(fmt.Sprintf("log line %d", i))
		lr.Attributes().PutInt("index", int64(i))
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	}
	return ld
}

func tracesJSON(t *testing.T, td ptrace.Traces) string {
	t.Helper()
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func metricsJSON(t *testing.T, md pmetric.Metrics) string {
	t.Helper()
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func logsJSON(t *testing.T, ld plog.Logs) string {
	t.Helper()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exportError returns err as a *pipeline.ExportError, failing the test if it
// is not one.
func exportError(t *testing.T, err error) *pipeline.ExportError {
	t.Helper()
	var xerr *pipeline.ExportError
	if !errors.As(err, &xerr) {
		t.Fatalf("error %v (%T) is not a *pipeline.ExportError", err, err)
	}
	return xerr
}

// wantError checks err against the expected classification and that its
// message contains every string in contains.
func wantError(t *testing.T, err error, retryable bool, retryAfter time.Duration, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("export succeeded, want an error")
	}
	t.Log(err)
	xerr := exportError(t, err)
	if xerr.Retryable != retryable || xerr.RetryAfter != retryAfter {
		t.Errorf("Retryable %v, RetryAfter %v; want %v, %v (error: %v)", xerr.Retryable, xerr.RetryAfter, retryable, retryAfter, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not contain %q", err, c)
		}
	}
}
