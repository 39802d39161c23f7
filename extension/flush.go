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

// flush exports everything the pipelines hold, every pipeline and exporter
// at once, until ctx ends. Data an exporter could not send is counted and
// logged, then dropped.
func (x *Extension) flush(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range x.comp.pipes {
		batch := p.buf.Take()
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
