package engine

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// signalOps is what the engine does with the data of one signal. The
// switch on the signal is written once, in the table ops; the rest of the
// engine looks the signal up.
type signalOps struct {
	// of returns the signal's data of b as a part.
	of func(b buffer.Batch) part
	// set replaces the signal's data of b with p's.
	set func(b *buffer.Batch, p part)
	// count counts p's spans, data points or log records.
	count func(p part) int64
	// copy returns a deep copy of p.
	copy func(p part) part
	// moveTo appends p's resources to to's, leaving p empty.
	moveTo func(p part, to part)
	// split cuts p into requests of at most maxRequestBytes (and
	// maxRequestSpans).
	split func(p part) []part
	// marshal and unmarshal encode and decode p as OTLP protobuf.
	marshal   func(p part) ([]byte, error)
	unmarshal func(data []byte) (part, error)
	// export sends p to e.
	export func(ctx context.Context, e pipeline.Exporter, p part) error
	// consume hands p to a pipeline's buffer.
	consume func(ctx context.Context, b *buffer.Buffer, p part) error
}

var ops = map[pipeline.Signal]*signalOps{
	pipeline.Traces: {
		of:    func(b buffer.Batch) part { return part{signal: pipeline.Traces, td: b.Traces} },
		set:   func(b *buffer.Batch, p part) { b.Traces = p.td },
		count: func(p part) int64 { return int64(p.td.SpanCount()) },
		copy: func(p part) part {
			c := ptrace.NewTraces()
			p.td.CopyTo(c)
			return part{signal: pipeline.Traces, td: c}
		},
		moveTo: func(p, to part) { p.td.ResourceSpans().MoveAndAppendTo(to.td.ResourceSpans()) },
		split: func(p part) []part {
			var out []part
			for _, td := range buffer.SplitTraces(p.td, maxRequestBytes) {
				for _, td := range splitSpans(td, maxRequestSpans) {
					out = append(out, part{signal: pipeline.Traces, td: td})
				}
			}
			return out
		},
		marshal: func(p part) ([]byte, error) { return (&ptrace.ProtoMarshaler{}).MarshalTraces(p.td) },
		unmarshal: func(data []byte) (part, error) {
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
			return part{signal: pipeline.Traces, td: td}, err
		},
		export:  func(ctx context.Context, e pipeline.Exporter, p part) error { return e.ExportTraces(ctx, p.td) },
		consume: func(ctx context.Context, b *buffer.Buffer, p part) error { return b.ConsumeTraces(ctx, p.td) },
	},
	pipeline.Metrics: {
		of:    func(b buffer.Batch) part { return part{signal: pipeline.Metrics, md: b.Metrics} },
		set:   func(b *buffer.Batch, p part) { b.Metrics = p.md },
		count: func(p part) int64 { return int64(p.md.DataPointCount()) },
		copy: func(p part) part {
			c := pmetric.NewMetrics()
			p.md.CopyTo(c)
			return part{signal: pipeline.Metrics, md: c}
		},
		moveTo: func(p, to part) { p.md.ResourceMetrics().MoveAndAppendTo(to.md.ResourceMetrics()) },
		split: func(p part) []part {
			var out []part
			for _, md := range buffer.SplitMetrics(p.md, maxRequestBytes) {
				out = append(out, part{signal: pipeline.Metrics, md: md})
			}
			return out
		},
		marshal: func(p part) ([]byte, error) { return (&pmetric.ProtoMarshaler{}).MarshalMetrics(p.md) },
		unmarshal: func(data []byte) (part, error) {
			md, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(data)
			return part{signal: pipeline.Metrics, md: md}, err
		},
		export:  func(ctx context.Context, e pipeline.Exporter, p part) error { return e.ExportMetrics(ctx, p.md) },
		consume: func(ctx context.Context, b *buffer.Buffer, p part) error { return b.ConsumeMetrics(ctx, p.md) },
	},
	pipeline.Logs: {
		of:    func(b buffer.Batch) part { return part{signal: pipeline.Logs, ld: b.Logs} },
		set:   func(b *buffer.Batch, p part) { b.Logs = p.ld },
		count: func(p part) int64 { return int64(p.ld.LogRecordCount()) },
		copy: func(p part) part {
			c := plog.NewLogs()
			p.ld.CopyTo(c)
			return part{signal: pipeline.Logs, ld: c}
		},
		moveTo: func(p, to part) { p.ld.ResourceLogs().MoveAndAppendTo(to.ld.ResourceLogs()) },
		split: func(p part) []part {
			var out []part
			for _, ld := range buffer.SplitLogs(p.ld, maxRequestBytes) {
				out = append(out, part{signal: pipeline.Logs, ld: ld})
			}
			return out
		},
		marshal: func(p part) ([]byte, error) { return (&plog.ProtoMarshaler{}).MarshalLogs(p.ld) },
		unmarshal: func(data []byte) (part, error) {
			ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
			return part{signal: pipeline.Logs, ld: ld}, err
		},
		export:  func(ctx context.Context, e pipeline.Exporter, p part) error { return e.ExportLogs(ctx, p.ld) },
		consume: func(ctx context.Context, b *buffer.Buffer, p part) error { return b.ConsumeLogs(ctx, p.ld) },
	},
}
