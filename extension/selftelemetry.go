package extension

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/pipeline"
	"github.com/lambdaotel/lambdaotel/pipeline/buffer"
)

// selfScope is the instrumentation scope of the extension's own metrics.
const selfScope = "lambdaotel/extension"

// addSelfTelemetry adds the extension's counters, as cumulative sums since
// it started, to the first metrics pipeline, unless turned off. Each
// counter has the unit {item}: spans, data points and log records.
func (x *Extension) addSelfTelemetry(batches []buffer.Batch) {
	if !x.cfg.Settings.SelfTelemetry {
		return
	}
	for i, p := range x.comp.pipes {
		if p.signal != pipeline.Metrics {
			continue
		}
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
			{"lambdaotel.items.accepted", "items the receivers accepted", x.accepted()},
			{"lambdaotel.items.exported", "items a backend accepted", x.stats.exported.Load()},
			{"lambdaotel.items.retried", "items sent again after a retryable failure", x.stats.retried.Load()},
			{"lambdaotel.items.spilled", "items written to the spill queue on disk", x.stats.spilled.Load()},
			{"lambdaotel.items.replayed", "items sent from the spill queue", x.stats.replayed.Load()},
			{"lambdaotel.items.refused", "items refused to a client, which was told (buffer full: retry later; larger than the buffer)", x.refused()},
			{"lambdaotel.items.dropped", "items lost: permanent failure, full queue, no queue", x.dropped()},
		} {
			m := sm.Metrics().AppendEmpty()
			m.SetName(c.name)
			m.SetDescription(c.desc)
			m.SetUnit("{item}")
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dp := sum.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(x.started))
			dp.SetTimestamp(now)
			dp.SetIntValue(c.value)
		}
		x.stats.made.Add(int64(md.DataPointCount()))
		addSignal(&batches[i], pipeline.Metrics, buffer.Batch{Metrics: md})
		return
	}
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

// accepted counts the items handed to the pipelines: those of the OTLP
// receivers, and those the extension made (platform telemetry from the
// Telemetry API, its own counters), so that exported never exceeds it.
func (x *Extension) accepted() int64 {
	n := x.stats.made.Load()
	for _, p := range x.comp.pipes {
		n += p.buf.Stats().Accepted.Total()
	}
	return n
}

// dropped counts every item lost. Items the buffers refused are not: the
// client was told and keeps them (see refused).
func (x *Extension) dropped() int64 {
	n := x.stats.dropped.Load()
	if x.queue != nil {
		n += x.queue.lost()
	}
	return n
}

// refused counts the items the buffers refused to a client: full (429 or
// RESOURCE_EXHAUSTED with a delay: the client retries) or larger than the
// whole buffer (413, or RESOURCE_EXHAUSTED without one).
func (x *Extension) refused() int64 {
	var n int64
	for _, p := range x.comp.pipes {
		n += p.buf.Stats().Rejected.Total()
	}
	return n
}
