package extension

import (
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// selfScope is the instrumentation scope of the extension's own metrics.
const selfScope = "lambdaotel/extension"

// selfTelemetry makes the extension's counters, as cumulative sums since
// it started, for the first metrics pipeline. Each counter has the unit
// {item}: spans, data points and log records.
func (x *Extension) selfTelemetry() pmetric.Metrics {
	n := x.comp.Counts()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", x.serviceName())
	res.PutStr("cloud.provider", "aws")
	res.PutStr("cloud.platform", "aws_lambda")
	if v := x.opts.Getenv("AWS_LAMBDA_FUNCTION_NAME"); v != "" {
		res.PutStr("faas.name", v)
	}
	if v := x.opts.Getenv("AWS_REGION"); v != "" {
		res.PutStr("cloud.region", v)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(selfScope)
	sm.Scope().SetVersion(Version)
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, c := range []struct {
		name, desc string
		value      int64
	}{
		{"lambdaotel.items.accepted", "items the receivers accepted", n.Accepted},
		{"lambdaotel.items.exported", "items a backend accepted", n.Exported},
		{"lambdaotel.items.retried", "items sent again after a retryable failure", n.Retried},
		{"lambdaotel.items.spilled", "items written to the spill queue on disk", n.Spilled},
		{"lambdaotel.items.replayed", "items sent from the spill queue", n.Replayed},
		{"lambdaotel.items.refused", "items refused to a client, which was told (buffer full: retry later; larger than the buffer)", n.Refused},
		{"lambdaotel.items.rejected", "items a backend refused in a partial success, or an exporter took out because the backend would refuse them", n.Rejected},
		{"lambdaotel.items.dropped", "items lost: permanent failure, full queue, no queue", n.Dropped},
	} {
		x.selfSum(sm.Metrics(), c.name, c.desc, "{item}").SetIntValue(c.value)
	}
	// What each processor removed on purpose, one data point per
	// processor id, and the processors' own counters.
	if len(n.FilteredBy) > 0 {
		ids := make([]string, 0, len(n.FilteredBy))
		for id := range n.FilteredBy {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var m pmetric.Metric
		for i, id := range ids {
			var dp pmetric.NumberDataPoint
			if i == 0 {
				dp = x.selfSum(sm.Metrics(), "lambdaotel.items.filtered", "items a processor removed on purpose (a filter's match, a sampler's drop): not lost", "{item}")
				m = sm.Metrics().At(sm.Metrics().Len() - 1)
			} else {
				dp = m.Sum().DataPoints().AppendEmpty()
				dp.SetStartTimestamp(pcommon.NewTimestampFromTime(x.started))
				dp.SetTimestamp(now)
			}
			dp.Attributes().PutStr("processor", id)
			dp.SetIntValue(n.FilteredBy[id])
		}
	}
	metrics := map[string]pmetric.Metric{}
	for _, c := range x.comp.ProcessorCounters() {
		m, ok := metrics[c.Metric]
		var dp pmetric.NumberDataPoint
		if !ok {
			dp = x.selfSum(sm.Metrics(), c.Metric, c.Description, c.Unit)
			m = sm.Metrics().At(sm.Metrics().Len() - 1)
			metrics[c.Metric] = m
		} else {
			dp = m.Sum().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(x.started))
			dp.SetTimestamp(now)
		}
		dp.Attributes().PutStr("processor", c.Processor)
		for _, a := range c.Attributes {
			dp.Attributes().PutStr(a[0], a[1])
		}
		dp.SetIntValue(c.Value)
	}
	return md
}

// selfSum appends a cumulative monotonic sum since the extension started
// to ms and returns its one data point, stamped now.
func (x *Extension) selfSum(ms pmetric.MetricSlice, name, desc, unit string) pmetric.NumberDataPoint {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetDescription(desc)
	m.SetUnit(unit)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(x.started))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return dp
}

// serviceName is OTEL_SERVICE_NAME, else the function's name.
func (x *Extension) serviceName() string {
	if v := x.opts.Getenv("OTEL_SERVICE_NAME"); v != "" {
		return v
	}
	if v := x.opts.Getenv("AWS_LAMBDA_FUNCTION_NAME"); v != "" {
		return v
	}
	return "lambdaotel"
}
