package buffer

import (
	"math/bits"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SplitTraces cuts td into requests whose OTLP protobuf encoding is at most
// maxBytes long, keeping the resource and scope grouping: resources go
// whole into a request while they fit; a resource too big for one request
// is cut between its scopes, and a scope too big between its spans, each
// piece under a copy of its resource and scope. Requests are filled in
// order, so spans keep their order. A single span larger than maxBytes is
// sent alone, in a request over the limit.
//
// If td fits, or maxBytes <= 0, SplitTraces returns td itself. Otherwise it
// moves the data out of td, which is left empty (unless td is read-only:
// then it is copied).
func SplitTraces(td ptrace.Traces, maxBytes int) []ptrace.Traces {
	var m ptrace.ProtoMarshaler
	if maxBytes <= 0 || m.TracesSize(td) <= maxBytes {
		return []ptrace.Traces{td}
	}
	if td.IsReadOnly() {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		td = c
	}
	s := &tracesSplitter{cur: ptrace.NewTraces()}
	s.p = packer{max: maxBytes, emit: s.emit}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		n := m.ResourceSpansSize(rs)
		if s.p.room(n) {
			rs.MoveTo(s.cur.ResourceSpans().AppendEmpty())
			s.p.add(n)
			continue
		}
		// Too big for any request: cut between its scopes.
		s.rs, s.haveRS = rs, false
		sss := rs.ScopeSpans()
		scopeSizes, body := make([]int, sss.Len()), 0
		for j := range scopeSizes {
			scopeSizes[j] = m.ScopeSpansSize(sss.At(j))
			body += field(scopeSizes[j])
		}
		s.p.open(n - body)
		for j, n := range scopeSizes {
			ss := sss.At(j)
			if s.p.room(n) {
				ss.MoveTo(s.destRS().ScopeSpans().AppendEmpty())
				s.p.add(n)
				continue
			}
			// Too big for any request: cut between its spans.
			s.ss, s.haveSS = ss, false
			spans := ss.Spans()
			spanSizes, body := make([]int, spans.Len()), 0
			for k := range spanSizes {
				spanSizes[k] = m.SpanSize(spans.At(k))
				body += field(spanSizes[k])
			}
			s.p.open(n - body)
			for k, n := range spanSizes {
				s.p.roomOrAlone(n)
				spans.At(k).MoveTo(s.destSS().Spans().AppendEmpty())
				s.p.add(n)
			}
			s.p.close()
			s.haveSS = false
		}
		s.p.close()
		s.haveRS = false
	}
	s.p.next()
	rss.RemoveIf(func(ptrace.ResourceSpans) bool { return true }) // moved-out husks
	return s.out
}

// tracesSplitter holds SplitTraces' state: the request being filled, and
// the resource and scope being cut, with their copies in that request (made
// when the first entry goes into them).
type tracesSplitter struct {
	p              packer
	out            []ptrace.Traces
	cur            ptrace.Traces
	rs             ptrace.ResourceSpans
	ss             ptrace.ScopeSpans
	dstRS          ptrace.ResourceSpans
	dstSS          ptrace.ScopeSpans
	haveRS, haveSS bool
}

func (s *tracesSplitter) emit() {
	s.out = append(s.out, s.cur)
	s.cur = ptrace.NewTraces()
	s.haveRS, s.haveSS = false, false
}

func (s *tracesSplitter) destRS() ptrace.ResourceSpans {
	if !s.haveRS {
		s.dstRS = s.cur.ResourceSpans().AppendEmpty()
		s.rs.Resource().CopyTo(s.dstRS.Resource())
		s.dstRS.SetSchemaUrl(s.rs.SchemaUrl())
		s.haveRS = true
	}
	return s.dstRS
}

func (s *tracesSplitter) destSS() ptrace.ScopeSpans {
	if !s.haveSS {
		s.dstSS = s.destRS().ScopeSpans().AppendEmpty()
		s.ss.Scope().CopyTo(s.dstSS.Scope())
		s.dstSS.SetSchemaUrl(s.ss.SchemaUrl())
		s.haveSS = true
	}
	return s.dstSS
}

