package telemetryapireceiver

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Metric names, units and descriptions from
// https://opentelemetry.io/docs/specs/semconv/faas/faas-metrics/ (v1.44;
// the faas.* ones) and our own for what the conventions have no name for
// (lambdaotel.*, see names.go).
const (
	metricInvocations    = "faas.invocations"     // {invocation}: successful invocations
	metricErrors         = "faas.errors"          // {error}: error, failure and timeout, by error.type
	metricTimeouts       = "faas.timeouts"        // {timeout}
	metricColdstarts     = "faas.coldstarts"      // {coldstart}
	metricInvokeDuration = "faas.invoke_duration" // s: platform.runtimeDone metrics.durationMs, error.type on failures
	metricInitDuration   = "faas.init_duration"   // s: platform.initReport metrics.durationMs (or report's initDurationMs)
	metricMemUsage       = "faas.mem_usage"       // By: platform.report maxMemoryUsedMB
	// metricBilledDuration is platform.report's billedDurationMs: what the
	// invocation costs (the REPORT line's "Billed Duration").
	metricBilledDuration = "lambdaotel.billed_duration" // s
	// metricPostRuntime is the extensions' time after the runtime's
	// response: platform.report durationMs − platform.runtimeDone
	// durationMs, what CloudWatch calls PostRuntimeExtensionsDuration.
	metricPostRuntime = "lambdaotel.post_runtime.duration" // s
)

// Explicit bucket boundaries. semconv advises durationBounds for
// faas.invoke_duration and faas.init_duration; billed duration uses them
// too. The others have no advice.
var (
	durationBounds    = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	postRuntimeBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	// memoryBounds are Lambda's common memory sizes, 32 MiB to 10 GiB, in bytes.
	memoryBounds = []float64{32 << 20, 64 << 20, 128 << 20, 256 << 20, 512 << 20, 1 << 30, 2 << 30, 3 << 30, 4 << 30, 6 << 30, 8 << 30, 10 << 30}
)

// maxErrorTypes bounds the attribute sets of a metric; further error
// types are counted as _OTHER.
const maxErrorTypes = 32

// point is the attributes of a data point: error.type (failures only, as
// the recording-errors page asks) and faas.trigger (when known: the
// function's own span said it). Empty means absent.
type point struct {
	errorType, trigger string
}

func (p point) putTo(m pcommon.Map) {
	if p.errorType != "" {
		m.PutStr(attrErrorType, p.errorType)
	}
	if p.trigger != "" {
		m.PutStr(attrFaaSTrigger, p.trigger)
	}
}

func (p point) less(q point) bool {
	if p.errorType != q.errorType {
		return p.errorType < q.errorType
	}
	return p.trigger < q.trigger
}

// bound returns p, or p with error.type _OTHER when a metric with n
// attribute sets already has too many.
func bound(p point, n int, has bool) point {
	if !has && n >= maxErrorTypes {
		p.errorType = errorTypeOther
	}
	return p
}

type histogram struct {
	name, unit, desc string
	bounds           []float64
	points           map[point]*histPoint
}

type histPoint struct {
	counts        []uint64
	count         uint64
	sum, min, max float64
}

func newHistogram(name, unit, desc string, bounds []float64) histogram {
	return histogram{name: name, unit: unit, desc: desc, bounds: bounds}
}

func (h *histogram) record(p point, v float64) {
	if h.points == nil {
		h.points = map[point]*histPoint{}
	}
	hp, has := h.points[p]
	if !has {
		p = bound(p, len(h.points), has)
		if hp = h.points[p]; hp == nil {
			hp = &histPoint{}
			h.points[p] = hp
		}
	}
	if hp.counts == nil {
		hp.counts = make([]uint64, len(h.bounds)+1)
	}
	// Buckets are (bounds[i-1], bounds[i]]: the first bound >= v.
	hp.counts[sort.SearchFloat64s(h.bounds, v)]++
	if hp.count == 0 || v < hp.min {
		hp.min = v
	}
	if hp.count == 0 || v > hp.max {
		hp.max = v
	}
	hp.count++
	hp.sum += v
}

func (h *histogram) reset() {
	for _, hp := range h.points {
		clear(hp.counts)
		hp.count, hp.sum, hp.min, hp.max = 0, 0, 0, 0
	}
}

