// Package debugexporter writes the telemetry it exports as text, to see what
// a pipeline carries. The extension writes it to stderr.
//
// At verbosity Basic it writes one line per export:
//
//	debug: 12 spans
//
// At Normal, one more line per span, data point or log record, with its
// name, ids and attributes. At Detailed, every field, laid out as the
// OpenTelemetry Collector's debug exporter does.
package debugexporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Verbosity says how much an Exporter writes.
type Verbosity string

// The verbosities, as in the collector's configuration.
const (
	Basic    Verbosity = "basic"
	Normal   Verbosity = "normal"
	Detailed Verbosity = "detailed"
)

// Exporter writes telemetry as text. Its methods may be called from several
// goroutines at once; each export is written with a single Write.
type Exporter struct {
	name      string
	verbosity Verbosity
	mu        sync.Mutex
	w         io.Writer
}

var _ pipeline.Exporter = (*Exporter)(nil)

// New returns an exporter named name that writes to w at verbosity v
// ("" means Basic).
func New(name string, w io.Writer, v Verbosity) (*Exporter, error) {
	switch v {
	case "":
		v = Basic
	case Basic, Normal, Detailed:
	default:
		return nil, fmt.Errorf("exporter %s: verbosity %q is not supported: use basic, normal or detailed", name, v)
	}
	return &Exporter{name: name, verbosity: v, w: w}, nil
}

// Name returns the exporter's name.
func (e *Exporter) Name() string { return e.name }

// Shutdown does nothing: the writer belongs to the caller.
func (e *Exporter) Shutdown(context.Context) error { return nil }

// ExportTraces writes td.
func (e *Exporter) ExportTraces(_ context.Context, td ptrace.Traces) error {
	p := e.printer(plural(td.SpanCount(), "span"))
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len() && e.verbosity != Basic; i++ {
		rs := rss.At(i)
		p.resource("ResourceSpans", i, rs.SchemaUrl(), rs.Resource())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			p.scope("ScopeSpans", j, ss.SchemaUrl(), ss.Scope())
			for k := 0; k < ss.Spans().Len(); k++ {
				p.span(k, ss.Spans().At(k), rs.Resource())
			}
		}
	}
	return e.write(pipeline.Traces, p)
}

// ExportMetrics writes md.
func (e *Exporter) ExportMetrics(_ context.Context, md pmetric.Metrics) error {
	p := e.printer(plural(md.DataPointCount(), "data point") + " in " + plural(md.MetricCount(), "metric"))
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len() && e.verbosity != Basic; i++ {
		rm := rms.At(i)
		p.resource("ResourceMetrics", i, rm.SchemaUrl(), rm.Resource())
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			p.scope("ScopeMetrics", j, sm.SchemaUrl(), sm.Scope())
			for k := 0; k < sm.Metrics().Len(); k++ {
				p.metric(k, sm.Metrics().At(k), rm.Resource())
			}
		}
	}
	return e.write(pipeline.Metrics, p)
}

// ExportLogs writes ld.
func (e *Exporter) ExportLogs(_ context.Context, ld plog.Logs) error {
	p := e.printer(plural(ld.LogRecordCount(), "log record"))
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len() && e.verbosity != Basic; i++ {
		rl := rls.At(i)
		p.resource("ResourceLogs", i, rl.SchemaUrl(), rl.Resource())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			p.scope("ScopeLogs", j, sl.SchemaUrl(), sl.Scope())
			for k := 0; k < sl.LogRecords().Len(); k++ {
				p.log(k, sl.LogRecords().At(k), rl.Resource())
			}
		}
	}
	return e.write(pipeline.Logs, p)
}

func (e *Exporter) printer(summary string) *printer {
	p := &printer{detailed: e.verbosity == Detailed}
	fmt.Fprintf(&p.buf, "%s: %s\n", e.name, summary)
	return p
}

