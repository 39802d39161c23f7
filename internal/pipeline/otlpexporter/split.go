package otlpexporter

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// The parts functions cut a batch above max bytes into requests with the
// buffer's splitter, which moves data: a batch that needs cutting is
// copied first, so that the caller's data stays as it was.

func traceParts(td ptrace.Traces, max int) []ptrace.Traces {
	if max > 0 && (&ptrace.ProtoMarshaler{}).TracesSize(td) > max {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		td = c
	}
	return buffer.SplitTraces(td, max)
}

func metricParts(md pmetric.Metrics, max int) []pmetric.Metrics {
	if max > 0 && (&pmetric.ProtoMarshaler{}).MetricsSize(md) > max {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		md = c
	}
	return buffer.SplitMetrics(md, max)
}

func logParts(ld plog.Logs, max int) []plog.Logs {
	if max > 0 && (&plog.ProtoMarshaler{}).LogsSize(ld) > max {
		c := plog.NewLogs()
		ld.CopyTo(c)
		ld = c
	}
	return buffer.SplitLogs(ld, max)
}
