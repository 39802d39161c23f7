package otlpexporter

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Splitting: a batch whose protobuf encoding is larger than max bytes is cut
// into parts of at most max bytes each (unless a single item is larger than
// max: it then goes alone in its part). Items keep their order and their
// resource and scope (and, for metrics, their metric); a resource or scope
// whose items do not fit in one part is repeated in the next.
//
// Sizes are computed, not measured by encoding: an item costs its encoded
// size plus its field tag and length prefix; a container (resource, scope,
// metric) costs its encoded size without its items, plus its tag and the
// longest possible length prefix. The sum is therefore never less than the
// size of the part once encoded. The input is never changed: parts hold
// copies.

// fieldSize is the encoded size of a length-delimited field whose content is
// n bytes and whose field number is below 16 (every field split uses).
func fieldSize(n int) int { return 1 + varintSize(uint64(n)) + n }

func varintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// containerSlack is what a container can grow by beyond its size without
// items, once items are added: the longest length prefix (5 bytes holds up
// to 4 GiB) minus the 1 byte already counted, plus its own tag and prefix.
const containerSlack = 1 + 5

func splitTraces(td ptrace.Traces, max int) []ptrace.Traces {
	var m ptrace.ProtoMarshaler
	if max <= 0 || m.TracesSize(td) <= max {
		return []ptrace.Traces{td}
	}
	var parts []ptrace.Traces
	var cur ptrace.Traces
	var curRS ptrace.ResourceSpans
	var curSS ptrace.ScopeSpans
	size, hasRS, hasSS := 0, false, false
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		rsOver := m.ResourceSpansSize(rs) + containerSlack
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			rsOver -= fieldSize(m.ScopeSpansSize(rs.ScopeSpans().At(j)))
		}
		hasRS = false
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			spans := ss.Spans()
			ssOver := m.ScopeSpansSize(ss) + containerSlack
			for k := 0; k < spans.Len(); k++ {
				ssOver -= fieldSize(m.SpanSize(spans.At(k)))
			}
			hasSS = false
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				need := fieldSize(m.SpanSize(sp))
				if !hasSS {
					need += ssOver
				}
				if !hasRS {
					need += rsOver
				}
				if len(parts) == 0 || (size > 0 && size+need > max) {
					cur = ptrace.NewTraces()
					parts = append(parts, cur)
					size, hasRS, hasSS = 0, false, false
					need = fieldSize(m.SpanSize(sp)) + ssOver + rsOver
				}
				if !hasRS {
					curRS = cur.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(curRS.Resource())
					curRS.SetSchemaUrl(rs.SchemaUrl())
					hasRS = true
				}
				if !hasSS {
					curSS = curRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(curSS.Scope())
					curSS.SetSchemaUrl(ss.SchemaUrl())
					hasSS = true
				}
				sp.CopyTo(curSS.Spans().AppendEmpty())
				size += need
			}
		}
	}
	return parts
}

func splitLogs(ld plog.Logs, max int) []plog.Logs {
	var m plog.ProtoMarshaler
	if max <= 0 || m.LogsSize(ld) <= max {
		return []plog.Logs{ld}
	}
	var parts []plog.Logs
	var cur plog.Logs
	var curRL plog.ResourceLogs
	var curSL plog.ScopeLogs
	size, hasRL, hasSL := 0, false, false
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		rlOver := m.ResourceLogsSize(rl) + containerSlack
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			rlOver -= fieldSize(m.ScopeLogsSize(rl.ScopeLogs().At(j)))
		}
		hasRL = false
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			recs := sl.LogRecords()
			slOver := m.ScopeLogsSize(sl) + containerSlack
			for k := 0; k < recs.Len(); k++ {
				slOver -= fieldSize(m.LogRecordSize(recs.At(k)))
			}
			hasSL = false
			for k := 0; k < recs.Len(); k++ {
				rec := recs.At(k)
				need := fieldSize(m.LogRecordSize(rec))
				if !hasSL {
					need += slOver
				}
				if !hasRL {
					need += rlOver
				}
				if len(parts) == 0 || (size > 0 && size+need > max) {
					cur = plog.NewLogs()
					parts = append(parts, cur)
					size, hasRL, hasSL = 0, false, false
					need = fieldSize(m.LogRecordSize(rec)) + slOver + rlOver
				}
				if !hasRL {
					curRL = cur.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(curRL.Resource())
					curRL.SetSchemaUrl(rl.SchemaUrl())
					hasRL = true
				}
				if !hasSL {
					curSL = curRL.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(curSL.Scope())
					curSL.SetSchemaUrl(sl.SchemaUrl())
					hasSL = true
				}
				rec.CopyTo(curSL.LogRecords().AppendEmpty())
				size += need
			}
		}
	}
	return parts
}

