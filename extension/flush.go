package extension

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/pipeline"
	"github.com/lambdaotel/lambdaotel/pipeline/buffer"
)

// counters count items (spans, data points, log records) over the life of
// the extension.
type counters struct {
	exported atomic.Int64
	failed   atomic.Int64
}

// flush exports everything the pipelines hold, with the platform
// telemetry of the invocations that ended (all of it when final), every
// pipeline and exporter at once, until ctx ends. Data an exporter could not
// send is counted and logged, then dropped.
func (x *Extension) flush(ctx context.Context, final bool) {
	batches := make([]buffer.Batch, len(x.comp.pipes))
	for i, p := range x.comp.pipes {
		batches[i] = p.buf.Take()
	}
	if x.platform != nil {
		x.addPlatform(batches, final)
	}
	var wg sync.WaitGroup
	for i, p := range x.comp.pipes {
		batch := batches[i]
		if batch.Empty() {
			continue
		}
		for _, pr := range p.processors {
			switch p.signal {
			case pipeline.Traces:
				pr.ProcessTraces(batch.Traces)
			case pipeline.Metrics:
				pr.ProcessMetrics(batch.Metrics)
			case pipeline.Logs:
				pr.ProcessLogs(batch.Logs)
			}
		}
		n := batch.Items.Of(p.signal)
		for i, e := range p.exporters {
			b := batch
			if i < len(p.exporters)-1 {
				b = copyBatch(batch, p.signal)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := export(ctx, e, p.signal, b); err != nil {
					x.stats.failed.Add(n)
					x.log.Warn("export failed: data dropped", "pipeline", p.id, "exporter", e.Name(), "items", n, "error", err)
					return
				}
				x.stats.exported.Add(n)
			}()
		}
	}
	wg.Wait()
}

// addPlatform joins the function's traces to the platform's (in every
// traces pipeline that takes platform telemetry) and adds the platform
// telemetry to the batches of the pipelines that take it.
func (x *Extension) addPlatform(batches []buffer.Batch, final bool) {
	var (
		td      ptrace.Traces
		md      pmetric.Metrics
		ld      plog.Logs
		collect = true
	)
	for i, p := range x.comp.pipes {
		if !p.platform || p.signal != pipeline.Traces {
			continue
		}
		if !collect {
			x.platform.Join(batches[i].Traces)
			continue
		}
		if final {
			td, md, ld = x.platform.Drain(batches[i].Traces)
		} else {
			td, md, ld = x.platform.Collect(batches[i].Traces)
		}
		collect = false
	}
	if collect {
		collected := ptrace.NewTraces()
		if final {
			td, md, ld = x.platform.Drain(collected)
		} else {
			td, md, ld = x.platform.Collect(collected)
		}
	}
	counts := map[pipeline.Signal]int{}
	for _, p := range x.comp.pipes {
		if p.platform {
			counts[p.signal]++
		}
	}
	for i, p := range x.comp.pipes {
		if !p.platform {
			continue
		}
		counts[p.signal]--
		if counts[p.signal] > 0 {
			// Another pipeline takes the same data: give this one a copy.
			addSignal(&batches[i], p.signal, copyBatch(buffer.Batch{Traces: td, Metrics: md, Logs: ld}, p.signal))
		} else {
			addSignal(&batches[i], p.signal, buffer.Batch{Traces: td, Metrics: md, Logs: ld})
		}
	}
}

// addSignal moves signal s of from into b.
func addSignal(b *buffer.Batch, s pipeline.Signal, from buffer.Batch) {
	switch s {
	case pipeline.Traces:
		b.Items.Spans += int64(from.Traces.SpanCount())
		from.Traces.ResourceSpans().MoveAndAppendTo(b.Traces.ResourceSpans())
	case pipeline.Metrics:
		b.Items.DataPoints += int64(from.Metrics.DataPointCount())
		from.Metrics.ResourceMetrics().MoveAndAppendTo(b.Metrics.ResourceMetrics())
	case pipeline.Logs:
		b.Items.LogRecords += int64(from.Logs.LogRecordCount())
		from.Logs.ResourceLogs().MoveAndAppendTo(b.Logs.ResourceLogs())
	}
}

func export(ctx context.Context, e pipeline.Exporter, s pipeline.Signal, b buffer.Batch) error {
	switch s {
	case pipeline.Traces:
		return e.ExportTraces(ctx, b.Traces)
	case pipeline.Metrics:
		return e.ExportMetrics(ctx, b.Metrics)
	default:
		return e.ExportLogs(ctx, b.Logs)
	}
}

// copyBatch copies the signal s of b, for a second exporter.
func copyBatch(b buffer.Batch, s pipeline.Signal) buffer.Batch {
	c := b
	switch s {
	case pipeline.Traces:
		c.Traces = ptrace.NewTraces()
		b.Traces.CopyTo(c.Traces)
	case pipeline.Metrics:
		c.Metrics = pmetric.NewMetrics()
		b.Metrics.CopyTo(c.Metrics)
	case pipeline.Logs:
		c.Logs = plog.NewLogs()
		b.Logs.CopyTo(c.Logs)
	}
	return c
}
