package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/attributesprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/filterprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/lambdaotelsamplingprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/probabilisticsamplerprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/redactionprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourcedetectionprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourceprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/spanprocessor"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/transformprocessor"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// factories are the processor types the engine builds, besides the ignored
// ones (registered by package processor). A new processor type is its own
// package, with its configuration, its parsing and its Factory, and one
// line here.
var factories = []processor.Factory{
	attributesprocessor.Factory,
	lambdaotelsamplingprocessor.Factory,
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
	// holder and ender are set when the processor keeps items across
	// flushes, or decides on whole invocations of this signal.
	holder processor.Holder
	ender  processor.InvocationEnder
}

// held returns what the stage's processor holds for pipeline id.
func (st stage) held(id string) (items, bytes int64) {
	if st.holder == nil {
		return 0, 0
	}
	return st.holder.Held(id)
}

// stageFor returns the stage that runs pr in a pipeline of signal s, or
// an error if pr does not process that signal.
func stageFor(id string, pr processor.Processor, s pipeline.Signal) (stage, error) {
	st := stage{id: id}
	st.holder, _ = pr.(processor.Holder)
	if e, ok := pr.(processor.InvocationEnder); ok && e.WholeInvocation(s) {
		st.ender = e
	}
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

// NeedsInvocations reports whether a processor wants to be told of every
// finished invocation (processor.InvocationEnder): the extension must then
// follow invocations through the Telemetry API (SetPlatform) even when no
// pipeline takes platform telemetry.
func (x *Engine) NeedsInvocations() bool {
	for _, pr := range x.processors {
		if _, ok := pr.(processor.InvocationEnder); ok {
			return true
		}
	}
	return false
}

// endInvocations tells the processors that decide on whole invocations of
// the invocations that ended, before they process the flush that exports
// those invocations' data.
func (x *Engine) endInvocations(ended []processor.Invocation) {
	if len(ended) == 0 {
		return
	}
	for _, pr := range x.processors {
		e, ok := pr.(processor.InvocationEnder)
		if !ok {
			continue
		}
		for _, inv := range ended {
			e.EndInvocation(inv)
		}
	}
}

// ProcessorCounter is a counter a processor reports, with its id.
type ProcessorCounter struct {
	Processor string
	processor.Counter
}

// ProcessorCounters returns the counters of the processors that report
// some (processor.CounterReporter), in the order of the configuration.
func (x *Engine) ProcessorCounters() []ProcessorCounter {
	var out []ProcessorCounter
	for i, pr := range x.processors {
		r, ok := pr.(processor.CounterReporter)
		if !ok {
			continue
		}
		for _, c := range r.Counters() {
			out = append(out, ProcessorCounter{Processor: x.processorIDs[i], Counter: c})
		}
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
