package awsemfexporter

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// valueKind says which form a metric's value takes in a record.
type valueKind uint8

const (
	kindNumber valueKind = iota // a number
	kindStats                   // {Max, Min, Count, Sum}
	kindHist                    // {Values, Counts, Max, Min, Count, Sum}
)

// value is one metric's value in a record.
type value struct {
	kind           valueKind
	num            float64
	max, min, sum  float64
	count          uint64
	values, counts []float64
}

// entry is one metric of a group.
type entry struct {
	name string
	unit string // a CloudWatch unit, or "" for none
	val  value
}

// group is the metrics that share namespace, timestamp and attributes:
// one record (or several, past MaxMetricsPerDirective).
type group struct {
	namespace string
	tsMs      int64
	labels    map[string]string
	names     []string // sorted label names
	entries   []entry
	byName    map[string]bool
}

// point is one data point's contribution: a metric value with its
// attributes. part > 0 marks a continuation (exponential histogram
// buckets past MaxValues), which goes to a record of its own.
type point struct {
	name   string
	labels map[string]string
	tsMs   int64
	val    value
	part   int
}

// records translates md into EMF records (JSON without newline).
func (e *Exporter) records(md pmetric.Metrics) [][]byte {
	groups := map[string]*group{}
	var order []string
	now := time.Now().UnixMilli()
	for _, rm := range md.ResourceMetrics().All() {
		res := rm.Resource().Attributes()
		ns := namespaceOf(e.cfg.Namespace, res)
		prometheus := false
		if v, ok := res.Get("receiver"); ok && v.AsString() == "prometheus" {
			prometheus = true
		}
		for _, sm := range rm.ScopeMetrics().All() {
			scope := sm.Scope().Name()
			for _, m := range sm.Metrics().All() {
				unit := e.unitOf(m)
				for _, p := range e.points(m, ns, scope, res, prometheus) {
					if p.tsMs <= 0 {
						p.tsMs = now
					}
					key := groupKey(ns, p.tsMs, p.labels, p.part)
					g := groups[key]
					if g == nil {
						g = &group{namespace: ns, tsMs: p.tsMs, labels: p.labels, names: sortedKeys(p.labels), byName: map[string]bool{}}
						groups[key] = g
						order = append(order, key)
					}
					if g.byName[p.name] {
						e.warnOnce("dup "+p.name, "awsemf: a metric appears twice with the same attributes and time in one export; the second value is not written",
							"exporter", e.name, "metric", p.name)
						continue
					}
					g.byName[p.name] = true
					g.entries = append(g.entries, entry{name: p.name, unit: unit, val: p.val})
				}
			}
		}
	}
	var out [][]byte
	for _, k := range order {
		out = append(out, e.encodeGroup(groups[k])...)
	}
	return out
}

// namespaceOf is the configured namespace, else the resource's service
// namespace and name, else "default".
func namespaceOf(configured string, res pcommon.Map) string {
	if configured != "" {
		return configured
	}
	var name, ns string
	if v, ok := res.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
		name = v.Str()
	}
	if v, ok := res.Get("service.namespace"); ok && v.Type() == pcommon.ValueTypeStr {
		ns = v.Str()
	}
	derived := "default"
	switch {
	case name != "" && ns != "":
		derived = ns + "/" + name
	case name != "":
		derived = name
	case ns != "":
		derived = ns
	}
	if len(derived) > maxName {
		return "default" // CloudWatch takes namespaces of at most 255 characters
	}
	return derived
}

// unitOf is the CloudWatch unit of m: a descriptor's, else the OTLP
// unit's equivalent. A unit CloudWatch does not know is left out (the
// metric then has none), with a warning; "1" and annotations such as
// "{request}" mean a plain number and are left out silently.
func (e *Exporter) unitOf(m pmetric.Metric) string {
	u := m.Unit()
	if d, ok := e.units[m.Name()]; ok && (u == "" || d.Overwrite) {
		return d.Unit
	}
	switch u {
	case "":
		return ""
	case "ms":
		return "Milliseconds"
	case "s":
		return "Seconds"
	case "us":
		return "Microseconds"
	case "By":
		return "Bytes"
	case "Bi":
		return "Bits"
	case "%":
		return "Percent"
	case "1":
		return ""
	}
	if strings.HasPrefix(u, "{") && strings.HasSuffix(u, "}") {
		return ""
	}
	if isUnit(u) {
		return u
	}
	e.warnOnce("unit "+m.Name(), "awsemf: the metric's unit is not one CloudWatch knows; it is written without a unit (set one with metric_descriptors)",
		"exporter", e.name, "metric", m.Name(), "unit", u)
	return ""
}