// SplitLogs is SplitTraces for logs: it cuts between resources, then
// scopes, then log records.
func SplitLogs(ld plog.Logs, maxBytes int) []plog.Logs {
	var m plog.ProtoMarshaler
	if maxBytes <= 0 || m.LogsSize(ld) <= maxBytes {
		return []plog.Logs{ld}
	}
	if ld.IsReadOnly() {
		c := plog.NewLogs()
		ld.CopyTo(c)
		ld = c
	}
	s := &logsSplitter{cur: plog.NewLogs()}
	s.p = packer{max: maxBytes, emit: s.emit}
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		n := m.ResourceLogsSize(rl)
		if s.p.room(n) {
			rl.MoveTo(s.cur.ResourceLogs().AppendEmpty())
			s.p.add(n)
			continue
		}
		s.rl, s.haveRL = rl, false
		sls := rl.ScopeLogs()
		scopeSizes, body := make([]int, sls.Len()), 0
		for j := range scopeSizes {
			scopeSizes[j] = m.ScopeLogsSize(sls.At(j))
			body += field(scopeSizes[j])
		}
		s.p.open(n - body)
		for j, n := range scopeSizes {
			sl := sls.At(j)
			if s.p.room(n) {
				sl.MoveTo(s.destRL().ScopeLogs().AppendEmpty())
				s.p.add(n)
				continue
			}
			s.sl, s.haveSL = sl, false
			records := sl.LogRecords()
			recordSizes, body := make([]int, records.Len()), 0
			for k := range recordSizes {
				recordSizes[k] = m.LogRecordSize(records.At(k))
				body += field(recordSizes[k])
			}
			s.p.open(n - body)
			for k, n := range recordSizes {
				s.p.roomOrAlone(n)
				records.At(k).MoveTo(s.destSL().LogRecords().AppendEmpty())
				s.p.add(n)
			}
			s.p.close()
			s.haveSL = false
		}
		s.p.close()
		s.haveRL = false
	}
	s.p.next()
	rls.RemoveIf(func(plog.ResourceLogs) bool { return true })
	return s.out
}

type logsSplitter struct {
	p              packer
	out            []plog.Logs
	cur            plog.Logs
	rl             plog.ResourceLogs
	sl             plog.ScopeLogs
	dstRL          plog.ResourceLogs
	dstSL          plog.ScopeLogs
	haveRL, haveSL bool
}

func (s *logsSplitter) emit() {
	s.out = append(s.out, s.cur)
	s.cur = plog.NewLogs()
	s.haveRL, s.haveSL = false, false
}

func (s *logsSplitter) destRL() plog.ResourceLogs {
	if !s.haveRL {
		s.dstRL = s.cur.ResourceLogs().AppendEmpty()
		s.rl.Resource().CopyTo(s.dstRL.Resource())
		s.dstRL.SetSchemaUrl(s.rl.SchemaUrl())
		s.haveRL = true
	}
	return s.dstRL
}

func (s *logsSplitter) destSL() plog.ScopeLogs {
	if !s.haveSL {
		s.dstSL = s.destRL().ScopeLogs().AppendEmpty()
		s.sl.Scope().CopyTo(s.dstSL.Scope())
		s.dstSL.SetSchemaUrl(s.sl.SchemaUrl())
		s.haveSL = true
	}
	return s.dstSL
}

// SplitMetrics is SplitTraces for metrics: it cuts between resources, then
// scopes, then metrics, and a metric too big for one request between its
// data points, each piece a copy of the metric (name, description, unit,
// metadata, type, temporality) with some of its points.
func SplitMetrics(md pmetric.Metrics, maxBytes int) []pmetric.Metrics {
	var m pmetric.ProtoMarshaler
	if maxBytes <= 0 || m.MetricsSize(md) <= maxBytes {
		return []pmetric.Metrics{md}
	}
	if md.IsReadOnly() {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		md = c
	}
	s := &metricsSplitter{cur: pmetric.NewMetrics()}
	s.p = packer{max: maxBytes, emit: s.emit}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		n := m.ResourceMetricsSize(rm)
		if s.p.room(n) {
			rm.MoveTo(s.cur.ResourceMetrics().AppendEmpty())
			s.p.add(n)
			continue
		}
		s.rm, s.haveRM = rm, false
		sms := rm.ScopeMetrics()
		scopeSizes, body := make([]int, sms.Len()), 0
		for j := range scopeSizes {
			scopeSizes[j] = m.ScopeMetricsSize(sms.At(j))
			body += field(scopeSizes[j])
		}
		s.p.open(n - body)
		for j, n := range scopeSizes {
			sm := sms.At(j)
			if s.p.room(n) {
				sm.MoveTo(s.destRM().ScopeMetrics().AppendEmpty())
				s.p.add(n)
				continue
			}
			s.sm, s.haveSM = sm, false
			metrics := sm.Metrics()
			metricSizes, body := make([]int, metrics.Len()), 0
			for k := range metricSizes {
				metricSizes[k] = m.MetricSize(metrics.At(k))
				body += field(metricSizes[k])
			}
			s.p.open(n - body)
			for k, n := range metricSizes {
				mt := metrics.At(k)
				if s.p.room(n) {
					mt.MoveTo(s.destSM().Metrics().AppendEmpty())
					s.p.add(n)
					continue
				}
				s.splitMetric(&m, mt, n)
			}
			s.p.close()
			s.haveSM = false
		}
		s.p.close()
		s.haveRM = false
	}
	s.p.next()
	rms.RemoveIf(func(pmetric.ResourceMetrics) bool { return true })
	return s.out
}