// splitMetrics splits like splitTraces, with one more level: a metric's data
// points may be spread over several parts, each with a copy of the metric's
// descriptor (name, description, unit, metadata, type, temporality).
func splitMetrics(md pmetric.Metrics, max int) []pmetric.Metrics {
	var m pmetric.ProtoMarshaler
	if max <= 0 || m.MetricsSize(md) <= max {
		return []pmetric.Metrics{md}
	}
	var parts []pmetric.Metrics
	var cur pmetric.Metrics
	var curRM pmetric.ResourceMetrics
	var curSM pmetric.ScopeMetrics
	var curM pmetric.Metric
	size, hasRM, hasSM, hasM := 0, false, false, false
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		rmOver := m.ResourceMetricsSize(rm) + containerSlack
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			rmOver -= fieldSize(m.ScopeMetricsSize(rm.ScopeMetrics().At(j)))
		}
		hasRM = false
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			metrics := sm.Metrics()
			smOver := m.ScopeMetricsSize(sm) + containerSlack
			for k := 0; k < metrics.Len(); k++ {
				smOver -= fieldSize(m.MetricSize(metrics.At(k)))
			}
			hasSM = false
			for k := 0; k < metrics.Len(); k++ {
				met := metrics.At(k)
				pts := metricPoints(&m, met)
				// The points sit in a message (Gauge, Sum, ...) inside the
				// metric: mOver keeps its length prefix for all the points,
				// never shorter than the one for some of them.
				mOver := m.MetricSize(met) + containerSlack
				for p := 0; p < pts.n; p++ {
					mOver -= fieldSize(pts.size(p))
				}
				hasM = false
				for p := 0; p < pts.n; p++ {
					need := fieldSize(pts.size(p))
					if !hasM {
						need += mOver
					}
					if !hasSM {
						need += smOver
					}
					if !hasRM {
						need += rmOver
					}
					if len(parts) == 0 || (size > 0 && size+need > max) {
						cur = pmetric.NewMetrics()
						parts = append(parts, cur)
						size, hasRM, hasSM, hasM = 0, false, false, false
						need = fieldSize(pts.size(p)) + mOver + smOver + rmOver
					}
					if !hasRM {
						curRM = cur.ResourceMetrics().AppendEmpty()
						rm.Resource().CopyTo(curRM.Resource())
						curRM.SetSchemaUrl(rm.SchemaUrl())
						hasRM = true
					}
					if !hasSM {
						curSM = curRM.ScopeMetrics().AppendEmpty()
						sm.Scope().CopyTo(curSM.Scope())
						curSM.SetSchemaUrl(sm.SchemaUrl())
						hasSM = true
					}
					if !hasM {
						curM = curSM.Metrics().AppendEmpty()
						copyMetricDescriptor(met, curM)
						hasM = true
					}
					pts.copyTo(p, curM)
					size += need
				}
			}
		}
	}
	return parts
}

// points gives access to the data points of one metric, whatever its type.
type points struct {
	n      int
	size   func(i int) int
	copyTo func(i int, dst pmetric.Metric) // appends point i to dst, of the same type
}

func metricPoints(m *pmetric.ProtoMarshaler, met pmetric.Metric) points {
	switch met.Type() {
	case pmetric.MetricTypeGauge:
		dps := met.Gauge().DataPoints()
		return points{dps.Len(),
			func(i int) int { return m.NumberDataPointSize(dps.At(i)) },
			func(i int, dst pmetric.Metric) { dps.At(i).CopyTo(dst.Gauge().DataPoints().AppendEmpty()) }}
	case pmetric.MetricTypeSum:
		dps := met.Sum().DataPoints()
		return points{dps.Len(),
			func(i int) int { return m.NumberDataPointSize(dps.At(i)) },
			func(i int, dst pmetric.Metric) { dps.At(i).CopyTo(dst.Sum().DataPoints().AppendEmpty()) }}
	case pmetric.MetricTypeHistogram:
		dps := met.Histogram().DataPoints()
		return points{dps.Len(),
			func(i int) int { return m.HistogramDataPointSize(dps.At(i)) },
			func(i int, dst pmetric.Metric) { dps.At(i).CopyTo(dst.Histogram().DataPoints().AppendEmpty()) }}
	case pmetric.MetricTypeExponentialHistogram:
		dps := met.ExponentialHistogram().DataPoints()
		return points{dps.Len(),
			func(i int) int { return m.ExponentialHistogramDataPointSize(dps.At(i)) },
			func(i int, dst pmetric.Metric) {
				dps.At(i).CopyTo(dst.ExponentialHistogram().DataPoints().AppendEmpty())
			}}
	case pmetric.MetricTypeSummary:
		dps := met.Summary().DataPoints()
		return points{dps.Len(),
			func(i int) int { return m.SummaryDataPointSize(dps.At(i)) },
			func(i int, dst pmetric.Metric) { dps.At(i).CopyTo(dst.Summary().DataPoints().AppendEmpty()) }}
	}
	return points{} // a metric without data: it has no items to send
}

// copyMetricDescriptor copies everything of src but its data points to dst.
func copyMetricDescriptor(src, dst pmetric.Metric) {
	dst.SetName(src.Name())
	dst.SetDescription(src.Description())
	dst.SetUnit(src.Unit())
	src.Metadata().CopyTo(dst.Metadata())
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		dst.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		s := dst.SetEmptySum()
		s.SetAggregationTemporality(src.Sum().AggregationTemporality())
		s.SetIsMonotonic(src.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		dst.SetEmptyHistogram().SetAggregationTemporality(src.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		dst.SetEmptyExponentialHistogram().SetAggregationTemporality(src.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		dst.SetEmptySummary()
	}
}