// labelsOf returns a data point's attributes as strings, with the
// resource's (ResourceToTelemetry) and the scope's name (OTelLib).
func (e *Exporter) labelsOf(attrs, res pcommon.Map, scope string) map[string]string {
	n := attrs.Len() + 1
	if e.cfg.ResourceToTelemetry {
		n += res.Len()
	}
	labels := make(map[string]string, n)
	if e.cfg.ResourceToTelemetry {
		for k, v := range res.All() {
			labels[k] = v.AsString()
		}
	}
	for k, v := range attrs.All() {
		labels[k] = v.AsString()
	}
	if scope != "" {
		labels[OTelLibDimension] = scope
	}
	return labels
}

// stale reports whether a data point must not be written, warning once
// per metric.
func (e *Exporter) stale(name string, flags pmetric.DataPointFlags, vals ...float64) bool {
	bad := flags.NoRecordedValue()
	for _, v := range vals {
		bad = bad || math.IsNaN(v) || math.IsInf(v, 0)
	}
	if bad {
		e.warnOnce("stale "+name, "awsemf: data points without a recorded value, or with NaN or an infinity, are not written: CloudWatch refuses them",
			"exporter", e.name, "metric", name)
	}
	return bad
}

func msOf(t pcommon.Timestamp) int64 { return int64(uint64(t) / uint64(time.Millisecond)) }

// points translates the data points of m.
func (e *Exporter) points(m pmetric.Metric, ns, scope string, res pcommon.Map, prometheus bool) []point {
	var out []point
	name := m.Name()
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		dps := pmetric.NumberDataPointSlice{}
		cumulative := false
		if m.Type() == pmetric.MetricTypeGauge {
			dps = m.Gauge().DataPoints()
		} else {
			dps = m.Sum().DataPoints()
			cumulative = m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		}
		for _, dp := range dps.All() {
			v := dp.DoubleValue()
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				v = float64(dp.IntValue())
			}
			if e.stale(name, dp.Flags(), v) {
				continue
			}
			labels := e.labelsOf(dp.Attributes(), res, scope)
			if cumulative {
				d, ok := e.deltas.number(seriesKey(ns, name, labels), v)
				if !ok {
					if !e.cfg.RetainInitialValueOfDeltaMetric {
						continue
					}
					d = v
				}
				if d >= 0 {
					v = d
				}
			}
			out = append(out, point{name: name, labels: labels, tsMs: msOf(dp.Timestamp()), val: value{kind: kindNumber, num: v}})
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			if e.stale(name, dp.Flags(), dp.Sum(), dp.Min(), dp.Max()) {
				continue
			}
			out = append(out, point{name: name, labels: e.labelsOf(dp.Attributes(), res, scope), tsMs: msOf(dp.Timestamp()),
				val: value{kind: kindStats, max: dp.Max(), min: dp.Min(), count: dp.Count(), sum: dp.Sum()}})
		}
	case pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			if e.stale(name, dp.Flags(), dp.Sum(), dp.Min(), dp.Max()) {
				continue
			}
			labels := e.labelsOf(dp.Attributes(), res, scope)
			for i, v := range expHistogramValues(dp) {
				out = append(out, point{name: name, labels: labels, tsMs: msOf(dp.Timestamp()), val: v, part: i})
			}
		}
	case pmetric.MetricTypeSummary:
		for _, dp := range m.Summary().DataPoints().All() {
			if e.stale(name, dp.Flags(), dp.Sum()) {
				continue
			}
			labels := e.labelsOf(dp.Attributes(), res, scope)
			sum, count := dp.Sum(), dp.Count()
			if prometheus {
				ds, dc, ok := e.deltas.summary(seriesKey(ns, name, labels), sum, count)
				if !ok && !e.cfg.RetainInitialValueOfDeltaMetric {
					continue
				}
				if ok {
					sum, count = ds, dc
				}
			}
			ts := msOf(dp.Timestamp())
			qs := dp.QuantileValues()
			if e.cfg.DetailedMetrics {
				out = append(out,
					point{name: name + "_sum", labels: labels, tsMs: ts, val: value{kind: kindNumber, num: sum}},
					point{name: name + "_count", labels: labels, tsMs: ts, val: value{kind: kindNumber, num: float64(count)}})
				for _, q := range qs.All() {
					if e.stale(name, 0, q.Value()) {
						continue
					}
					ql := make(map[string]string, len(labels)+1)
					for k, v := range labels {
						ql[k] = v
					}
					ql["quantile"] = strconv.FormatFloat(q.Quantile(), 'g', -1, 64)
					out = append(out, point{name: name, labels: ql, tsMs: ts, val: value{kind: kindNumber, num: q.Value()}})
				}
				continue
			}
			v := value{kind: kindStats, count: count, sum: sum}
			if qs.Len() > 0 {
				v.min, v.max = qs.At(0).Value(), qs.At(qs.Len()-1).Value()
				if e.stale(name, 0, v.min, v.max) {
					continue
				}
			}
			out = append(out, point{name: name, labels: labels, tsMs: ts, val: v})
		}
	default:
		e.warnOnce("type "+name, "awsemf: a metric without data is not written", "exporter", e.name, "metric", name)
	}
	return out
}