type metricsSplitter struct {
	p                      packer
	out                    []pmetric.Metrics
	cur                    pmetric.Metrics
	rm                     pmetric.ResourceMetrics
	sm                     pmetric.ScopeMetrics
	mt                     pmetric.Metric
	dstRM                  pmetric.ResourceMetrics
	dstSM                  pmetric.ScopeMetrics
	dstMT                  pmetric.Metric
	haveRM, haveSM, haveMT bool
}

func (s *metricsSplitter) emit() {
	s.out = append(s.out, s.cur)
	s.cur = pmetric.NewMetrics()
	s.haveRM, s.haveSM, s.haveMT = false, false, false
}

func (s *metricsSplitter) destRM() pmetric.ResourceMetrics {
	if !s.haveRM {
		s.dstRM = s.cur.ResourceMetrics().AppendEmpty()
		s.rm.Resource().CopyTo(s.dstRM.Resource())
		s.dstRM.SetSchemaUrl(s.rm.SchemaUrl())
		s.haveRM = true
	}
	return s.dstRM
}

func (s *metricsSplitter) destSM() pmetric.ScopeMetrics {
	if !s.haveSM {
		s.dstSM = s.destRM().ScopeMetrics().AppendEmpty()
		s.sm.Scope().CopyTo(s.dstSM.Scope())
		s.dstSM.SetSchemaUrl(s.sm.SchemaUrl())
		s.haveSM = true
	}
	return s.dstSM
}

func (s *metricsSplitter) destMT() pmetric.Metric {
	if !s.haveMT {
		s.dstMT = s.destSM().Metrics().AppendEmpty()
		copyMetricHeader(s.mt, s.dstMT)
		s.haveMT = true
	}
	return s.dstMT
}

// splitMetric places mt, of size n and too big for one request, cut
// between its data points.
func (s *metricsSplitter) splitMetric(m *pmetric.ProtoMarshaler, mt pmetric.Metric, n int) {
	s.mt, s.haveMT = mt, false
	switch mt.Type() {
	case pmetric.MetricTypeGauge:
		splitPoints(s, n, mt.Gauge().DataPoints(), m.NumberDataPointSize,
			func(d pmetric.Metric) pmetric.NumberDataPointSlice { return d.Gauge().DataPoints() })
	case pmetric.MetricTypeSum:
		splitPoints(s, n, mt.Sum().DataPoints(), m.NumberDataPointSize,
			func(d pmetric.Metric) pmetric.NumberDataPointSlice { return d.Sum().DataPoints() })
	case pmetric.MetricTypeHistogram:
		splitPoints(s, n, mt.Histogram().DataPoints(), m.HistogramDataPointSize,
			func(d pmetric.Metric) pmetric.HistogramDataPointSlice { return d.Histogram().DataPoints() })
	case pmetric.MetricTypeExponentialHistogram:
		splitPoints(s, n, mt.ExponentialHistogram().DataPoints(), m.ExponentialHistogramDataPointSize,
			func(d pmetric.Metric) pmetric.ExponentialHistogramDataPointSlice {
				return d.ExponentialHistogram().DataPoints()
			})
	case pmetric.MetricTypeSummary:
		splitPoints(s, n, mt.Summary().DataPoints(), m.SummaryDataPointSize,
			func(d pmetric.Metric) pmetric.SummaryDataPointSlice { return d.Summary().DataPoints() })
	default: // no data points to cut between: alone, over the limit
		s.p.roomOrAlone(n)
		mt.MoveTo(s.destSM().Metrics().AppendEmpty())
		s.p.add(n)
	}
	s.haveMT = false
}

// dataPoint and dataPoints are what splitPoints needs of the data point
// types of pmetric and of their slices.
type dataPoint[P any] interface{ MoveTo(dest P) }