func (e *Exporter) write(sig pipeline.Signal, p *printer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(p.buf.Bytes()); err != nil {
		return &pipeline.ExportError{Exporter: e.name, Signal: sig, Err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

func plural(n int, unit string) string {
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}

// printer lays out one export at Normal or Detailed verbosity.
type printer struct {
	buf      bytes.Buffer
	detailed bool
}

func (p *printer) f(format string, args ...any) { fmt.Fprintf(&p.buf, format, args...) }

// attrs writes m as "     -> key: Type(value)" lines under title.
func (p *printer) attrs(title string, m pcommon.Map, indent string) {
	if m.Len() == 0 {
		return
	}
	p.f("%s%s:\n", indent, title)
	m.Range(func(k string, v pcommon.Value) bool {
		if r, ok := redacted(k, v); ok {
			p.f("%s     -> %s: Str(%s)\n", indent, k, r)
			return true
		}
		p.f("%s     -> %s: %s\n", indent, k, value(v))
		return true
	})
}

// secretKeys are parts of attribute keys whose values are secrets.
var secretKeys = []string{"authorization", "cookie", "password", "passwd", "secret", "token", "api-key", "api_key", "apikey"}

// redacted returns the string attribute k=v as the output shows it if it
// holds a secret: a URL with user information or a query, or the value of
// a key such as http.request.header.authorization.
func redacted(k string, v pcommon.Value) (string, bool) {
	if v.Type() != pcommon.ValueTypeStr {
		return "", false
	}
	lk := strings.ToLower(k)
	for _, s := range secretKeys {
		if strings.Contains(lk, s) {
			return pipeline.Redacted, true
		}
	}
	if s := v.Str(); strings.Contains(s, "://") && strings.ContainsAny(s, "@?") {
		return pipeline.RedactURL(s), true
	}
	return "", false
}

func (p *printer) resource(kind string, i int, schemaURL string, r pcommon.Resource) {
	if !p.detailed {
		return
	}
	p.f("%s #%d\nResource SchemaURL: %s\n", kind, i, schemaURL)
	p.attrs("Resource attributes", r.Attributes(), "")
}

func (p *printer) scope(kind string, i int, schemaURL string, s pcommon.InstrumentationScope) {
	if !p.detailed {
		return
	}
	p.f("%s #%d\n%s SchemaURL: %s\nInstrumentationScope %s\n", kind, i, kind, schemaURL, strings.TrimSpace(s.Name()+" "+s.Version()))
	p.attrs("InstrumentationScope attributes", s.Attributes(), "")
}

func (p *printer) span(i int, sp ptrace.Span, r pcommon.Resource) {
	if !p.detailed {
		p.f("  span %q trace=%s span=%s parent=%s kind=%s status=%s duration=%v%s%s\n",
			sp.Name(), sp.TraceID(), sp.SpanID(), sp.ParentSpanID(), sp.Kind(), sp.Status().Code(),
			sp.EndTimestamp().AsTime().Sub(sp.StartTimestamp().AsTime()), service(r), inline(sp.Attributes()))
		return
	}
	p.f("Span #%d\n", i)
	p.f("    Trace ID       : %s\n    Parent ID      : %s\n    ID             : %s\n", sp.TraceID(), sp.ParentSpanID(), sp.SpanID())
	p.f("    Name           : %s\n    Kind           : %s\n", sp.Name(), sp.Kind())
	p.f("    Start time     : %s\n    End time       : %s\n", sp.StartTimestamp(), sp.EndTimestamp())
	p.f("    Status code    : %s\n    Status message : %s\n", sp.Status().Code(), sp.Status().Message())
	if ts := sp.TraceState().AsRaw(); ts != "" {
		p.f("    TraceState     : %s\n", ts)
	}
	if sp.Flags() != 0 {
		p.f("    Flags          : %d\n", sp.Flags())
	}
	p.attrs("Attributes", sp.Attributes(), "")
	for j := 0; j < sp.Events().Len(); j++ {
		ev := sp.Events().At(j)
		if j == 0 {
			p.f("Events:\n")
		}
		p.f("SpanEvent #%d\n     -> Name: %s\n     -> Timestamp: %s\n     -> DroppedAttributesCount: %d\n",
			j, ev.Name(), ev.Timestamp(), ev.DroppedAttributesCount())
		p.attrs("-> Attributes:", ev.Attributes(), "     ")
	}
	for j := 0; j < sp.Links().Len(); j++ {
		l := sp.Links().At(j)
		if j == 0 {
			p.f("Links:\n")
		}
		p.f("SpanLink #%d\n     -> Trace ID: %s\n     -> ID: %s\n     -> TraceState: %s\n     -> DroppedAttributesCount: %d\n",
			j, l.TraceID(), l.SpanID(), l.TraceState().AsRaw(), l.DroppedAttributesCount())
		p.attrs("-> Attributes:", l.Attributes(), "     ")
	}
	if n := sp.DroppedAttributesCount() + sp.DroppedEventsCount() + sp.DroppedLinksCount(); n > 0 {
		p.f("Dropped: %d attributes, %d events, %d links\n", sp.DroppedAttributesCount(), sp.DroppedEventsCount(), sp.DroppedLinksCount())
	}
}

func (p *printer) log(i int, lr plog.LogRecord, r pcommon.Resource) {
	if !p.detailed {
		name := lr.EventName()
		if name == "" {
			name = lr.Body().AsString()
		}
		severity := lr.SeverityText()
		if severity == "" {
			severity = lr.SeverityNumber().String()
		}
		p.f("  log %s %q trace=%s span=%s%s%s\n", severity, name, lr.TraceID(), lr.SpanID(), service(r), inline(lr.Attributes()))
		return
	}
	p.f("LogRecord #%d\nObservedTimestamp: %s\nTimestamp: %s\n", i, lr.ObservedTimestamp(), lr.Timestamp())
	p.f("SeverityText: %s\nSeverityNumber: %s(%d)\n", lr.SeverityText(), lr.SeverityNumber(), lr.SeverityNumber())
	if lr.EventName() != "" {
		p.f("EventName: %s\n", lr.EventName())
	}
	p.f("Body: %s\n", value(lr.Body()))
	p.attrs("Attributes", lr.Attributes(), "")
	p.f("Trace ID: %s\nSpan ID: %s\nFlags: %d\n", lr.TraceID(), lr.SpanID(), lr.Flags())
	if lr.DroppedAttributesCount() > 0 {
		p.f("DroppedAttributesCount: %d\n", lr.DroppedAttributesCount())
	}
}

func (p *printer) metric(i int, m pmetric.Metric, r pcommon.Resource) {
	if p.detailed {
		p.f("Metric #%d\nDescriptor:\n     -> Name: %s\n     -> Description: %s\n     -> Unit: %s\n     -> DataType: %s\n",
			i, m.Name(), m.Description(), m.Unit(), m.Type())
		switch m.Type() {
		case pmetric.MetricTypeSum:
			p.f("     -> IsMonotonic: %t\n     -> AggregationTemporality: %s\n", m.Sum().IsMonotonic(), m.Sum().AggregationTemporality())
		case pmetric.MetricTypeHistogram:
			p.f("     -> AggregationTemporality: %s\n", m.Histogram().AggregationTemporality())
		case pmetric.MetricTypeExponentialHistogram:
			p.f("     -> AggregationTemporality: %s\n", m.ExponentialHistogram().AggregationTemporality())
		}
		p.attrs("Metadata", m.Metadata(), "")
	}
	// point writes the line (Normal) or the header (Detailed) of a point;
	// summary is its value in short, e.g. "value=3" or "count=2 sum=4.5".
	point := func(kind string, j int, attrs pcommon.Map, start, ts pcommon.Timestamp, summary string) {
		if !p.detailed {
			p.f("  metric %s %s %s%s%s\n", m.Name(), strings.ToLower(m.Type().String()), summary, service(r), inline(attrs))
			return
		}
		p.f("%s #%d\n", kind, j)
		p.attrs("Data point attributes", attrs, "")
		p.f("StartTimestamp: %s\nTimestamp: %s\n", start, ts)
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var dps pmetric.NumberDataPointSlice
		if m.Type() == pmetric.MetricTypeSum {
			dps = m.Sum().DataPoints()
		} else {
			dps = m.Gauge().DataPoints()
		}
		for j := 0; j < dps.Len(); j++ {
			dp := dps.At(j)
			v := strconv.FormatFloat(dp.DoubleValue(), 'g', -1, 64)
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				v = strconv.FormatInt(dp.IntValue(), 10)
			}
			point("NumberDataPoints", j, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), "value="+v)
			if p.detailed {
				p.f("Value: %s\n", v)
				p.exemplars(dp.Exemplars())
			}
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			dp := dps.At(j)
			point("HistogramDataPoints", j, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(),
				fmt.Sprintf("count=%d sum=%g", dp.Count(), dp.Sum()))
			if p.detailed {
				p.f("Count: %d\nSum: %g\n", dp.Count(), dp.Sum())
				p.minMax(dp.HasMin(), dp.Min(), dp.HasMax(), dp.Max())
				for b := 0; b < dp.ExplicitBounds().Len(); b++ {
					p.f("ExplicitBounds #%d: %g\n", b, dp.ExplicitBounds().At(b))
				}
				for b := 0; b < dp.BucketCounts().Len(); b++ {
					p.f("Buckets #%d, Count: %d\n", b, dp.BucketCounts().At(b))
				}
				p.exemplars(dp.Exemplars())
			}
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			dp := dps.At(j)
			point("ExponentialHistogramDataPoints", j, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(),
				fmt.Sprintf("count=%d sum=%g", dp.Count(), dp.Sum()))
			if p.detailed {
				p.f("Count: %d\nSum: %g\n", dp.Count(), dp.Sum())
				p.minMax(dp.HasMin(), dp.Min(), dp.HasMax(), dp.Max())
				p.f("Scale: %d\nZeroCount: %d\n", dp.Scale(), dp.ZeroCount())
				p.f("Positive: offset %d, buckets %v\n", dp.Positive().Offset(), dp.Positive().BucketCounts().AsRaw())
				p.f("Negative: offset %d, buckets %v\n", dp.Negative().Offset(), dp.Negative().BucketCounts().AsRaw())
				p.exemplars(dp.Exemplars())
			}
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			dp := dps.At(j)
			point("SummaryDataPoints", j, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(),
				fmt.Sprintf("count=%d sum=%g", dp.Count(), dp.Sum()))
			if p.detailed {
				p.f("Count: %d\nSum: %g\n", dp.Count(), dp.Sum())
				for q := 0; q < dp.QuantileValues().Len(); q++ {
					qv := dp.QuantileValues().At(q)
					p.f("QuantileValue #%d: Quantile %g, Value %g\n", q, qv.Quantile(), qv.Value())
				}
			}
		}
	}
}

func (p *printer) minMax(hasMin bool, min float64, hasMax bool, max float64) {
	if hasMin {
		p.f("Min: %g\n", min)
	}
	if hasMax {
		p.f("Max: %g\n", max)
	}
}

func (p *printer) exemplars(es pmetric.ExemplarSlice) {
	for i := 0; i < es.Len(); i++ {
		ex := es.At(i)
		if i == 0 {
			p.f("Exemplars:\n")
		}
		v := strconv.FormatFloat(ex.DoubleValue(), 'g', -1, 64)
		if ex.ValueType() == pmetric.ExemplarValueTypeInt {
			v = strconv.FormatInt(ex.IntValue(), 10)
		}
		p.f("Exemplar #%d\n     -> Trace ID: %s\n     -> Span ID: %s\n     -> Timestamp: %s\n     -> Value: %s\n",
			i, ex.TraceID(), ex.SpanID(), ex.Timestamp(), v)
		p.attrs("-> FilteredAttributes", ex.FilteredAttributes(), "     ")
	}
}

// value formats v as the collector does: Str(text), Int(3), Map({...}).
func value(v pcommon.Value) string {
	return v.Type().String() + "(" + v.AsString() + ")"
}

// service returns " service=NAME" for a resource with a service.name.
func service(r pcommon.Resource) string {
	if v, ok := r.Attributes().Get("service.name"); ok {
		return " service=" + v.AsString()
	}
	return ""
}

// inline formats attributes on one line: " {k=v k2=v2}".
func inline(m pcommon.Map) string {
	if m.Len() == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" {")
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(k)
		b.WriteByte('=')
		if r, ok := redacted(k, v); ok {
			b.WriteString(r)
		} else {
			b.WriteString(v.AsString())
		}
		return true
	})
	b.WriteByte('}')
	return b.String()
}
