// Package engine runs the extension's pipelines: it builds the components
// a configuration names, routes what the receivers decode to the buffers of
// the pipelines that take it, and at each flush runs the processors, fans
// out to the exporters, splits into requests, delivers with retries, and
// hands what could not be sent to the spill queue. When to flush is not its
// business: the Lambda lifecycle (package extension) decides and calls Flush.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/auth"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// pipe is one configured pipeline: its buffer, processors and exporters.
type pipe struct {
	id         string
	signal     pipeline.Signal
	buf        *buffer.Buffer
	processors []stage
	exporters  []pipeline.Exporter
	// platform: a telemetryapi receiver feeds the pipeline.
	platform bool
	// holds: a processor of the pipeline keeps items across flushes or
	// decides on whole invocations; it runs at every flush, even when
	// nothing new came, to pass on what it decided.
	holds bool
	// waiting holds traces an early export could not join to their
	// invocation yet; the next flush (early or not) takes them first.
	waiting buffer.Batch
	// waitingSince is when the oldest item of waiting arrived (Unix
	// nanoseconds, 0 when none waits), for Held.
	waitingSince atomic.Int64
}

// take takes what the pipeline holds: its buffer, after what waits.
func (p *pipe) take() buffer.Batch {
	b := p.buf.Take()
	if p.waiting.Empty() {
		return b
	}
	w := p.waiting
	p.waiting = buffer.Batch{}
	p.waitingSince.Store(0)
	addSignal(&w, p.signal, b)
	if !b.Since.IsZero() && b.Since.Before(w.Since) {
		w.Since = b.Since
	}
	return w
}

// Options configure Build.
type Options struct {
	// BufferBytes is shared out among the pipelines' buffers.
	BufferBytes int64
	// Logger receives the engine's log lines.
	Logger *slog.Logger
	// Filling, if set, is called when a pipeline's buffer is a quarter full.
	Filling func()
	// Arrived, if set, is called when data arrives for a pipeline that
	// exports early (see Engine.FlushEarly).
	Arrived func()
	// DebugOutput receives the debug exporter's lines.
	DebugOutput io.Writer
	// EMFOutput receives the awsemf exporter's records (in Lambda the
	// extension's stdout: the function's log stream).
	EMFOutput io.Writer
	// Getenv reads the environment the exporters' credentials and region
	// come from (os.Getenv if nil).
	Getenv func(string) string
	// InvocationEnd, if set, receives the end-of-invocation signals that
	// reach the OTLP/HTTP receivers (see otlpreceiver.InvocationEndPath).
	InvocationEnd func(requestID string)
}

// Platform is the source of platform telemetry (the telemetryapi
// receiver): at each flush the engine joins the function's traces to it
// and adds what it made to the pipelines that take platform telemetry.
type Platform interface {
	// Collect returns the telemetry of the invocations that ended; the
	// function's traces given are joined to their invocations.
	Collect(functionTraces ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs)
	// Drain returns everything, ended or not (the final flush).
	Drain(functionTraces ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs)
	// Join joins function traces to their invocations without collecting.
	Join(functionTraces ptrace.Traces)
	// TakeEnded returns the invocations that Collect or Drain emitted
	// since the previous call, with their facts.
	TakeEnded() []processor.Invocation
	// JoinEarly joins function traces that leave while their invocation
	// runs to its invocation span, without collecting. It reports false,
	// and changes nothing, when they must wait: an invocation they belong
	// to is not known yet.
	JoinEarly(functionTraces ptrace.Traces) bool
}

// Engine is the pipelines built from one configuration.
type Engine struct {
	log       *slog.Logger
	receivers []*otlpreceiver.Receiver
	pipes     []*pipe
	exporters []pipeline.Exporter
	// processors are the processor instances, each once, and their ids.
	processors   []processor.Processor
	processorIDs []string
	// filtered counts, per processor id, the items each removed on purpose
	// (a filter's match, a sampler's drop); set up in Build, read-only after.
	filtered map[string]*atomic.Int64
	// platformCfg configures the telemetryapi receiver (the union of the
	// configuration's telemetryapi receivers that a pipeline uses); nil
	// when there is none.
	platformCfg *config.TelemetryAPIReceiver
	// platform makes platform telemetry; nil when none is used.
	platform Platform
	// selfTelemetry, if set, makes the extension's own metrics at a flush.
	selfTelemetry func() pmetric.Metrics
	stats         counters
	// flying counts the exports under way by when their oldest item
	// arrived (Unix nanoseconds).
	flyingMu sync.Mutex
	flying   map[int64]int
	// takeMu makes taking a pipeline's data (with what waits) and joining
	// it to the platform one step: early exports run side by side.
	takeMu sync.Mutex
	// processMu makes the processors' calls one at a time.
	processMu sync.Mutex
	// queue keeps what could not be sent in time; nil when spilling is off.
	queue queue
}