type dataPoints[P any] interface {
	Len() int
	At(i int) P
	AppendEmpty() P
}

// splitPoints places the points of s.mt, a metric of size n, each into the
// request being filled or a new one, in a copy of the metric.
func splitPoints[P dataPoint[P], S dataPoints[P]](s *metricsSplitter, n int, points S, size func(P) int, dst func(pmetric.Metric) S) {
	pointSizes, body := make([]int, points.Len()), 0
	for i := range pointSizes {
		pointSizes[i] = size(points.At(i))
		body += field(pointSizes[i])
	}
	// The header counts the data container's length prefix at its full
	// size: a little more than a piece needs, never less.
	s.p.open(n - body)
	for i, n := range pointSizes {
		s.p.roomOrAlone(n)
		points.At(i).MoveTo(dst(s.destMT()).AppendEmpty())
		s.p.add(n)
	}
	s.p.close()
}

// copyMetricHeader copies everything of src but its data points to dst.
func copyMetricHeader(src, dst pmetric.Metric) {
	dst.SetName(src.Name())
	dst.SetDescription(src.Description())
	dst.SetUnit(src.Unit())
	src.Metadata().CopyTo(dst.Metadata())
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		dst.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		d := dst.SetEmptySum()
		d.SetAggregationTemporality(src.Sum().AggregationTemporality())
		d.SetIsMonotonic(src.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		dst.SetEmptyHistogram().SetAggregationTemporality(src.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		dst.SetEmptyExponentialHistogram().SetAggregationTemporality(src.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		dst.SetEmptySummary()
	}
}

// packer keeps the encoded size of the request being filled: the entries
// complete at its top level, plus one path of open messages (a resource,
// scope or metric being cut) whose headers are repeated in each request.
type packer struct {
	max    int
	base   int     // the complete top-level entries
	levels []level // the open messages, outermost first
	items  int     // entries placed in the current request
	emit   func()  // hands the current request over and starts another
}

// level is an open message: its own fields, and the entries placed in it
// in the current request.
type level struct{ header, body int }

// field returns the encoded size of a message field whose content is n
// bytes long: every OTLP field the packer counts has a one-byte tag.
func field(n int) int { return 1 + (bits.Len64(uint64(n)|1)+6)/7 + n }

// size returns the size of the current request with an entry of n bytes
// added at the innermost level; alone, the size of a new request holding
// only that entry and the open headers.
func (p *packer) size(n int, alone bool) int {
	s := field(n)
	for i := len(p.levels) - 1; i >= 0; i-- {
		l := p.levels[i]
		if alone {
			l.body = 0
		}
		s = field(l.header + l.body + s)
	}
	if alone {
		return s
	}
	return p.base + s
}

// room reports whether an entry of n bytes can go whole into a request,
// starting a new request if the current one is too full. If it returns
// false, the entry is too big for any request and must be cut.
func (p *packer) room(n int) bool {
	if p.size(n, false) <= p.max {
		return true
	}
	if p.size(n, true) <= p.max {
		p.next()
		return true
	}
	return false
}

// roomOrAlone makes room for an entry that cannot be cut: if it does not
// fit in any request, it goes alone into a new one.
func (p *packer) roomOrAlone(n int) {
	if !p.room(n) && p.items > 0 {
		p.next()
	}
}

// add accounts for an entry of n bytes placed at the innermost level.
func (p *packer) add(n int) {
	if len(p.levels) == 0 {
		p.base += field(n)
	} else {
		p.levels[len(p.levels)-1].body += field(n)
	}
	p.items++
}

// open starts cutting a message whose own fields take header bytes.
func (p *packer) open(header int) { p.levels = append(p.levels, level{header: header}) }

// close ends the innermost open message, adding its part in the current
// request, if any, to its parent.
func (p *packer) close() {
	l := p.levels[len(p.levels)-1]
	p.levels = p.levels[:len(p.levels)-1]
	if l.body == 0 {
		return
	}
	if len(p.levels) == 0 {
		p.base += field(l.header + l.body)
	} else {
		p.levels[len(p.levels)-1].body += field(l.header + l.body)
	}
}

// next hands the current request over, if it holds anything, and starts an
// empty one; the open messages stay open, to be copied into it.
func (p *packer) next() {
	if p.items > 0 {
		p.emit()
	}
	p.base, p.items = 0, 0
	for i := range p.levels {
		p.levels[i].body = 0
	}
}