// expHistogramValues makes the {Values, Counts} values of an exponential
// histogram data point: the midpoint of each non-empty bucket, from the
// highest to the lowest, at most MaxValues per value. The first value
// carries the data point's sum and maximum, the last its minimum; each
// value's count is the sum of its counts, and its bounds those of its
// buckets.
func expHistogramValues(dp pmetric.ExponentialHistogramDataPoint) []value {
	base := math.Pow(2, math.Pow(2, -float64(dp.Scale())))
	type bucket struct {
		lo, hi, mid float64
		n           uint64
	}
	var bs []bucket
	pos := dp.Positive()
	for i := pos.BucketCounts().Len() - 1; i >= 0; i-- {
		if n := pos.BucketCounts().At(i); n > 0 {
			idx := float64(int(pos.Offset()) + i)
			lo, hi := math.Pow(base, idx), math.Pow(base, idx+1)
			bs = append(bs, bucket{lo, hi, (lo + hi) / 2, n})
		}
	}
	if dp.ZeroCount() > 0 {
		bs = append(bs, bucket{0, 0, 0, dp.ZeroCount()})
	}
	neg := dp.Negative()
	for i := 0; i < neg.BucketCounts().Len(); i++ {
		if n := neg.BucketCounts().At(i); n > 0 {
			idx := float64(int(neg.Offset()) + i)
			lo, hi := -math.Pow(base, idx+1), -math.Pow(base, idx)
			bs = append(bs, bucket{lo, hi, (lo + hi) / 2, n})
		}
	}
	if len(bs) == 0 {
		return []value{{kind: kindHist, values: []float64{}, counts: []float64{}, max: dp.Max(), min: dp.Min(), count: dp.Count(), sum: dp.Sum()}}
	}
	var out []value
	for start := 0; start < len(bs); start += MaxValues {
		part := bs[start:min(start+MaxValues, len(bs))]
		v := value{kind: kindHist, max: part[0].hi, min: part[len(part)-1].lo}
		for _, b := range part {
			v.values = append(v.values, b.mid)
			v.counts = append(v.counts, float64(b.n))
			v.count += b.n
		}
		if start == 0 {
			v.sum = dp.Sum()
			if dp.HasMax() {
				v.max = dp.Max()
			}
		}
		out = append(out, v)
	}
	if dp.HasMin() {
		out[len(out)-1].min = dp.Min()
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// sortedUnique returns the names of set, sorted, each once.
func sortedUnique(set []string) []string {
	s := append([]string{}, set...)
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// joinKey joins names into a map key.
func joinKey(names []string) string { return strings.Join(names, "\x00") }

// groupKey identifies a group: namespace, time, attributes and part.
func groupKey(ns string, tsMs int64, labels map[string]string, part int) string {
	var b strings.Builder
	b.WriteString(ns)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(tsMs, 10))
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(part))
	for _, k := range sortedKeys(labels) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(labels[k])
	}
	return b.String()
}

// seriesKey identifies a series for delta calculation.
func seriesKey(ns, name string, labels map[string]string) string {
	return groupKey(ns+"\x00"+name, 0, labels, 0)
}