// Build makes every component of cfg that a pipeline uses; receivers are
// made but not started.
func Build(cfg *config.Config, o Options) (*Engine, error) {
	logger, filling := o.Logger, o.Filling
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bufferBytes := o.BufferBytes
	// Only what a pipeline uses is built; each exporter and processor once.
	c := &Engine{log: logger, filtered: map[string]*atomic.Int64{}}
	exporters := map[string]pipeline.Exporter{}
	processors := map[string]processor.Processor{}
	perPipe := bufferBytes / int64(max(1, len(cfg.Pipelines)))
	byReceiver := map[string][]*pipe{}
	for _, s := range pipeline.Signals {
		for _, pc := range cfg.PipelinesFor(s) {
			p := &pipe{id: pc.ID, signal: s, buf: buffer.New(perPipe)}
			for _, id := range pc.Processors {
				prc := cfg.Processors[id]
				if prc.Ignored() {
					continue // batch, decouple, memory_limiter: accepted and ignored
				}
				if processors[id] == nil {
					pr, err := newProcessor(prc)
					if err != nil {
						return nil, fmt.Errorf("%s: processor %s: %w", prc.Pos, id, err)
					}
					processors[id] = pr
					c.processors = append(c.processors, pr)
					c.processorIDs = append(c.processorIDs, id)
					c.filtered[id] = &atomic.Int64{}
				}
				st, err := stageFor(id, processors[id], s)
				if err != nil {
					return nil, fmt.Errorf("%s: pipeline %s: %w", prc.Pos, pc.ID, err)
				}
				p.processors = append(p.processors, st)
				if st.holder != nil || st.ender != nil {
					p.holds = true
				}
			}
			for _, id := range pc.Exporters {
				if exporters[id] == nil {
					e, err := newExporter(cfg.Exporters[id], cfg.Extensions, o, logger)
					if err != nil {
						return nil, err
					}
					exporters[id] = e
					c.exporters = append(c.exporters, e)
				}
				p.exporters = append(p.exporters, exporters[id])
			}
			for _, id := range pc.Receivers {
				byReceiver[id] = append(byReceiver[id], p)
			}
			c.pipes = append(c.pipes, p)
		}
	}
	for id, rc := range cfg.Receivers {
		switch {
		case len(byReceiver[id]) == 0:
			continue
		case rc.OTLP != nil:
			rcfg := otlpreceiver.Config{InvocationEnd: o.InvocationEnd}
			if g := rc.OTLP.GRPC; g != nil {
				rcfg.GRPCEndpoint, rcfg.MaxRecvMsgSizeMiB = g.Endpoint, g.MaxRecvMsgSizeMiB
			}
			if h := rc.OTLP.HTTP; h != nil {
				rcfg.HTTPEndpoint, rcfg.MaxRequestBodySize = h.Endpoint, h.MaxRequestBodySize
			}
			c.receivers = append(c.receivers, otlpreceiver.New(rcfg, &router{receiver: id, pipes: byReceiver[id], logger: logger, filling: filling, arrived: o.Arrived}, logger.With("receiver", id)))
		case rc.TelemetryAPI != nil:
			for _, p := range byReceiver[id] {
				p.platform = true
			}
			c.platformCfg = mergeTelemetryAPI(c.platformCfg, rc.TelemetryAPI)
		}
	}
	return c, nil
}

// mergeTelemetryAPI unites two telemetryapi receiver settings.
func mergeTelemetryAPI(a, b *config.TelemetryAPIReceiver) *config.TelemetryAPIReceiver {
	if a == nil {
		c := *b
		c.Types = append([]string(nil), b.Types...)
		return &c
	}
	for _, t := range b.Types {
		if !a.Has(t) {
			a.Types = append(a.Types, t)
		}
	}
	a.LogReportLines = a.LogReportLines || b.LogReportLines
	a.Cumulative = a.Cumulative || b.Cumulative
	a.AdoptXRayParent = a.AdoptXRayParent || b.AdoptXRayParent
	a.ExportUnsampled = a.ExportUnsampled || b.ExportUnsampled
	return a
}

// Receivers are the OTLP receivers, to start, wait for and shut down.
func (c *Engine) Receivers() []*otlpreceiver.Receiver { return c.receivers }

// PlatformConfig is the telemetryapi receiver's configuration (the union
// of those the pipelines use), nil when no pipeline takes platform
// telemetry.
func (c *Engine) PlatformConfig() *config.TelemetryAPIReceiver { return c.platformCfg }