func (h *histogram) appendTo(ms pmetric.MetricSlice, temporality pmetric.AggregationTemporality, start, now pcommon.Timestamp) {
	keys := make([]point, 0, len(h.points))
	for k, hp := range h.points {
		if hp.count > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	m := ms.AppendEmpty()
	m.SetName(h.name)
	m.SetUnit(h.unit)
	m.SetDescription(h.desc)
	hist := m.SetEmptyHistogram()
	hist.SetAggregationTemporality(temporality)
	for _, k := range keys {
		hp := h.points[k]
		dp := hist.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		dp.SetCount(hp.count)
		dp.SetSum(hp.sum)
		dp.SetMin(hp.min)
		dp.SetMax(hp.max)
		dp.BucketCounts().FromRaw(hp.counts)
		dp.ExplicitBounds().FromRaw(h.bounds)
		k.putTo(dp.Attributes())
	}
}

type counter struct {
	name, unit, desc string
	// byPoint counts per attribute set.
	byPoint map[point]int64
}

func newCounter(name, unit, desc string) counter {
	return counter{name: name, unit: unit, desc: desc}
}

func (c *counter) add(p point) {
	if c.byPoint == nil {
		c.byPoint = map[point]int64{}
	}
	_, has := c.byPoint[p]
	c.byPoint[bound(p, len(c.byPoint), has)]++
}

func (c *counter) reset() {
	for k := range c.byPoint {
		c.byPoint[k] = 0
	}
}

func (c *counter) appendTo(ms pmetric.MetricSlice, temporality pmetric.AggregationTemporality, start, now pcommon.Timestamp) {
	keys := make([]point, 0, len(c.byPoint))
	for k, n := range c.byPoint {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	m := ms.AppendEmpty()
	m.SetName(c.name)
	m.SetUnit(c.unit)
	m.SetDescription(c.desc)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(temporality)
	for _, k := range keys {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		dp.SetIntValue(c.byPoint[k])
		k.putTo(dp.Attributes())
	}
}

// metricSet accumulates the metrics between two Collects (delta) or since
// the receiver started (cumulative).
type metricSet struct {
	invocations, errors, timeouts, coldstarts               counter
	invokeDuration, initDuration, memUsage, billed, postRun histogram
}

func newMetricSet() metricSet {
	return metricSet{
		invocations:    newCounter(metricInvocations, "{invocation}", "Number of successful invocations."),
		errors:         newCounter(metricErrors, "{error}", "Number of invocation errors."),
		timeouts:       newCounter(metricTimeouts, "{timeout}", "Number of invocation timeouts."),
		coldstarts:     newCounter(metricColdstarts, "{coldstart}", "Number of invocation cold starts."),
		invokeDuration: newHistogram(metricInvokeDuration, "s", "Measures the duration of the function's logic execution.", durationBounds),
		initDuration:   newHistogram(metricInitDuration, "s", "Measures the duration of the function's initialization, such as a cold start.", durationBounds),
		memUsage:       newHistogram(metricMemUsage, "By", "Distribution of max memory usage per invocation.", memoryBounds),
		billed:         newHistogram(metricBilledDuration, "s", "Billed duration of an invocation (platform.report billedDurationMs).", durationBounds),
		postRun:        newHistogram(metricPostRuntime, "s", "Time the extensions worked after the function's response (platform.report durationMs minus platform.runtimeDone durationMs).", postRuntimeBounds),
	}
}

func (s *metricSet) counters() []*counter {
	return []*counter{&s.invocations, &s.errors, &s.timeouts, &s.coldstarts}
}

func (s *metricSet) histograms() []*histogram {
	return []*histogram{&s.invokeDuration, &s.initDuration, &s.memUsage, &s.billed, &s.postRun}
}

// appendTo writes the metrics that have data into ms.
func (s *metricSet) appendTo(ms pmetric.MetricSlice, temporality pmetric.AggregationTemporality, start, now pcommon.Timestamp) {
	for _, c := range s.counters() {
		c.appendTo(ms, temporality, start, now)
	}
	for _, h := range s.histograms() {
		h.appendTo(ms, temporality, start, now)
	}
}

func (s *metricSet) reset() {
	for _, c := range s.counters() {
		c.reset()
	}
	for _, h := range s.histograms() {
		h.reset()
	}
}
