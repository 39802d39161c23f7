package telemetryapireceiver

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Metric names, units and descriptions from
// https://opentelemetry.io/docs/specs/semconv/faas/faas-metrics/ (the faas.*
// ones) and our own for what the conventions have no name for (aws.lambda.*,
// named like their faas.* siblings).
const (
	metricInvocations    = "faas.invocations"     // {invocation}: successful invocations
	metricErrors         = "faas.errors"          // {error}: error, failure and timeout, by error.type
	metricTimeouts       = "faas.timeouts"        // {timeout}
	metricColdstarts     = "faas.coldstarts"      // {coldstart}
	metricInvokeDuration = "faas.invoke_duration" // s: platform.runtimeDone metrics.durationMs
	metricInitDuration   = "faas.init_duration"   // s: platform.initReport metrics.durationMs (or report's initDurationMs)
	metricMemUsage       = "faas.mem_usage"       // By: platform.report maxMemoryUsedMB
	// metricBilledDuration is platform.report's billedDurationMs: what the
	// invocation costs (the REPORT line's "Billed Duration").
	metricBilledDuration = "aws.lambda.billed_duration" // s
	// metricPostRuntime is the extensions' time after the runtime's
	// response: platform.report durationMs − platform.runtimeDone
	// durationMs, what CloudWatch calls PostRuntimeExtensionsDuration.
	metricPostRuntime = "aws.lambda.post_runtime_extensions_duration" // s
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

// maxErrorTypes bounds the error.type values of faas.errors; further types
// are counted as _OTHER.
const maxErrorTypes = 32

type histogram struct {
	name, unit, desc string
	bounds           []float64
	counts           []uint64
	count            uint64
	sum, min, max    float64
}

func newHistogram(name, unit, desc string, bounds []float64) histogram {
	return histogram{name: name, unit: unit, desc: desc, bounds: bounds}
}

func (h *histogram) record(v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(h.bounds)+1)
	}
	// Buckets are (bounds[i-1], bounds[i]]: the first bound >= v.
	h.counts[sort.SearchFloat64s(h.bounds, v)]++
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if h.count == 0 || v > h.max {
		h.max = v
	}
	h.count++
	h.sum += v
}

func (h *histogram) reset() {
	clear(h.counts)
	h.count, h.sum, h.min, h.max = 0, 0, 0, 0
}

func (h *histogram) appendTo(ms pmetric.MetricSlice, temporality pmetric.AggregationTemporality, start, now pcommon.Timestamp) {
	if h.count == 0 {
		return
	}
	m := ms.AppendEmpty()
	m.SetName(h.name)
	m.SetUnit(h.unit)
	m.SetDescription(h.desc)
	hist := m.SetEmptyHistogram()
	hist.SetAggregationTemporality(temporality)
	dp := hist.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(now)
	dp.SetCount(h.count)
	dp.SetSum(h.sum)
	dp.SetMin(h.min)
	dp.SetMax(h.max)
	dp.BucketCounts().FromRaw(h.counts)
	dp.ExplicitBounds().FromRaw(h.bounds)
}

type counter struct {
	name, unit, desc string
	// byType counts per error.type value; the empty key is "no attribute".
	byType map[string]int64
}

func newCounter(name, unit, desc string) counter {
	return counter{name: name, unit: unit, desc: desc}
}

func (c *counter) add(errorType string) {
	if c.byType == nil {
		c.byType = map[string]int64{}
	}
	if _, ok := c.byType[errorType]; !ok && len(c.byType) >= maxErrorTypes {
		errorType = errorTypeOther
	}
	c.byType[errorType]++
}

func (c *counter) reset() {
	for k := range c.byType {
		c.byType[k] = 0
	}
}

func (c *counter) appendTo(ms pmetric.MetricSlice, temporality pmetric.AggregationTemporality, start, now pcommon.Timestamp) {
	keys := make([]string, 0, len(c.byType))
	for k, n := range c.byType {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Strings(keys)
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
		dp.SetIntValue(c.byType[k])
		if k != "" {
			dp.Attributes().PutStr(attrErrorType, k)
		}
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