// SetPlatform sets the source of platform telemetry.
func (c *Engine) SetPlatform(p Platform) { c.platform = p }

// SetSelfTelemetry sets the maker of the extension's own metrics, added to
// the first metrics pipeline at each flush.
func (c *Engine) SetSelfTelemetry(f func() pmetric.Metrics) { c.selfTelemetry = f }

// Shutdown releases the exporters' connections; it does not export.
func (c *Engine) Shutdown(ctx context.Context) {
	for _, e := range c.exporters {
		_ = e.Shutdown(ctx)
	}
}

// Produces reports whether a pipeline of signal s takes platform telemetry.
func (c *Engine) Produces(s pipeline.Signal) bool {
	for _, p := range c.pipes {
		if p.platform && p.signal == s {
			return true
		}
	}
	return false
}

// newExporter makes the exporter a configuration describes.
func newExporter(ec *config.Exporter, exts map[string]*config.Extension, o Options, logger *slog.Logger) (pipeline.Exporter, error) {
	getenv := o.Getenv
	var wrap auth.Wrapper
	if ec.Auth != "" {
		x := exts[ec.Auth]
		if x == nil {
			return nil, fmt.Errorf("%s: exporter %s: authenticator %q is not declared", ec.Pos, ec.ID, ec.Auth)
		}
		var err error
		if wrap, err = auth.New(x, getenv); err != nil {
			return nil, fmt.Errorf("%s: exporter %s: %w", ec.Pos, ec.ID, err)
		}
	}
	f, ok := exporter.Lookup(ec.Type)
	if !ok || ec.Config() == nil {
		return nil, fmt.Errorf("%s: exporter %s: exporter %s: type %q cannot be built", ec.Pos, ec.ID, ec.ID, ec.Type)
	}
	e, err := f.New(ec.ID, ec.Config(), exporter.Settings{
		Logger: logger, Getenv: getenv, Wrap: wrap, DebugOutput: o.DebugOutput, EMFOutput: o.EMFOutput,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: exporter %s: %w", ec.Pos, ec.ID, err)
	}
	return e, nil
}

// router hands what one receiver got to the buffers of the pipelines that
// list that receiver.
type router struct {
	receiver string
	pipes    []*pipe
	logger   *slog.Logger
	warned   sync.Map // signal → true once a "no pipeline" warning was logged
	filling  func()   // called when a buffer is a quarter full
	arrived  func()   // called when data arrives for a pipeline that exports early
}

// filled calls r.filling when p's buffer is a quarter full.
func (r *router) filled(p *pipe) {
	if r.filling != nil && p.buf.MaxBytes() > 0 && p.buf.Bytes() > p.buf.MaxBytes()/4 {
		r.filling()
	}
}

func (r *router) targets(s pipeline.Signal) []*pipe {
	var out []*pipe
	for _, p := range r.pipes {
		if p.signal == s {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		if _, done := r.warned.LoadOrStore(s, true); !done {
			r.logger.Warn("received data that no pipeline takes: dropped; add the receiver to a pipeline of this signal",
				"receiver", r.receiver, "signal", s)
		}
	}
	return out
}

// Admit asks the buffer of every pipeline of signal whether a request of
// items (size bytes as sent, 0 if unknown) could be consumed, before the
// receiver decodes it (see otlpreceiver.Admitter).
func (r *router) Admit(signal pipeline.Signal, size, items int64) error {
	for _, p := range r.targets(signal) {
		if err := p.buf.Admit(signal, size, items); err != nil {
			return fmt.Errorf("pipeline %s: %w", p.id, err)
		}
	}
	return nil
}

// consume hands p to the buffer of every pipeline of its signal; all but
// the last get a copy.
func (r *router) consume(ctx context.Context, p part) error {
	o := ops[p.signal]
	ps := r.targets(p.signal)
	for i, pp := range ps {
		d := p
		if i < len(ps)-1 {
			d = o.copy(p)
		}
		if err := o.consume(ctx, pp.buf, d); err != nil {
			return fmt.Errorf("pipeline %s: %w", pp.id, err)
		}
		r.filled(pp)
		if pp.exportsEarly() && r.arrived != nil {
			r.arrived()
		}
	}
	return nil
}

func (r *router) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return r.consume(ctx, part{signal: pipeline.Traces, td: td})
}

func (r *router) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return r.consume(ctx, part{signal: pipeline.Metrics, md: md})
}

func (r *router) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return r.consume(ctx, part{signal: pipeline.Logs, ld: ld})
}
