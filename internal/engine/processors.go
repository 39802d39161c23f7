package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline"
	"github.com/lambdaotel/lambdaotel/pipeline/attributesprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/pipeline/config"
	"github.com/lambdaotel/lambdaotel/pipeline/filterprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/probabilisticsamplerprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/redactionprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/resourcedetectionprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/resourceprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/spanprocessor"
	"github.com/lambdaotel/lambdaotel/pipeline/transformprocessor"
)

// factories are the processor types the engine builds, besides the ignored
// ones (registered by package processor). A new processor type is its own
// package, with its configuration, its parsing and its Factory, and one
// line here.
var factories = []processor.Factory{
	attributesprocessor.Factory,
	resourceprocessor.Factory,
	resourcedetectionprocessor.Factory,
	spanprocessor.Factory,
	redactionprocessor.Factory,
	probabilisticsamplerprocessor.Factory,
	filterprocessor.Factory,
	transformprocessor.Factory,
}

func init() {
	for _, f := range factories {
		processor.Register(f)
	}
}

// newProcessor makes the processor a configuration describes.
func newProcessor(c *config.Processor) (processor.Processor, error) {
	f, ok := processor.Lookup(c.Type)
	if !ok {
		return nil, fmt.Errorf("type %q cannot be built", c.Type)
	}
	return f.New(c.Options)
}

// stage is one processor in a pipeline of one signal.
type stage struct {
	id      string
	process func(ctx context.Context, b buffer.Batch) error
}

// stageFor returns the stage that runs pr in a pipeline of signal s, or
// an error if pr does not process that signal.
func stageFor(id string, pr processor.Processor, s pipeline.Signal) (stage, error) {
	st := stage{id: id}
	switch s {
	case pipeline.Traces:
		if p, ok := pr.(processor.Traces); ok {
			st.process = func(ctx context.Context, b buffer.Batch) error { return p.ProcessTraces(ctx, b.Traces) }
		}
	case pipeline.Metrics:
		if p, ok := pr.(processor.Metrics); ok {
			st.process = func(ctx context.Context, b buffer.Batch) error { return p.ProcessMetrics(ctx, b.Metrics) }
		}
	case pipeline.Logs:
		if p, ok := pr.(processor.Logs); ok {
			st.process = func(ctx context.Context, b buffer.Batch) error { return p.ProcessLogs(ctx, b.Logs) }
		}
	}
	if st.process == nil {
		return st, fmt.Errorf("processor %s does not process %s; it processes: %s", id, s, strings.Join(signalsOf(pr), ", "))
	}
	if c, ok := pr.(processor.SignalChecker); ok {
		if err := c.CheckSignal(string(s)); err != nil {
			return st, fmt.Errorf("processor %s in a %s pipeline: %w", id, s, err)
		}
	}
	return st, nil
}

// signalsOf lists the signals pr processes.
func signalsOf(pr processor.Processor) []string {
	var out []string
	if _, ok := pr.(processor.Traces); ok {
		out = append(out, string(pipeline.Traces))
	}
	if _, ok := pr.(processor.Metrics); ok {
		out = append(out, string(pipeline.Metrics))
	}
	if _, ok := pr.(processor.Logs); ok {
		out = append(out, string(pipeline.Logs))
	}
	return out
}

// endFlush tells the processors that keep state across flushes that a
// flush ended.
func (x *Engine) endFlush(final bool) {
	for _, pr := range x.processors {
		if f, ok := pr.(processor.FlushEnder); ok {
			f.EndFlush(final)
		}
	}
}
