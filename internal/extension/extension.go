// Package extension is lambdaotel's Lambda extension: it registers with the
// Extensions API, receives OTLP from the function, follows the invocation
// through the Telemetry API, and exports everything the function reported
// before it asks for the next event, so that nothing is left in memory
// when Lambda freezes the environment.
package extension

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/awake"
	"github.com/lambdaotel/lambdaotel/internal/engine"
	"github.com/lambdaotel/lambdaotel/internal/extensionsapi"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/telemetryapireceiver"
	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// Error types the extension reports through /extension/init/error.
const (
	ErrorConfigInvalid = "Extension.ConfigInvalid"
	ErrorStartFailed   = "Extension.StartFailed"
)

// Timing of the lifecycle.
const (
	// inFlightGrace bounds the wait for OTLP requests the function sent
	// before it returned and that are still being read.
	inFlightGrace = 100 * time.Millisecond
	// shutdownMargin is kept free before the SHUTDOWN deadline.
	shutdownMargin = 200 * time.Millisecond
	// deadlineMargin is kept free before an invocation's deadline.
	deadlineMargin = 50 * time.Millisecond
	// maxRuntimeDone bounds the runtimeDone events kept for a waiter that
	// has not come yet.
	maxRuntimeDone = 64
	// minFlush is the least time left for a flush during an invocation to
	// start.
	minFlush = 50 * time.Millisecond
)

// Options configure Run.
type Options struct {
	// Name is the extension's name: its executable's file name.
	Name string
	// Getenv reads the environment (os.Getenv).
	Getenv func(string) string
	// Stderr receives the extension's log lines.
	Stderr io.Writer
	// Executable is the path the extension was started as (os.Args[0]):
	// a configuration shipped in its layer, lambdaotel/config.yaml next to
	// extensions/, is found from it.
	Executable string
}

// Extension is one running extension.
type Extension struct {
	opts   Options
	log    *slog.Logger
	level  *slog.LevelVar
	client *extensionsapi.Client
	cfg    *config.Config
	comp   *engine.Engine
	tel    *telemetryapi.Listener
	budget time.Duration
	// platform turns Telemetry API events into telemetry; nil when no
	// pipeline uses a telemetryapi receiver.
	platform *telemetryapireceiver.Receiver
	started  time.Time
	// managed is set on Lambda Managed Instances: several invocations at
	// once, no INVOKE events, no freeze.
	managed bool
	flusher flusher

	// flushMu is held during a flush: flushes never overlap one another.
	flushMu sync.Mutex
	// earlyMu is shared by the early exports under way; holding it
	// waits for them (waitEarly).
	earlyMu sync.RWMutex
	// platformSince is when the oldest platform.runtimeDone not yet
	// collected by a flush arrived (Unix nanoseconds, 0: none).
	platformSince atomic.Int64
	mu            sync.Mutex
	// runtimeDone holds a closed channel per request id whose
	// platform.runtimeDone, or end-of-invocation signal, has arrived (or a
	// channel to wait on).
	runtimeDone map[string]chan struct{}
	telemetryOK bool
	// endSignalled is set when the function's end-of-invocation signal
	// ends an invocation for the flush (see invocationEnded).
	endSignalled atomic.Bool
	redact       *redactWriter // keeps the configuration's secrets out of the log
	// emf is the awsemf exporter's output, stdout, which remembers the
	// lines written so that they are not exported again as log records
	// when they come back as extension log lines.
	emf *ownLines
}

// Run runs the extension until SHUTDOWN and returns its exit status.
func Run(ctx context.Context, opts Options) int {
	otlpexporter.Version = Version // the exporters' User-Agent: one version, stamped at build time
	x := &Extension{opts: opts, level: &slog.LevelVar{}, runtimeDone: map[string]chan struct{}{}, started: time.Now(),
		managed: opts.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances",
		flusher: flusher{kickC: make(chan struct{}, 1), stopC: make(chan struct{}), stopped: make(chan struct{}),
			earlyC: make(chan struct{}, 1), earlyStopped: make(chan struct{})}}
	x.redact = &redactWriter{w: opts.Stderr}
	x.emf = newOwnLines(os.Stdout, ownLinesKept)
	x.log = slog.New(newLogHandler(x.redact, x.level))
	// Components that log through slog's default logger (the filter and
	// transform processors) write in the extension's format, redacted.
	slog.SetDefault(x.log)
	if err := x.start(ctx); err != nil {
		return 1
	}
	return x.loop(ctx)
}

// start registers, reads the configuration, starts the receivers and
// subscribes to the Telemetry API. A failure is reported through
// init/error, so that it shows in the function's logs and fails its init.
// Start-up is cold start: the configuration is read and the pipelines
// built, and the Telemetry API listener prepared, while the extension
// registers.
func (x *Extension) start(ctx context.Context) error {
	began := time.Now()
	runtimeAPI := x.opts.Getenv("AWS_LAMBDA_RUNTIME_API")
	if runtimeAPI == "" {
		x.log.Error("AWS_LAMBDA_RUNTIME_API is not set: lambdaotel runs as a Lambda extension (in a layer's extensions/ directory)")
		return errors.New("no runtime API")
	}
	type listened struct {
		l   *telemetryapi.Listener
		err error
	}
	listener := make(chan listened, 1)
	go func() {
		l, err := telemetryapi.Listen(x.onTelemetry, x.log)
		listener <- listened{l, err}
	}()
	type prepared struct {
		errorType string
		err       error
		at        time.Duration
	}
	ready := make(chan prepared, 1)
	go func() {
		errorType, err := x.prepare()
		ready <- prepared{errorType, err, time.Since(began)}
	}()

	x.client = extensionsapi.New(runtimeAPI)
	events := []string{extensionsapi.Invoke, extensionsapi.Shutdown}
	if x.managed {
		// Managed Instances send no INVOKE events to extensions.
		events = []string{extensionsapi.Shutdown}
	}
	reg, err := x.client.Register(ctx, x.opts.Name, events)
	if err != nil {
		x.log.Error("cannot register with the Extensions API", "error", err)
		return err
	}
	registered := time.Since(began)
	p := <-ready
	if p.err != nil {
		x.log.Error(p.err.Error(), "errorType", p.errorType)
		if rerr := x.client.InitError(ctx, p.errorType, "lambdaotel: "+p.err.Error()); rerr != nil {
			x.log.Error("cannot report the init error", "error", rerr)
		}
		return p.err
	}
	if pc := x.comp.PlatformConfig(); pc != nil || x.comp.NeedsInvocations() {
		if pc == nil {
			// No pipeline takes platform telemetry, but a processor decides
			// on whole invocations: the receiver follows them and makes nothing.
			pc = &config.TelemetryAPIReceiver{}
		}
		res, err := telemetryapireceiver.ResourceFromEnv(x.opts.Getenv, reg.AccountID)
		if err != nil {
			x.log.Warn(err.Error())
		}
		x.platform = telemetryapireceiver.New(telemetryapireceiver.Config{
			Spans: x.comp.Produces(pipeline.Traces), Metrics: x.comp.Produces(pipeline.Metrics),
			Logs:           x.comp.Produces(pipeline.Logs) && (pc.Has(config.TelemetryFunction) || pc.Has(config.TelemetryExtension)),
			LogReportLines: pc.LogReportLines, Cumulative: pc.Cumulative,
			AdoptXRayParent: pc.AdoptXRayParent, ExportUnsampled: pc.ExportUnsampled,
			Resource: res, SelfLogPrefix: selfLogPrefix, SelfLine: x.emf.Own, Version: Version,
		})
		x.comp.SetPlatform(x.platform)
	}
	ln := <-listener
	x.subscribe(ctx, runtimeAPI, ln.l, ln.err)
	x.endSignalled.Store(x.platform == nil && !x.managed)
	x.log.Debug("started", "config", x.cfg.Source, "registeredMs", ms(registered), "pipelinesMs", ms(p.at),
		"subscribedMs", ms(time.Since(began)))
	return nil
}

// prepare reads the configuration, builds the pipelines and starts the
// receivers. On failure it returns the error type to report.
func (x *Extension) prepare() (string, error) {
	cfg, err := config.Load(x.layerConfig())
	if err != nil {
		return ErrorConfigInvalid, err
	}
	x.cfg = cfg
	x.redact.set(cfg.Secrets)
	x.level.Set(cfg.Settings.LogLevel)
	x.budget = cfg.Settings.Flush.Budget
	for _, w := range cfg.Warnings {
		x.log.Warn(w)
	}
	buf := bufferBytes(cfg, x.opts.Getenv)
	opts := engineOptions(buf, x.log, x.flusher.kick, x.flusher.arrived, x.emf)
	opts.InvocationEnd = x.invocationEnded
	if x.comp, err = engine.Build(cfg, opts); err != nil {
		return ErrorConfigInvalid, err
	}
	if cfg.Settings.SelfTelemetry {
		x.comp.SetSelfTelemetry(x.selfTelemetry)
	}
	if x.opts.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(buf))
	}
	for _, r := range x.comp.Receivers() {
		if err := r.Start(); err != nil {
			return ErrorStartFailed, err
		}
	}
	x.comp.OpenQueue(cfg.Settings.Spill)
	return "", nil
}

// layerConfig returns the environment's getenv, naming the configuration
// shipped in the extension's own layer (<layer>/lambdaotel/config.yaml,
// i.e. /opt/lambdaotel/config.yaml in Lambda) when no variable names one.
func (x *Extension) layerConfig() func(string) string {
	getenv := x.opts.Getenv
	if x.opts.Executable == "" {
		return getenv
	}
	for _, v := range []string{config.EnvConfig, config.EnvCollectorURI, config.EnvCollectorFile} {
		if getenv(v) != "" {
			return getenv
		}
	}
	path := filepath.Join(filepath.Dir(filepath.Dir(x.opts.Executable)), "lambdaotel", "config.yaml")
	if _, err := os.Stat(path); err != nil {
		return getenv
	}
	return func(k string) string {
		if k == config.EnvConfig {
			return path
		}
		return getenv(k)
	}
}

// subscribe subscribes to the Telemetry API for platform events (to know
// when each invocation ends) and whatever the telemetryapi receivers want.
// Without the API, the extension still works: it flushes at the next
// event instead.
func (x *Extension) subscribe(ctx context.Context, runtimeAPI string, l *telemetryapi.Listener, err error) {
	types := []string{config.TelemetryPlatform}
	if pc := x.comp.PlatformConfig(); pc != nil && x.comp.Produces(pipeline.Logs) {
		for _, t := range pc.Types {
			if t != config.TelemetryPlatform {
				types = append(types, t)
			}
		}
	}
	if err == nil {
		schema := telemetryapi.Schema20221213
		if x.managed {
			schema = telemetryapi.Schema20250129
		}
		if err = l.Subscribe(ctx, x.client.HTTPClient(), runtimeAPI, x.client.ID(), schema, types); err != nil {
			l.Close()
		}
	}
	if err != nil {
		x.log.Warn("Telemetry API unavailable: data is flushed at the next invocation or at shutdown instead of at the end of each invocation", "error", err)
		if x.comp.NeedsInvocations() {
			x.log.Warn("without the Telemetry API no invocation's end is known: the processors that decide on whole invocations pass everything on")
		}
		// No event will come: nothing to make, no invocation will end.
		x.comp.SetPlatform(nil)
		return
	}
	x.tel = l
	x.telemetryOK = true
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// onTelemetry handles a Telemetry API delivery. The platform receiver
// sees the events before an invocation's end is signalled, so that the
// flush that follows includes it.
func (x *Extension) onTelemetry(events []telemetryapi.Event) {
	if x.platform != nil {
		x.platform.Consume(events)
	}
	for i := range events {
		if events[i].Type == "platform.runtimeDone" {
			if x.platform != nil {
				x.platformSince.CompareAndSwap(0, time.Now().UnixNano())
			}
			x.runtimeDoneFor(events[i].RequestID(), true)
		}
	}
}

// invocationEnded handles the function's end-of-invocation signal (see
// otlpreceiver.InvocationEndPath): its instrumentation flushed the
// invocation's data, and sends nothing more for it. When nothing the
// extension makes needs the invocation's Telemetry API events (no platform
// telemetry, no processor deciding on whole invocations), that is the end
// the flush waits for: the flush need not wait for platform.runtimeDone,
// which the Telemetry API delivers 25 ms or more after the response.
func (x *Extension) invocationEnded(requestID string) {
	if !x.endSignalled.Load() {
		x.log.Debug("the function signalled the end of an invocation; waiting for platform.runtimeDone, whose events the pipelines use", "requestId", requestID)
		return
	}
	x.log.Debug("the function signalled the end of an invocation", "requestId", requestID)
	x.runtimeDoneFor(requestID, true)
}

// runtimeDoneFor returns the channel closed when the request's runtimeDone
// arrives, or the function signals the invocation's end; done marks it
// arrived.
func (x *Extension) runtimeDoneFor(requestID string, done bool) chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	ch := x.runtimeDone[requestID]
	if ch == nil {
		if done && len(x.runtimeDone) >= maxRuntimeDone {
			// Nobody waits for runtimeDone when the strategy does not flush
			// at the end: forget the ones that arrived, keep the waited-for.
			for id, c := range x.runtimeDone {
				select {
				case <-c:
					delete(x.runtimeDone, id)
				default:
				}
			}
		}
		ch = make(chan struct{})
		x.runtimeDone[requestID] = ch
	}
	if done {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return ch
}

// loop handles events until SHUTDOWN.
func (x *Extension) loop(ctx context.Context) int {
	x.flusher.init(x)
	if x.flusher.background() {
		go x.flusher.run(ctx)
	}
	if x.flusher.exportsEarly() {
		x.flusher.early = true
		go x.flusher.runEarly(ctx)
	}
	for {
		x.flusher.idleSince(time.Now())
		ev, err := x.client.Next(ctx)
		if err != nil {
			x.log.Error("cannot get the next event; flushing and exiting", "error", err)
			x.shutdown(time.Now().Add(time.Second), "failure")
			return 1
		}
		switch ev.EventType {
		case extensionsapi.Invoke:
			x.invoke(ctx, ev)
		case extensionsapi.Shutdown:
			x.log.Debug("shutdown", "reason", ev.ShutdownReason)
			x.shutdown(ev.Deadline().Add(-shutdownMargin), ev.ShutdownReason)
			return 0
		}
	}
}

// invoke handles an INVOKE event as the flush strategy says.
func (x *Extension) invoke(ctx context.Context, ev *extensionsapi.Event) {
	if x.platform != nil {
		x.platform.Invoke(ev.RequestID, ev.InvokedFunctionARN, ev.Tracing.Value)
		if x.flusher.early {
			// Traces that arrived before this INVOKE was handled wait for it.
			x.flusher.arrived()
		}
	}
	switch x.flusher.mode(time.Now()) {
	case config.StrategyEnd:
		x.flushAtEnd(ctx, ev)
	case config.StrategyPeriodic:
		// While the function runs: what earlier invocations left, once
		// the interval has passed. The invocation itself waits for none
		// of it.
		if x.flusher.strategy == config.StrategyAdaptive {
			// Busy: the function's data leaves as it arrives; what is
			// held older than holdBound is flushed now.
			if x.flusher.due(time.Now(), x.held()) {
				x.flushHeld(ctx, ev)
			}
		} else if x.flusher.due(time.Now(), time.Time{}) {
			x.flushDuring(ctx, ev)
		}
	case config.StrategyContinuous:
		x.flusher.kick()
	}
}

// flushAtEnd waits for the function to finish (platform.runtimeDone, or
// the function's end-of-invocation signal) and for OTLP requests still
// being read, then exports everything within the
// flush budget, before the extension asks for the next event.
func (x *Extension) flushAtEnd(ctx context.Context, ev *extensionsapi.Event) {
	if !x.telemetryOK {
		// Without runtimeDone there is no end to wait for: flush what the
		// previous invocations left, and let this one run.
		x.flushDuring(ctx, ev)
		return
	}
	ch := x.runtimeDoneFor(ev.RequestID, false)
	timer := time.NewTimer(time.Until(ev.Deadline()))
	done := true
	select {
	case <-ch:
	case <-timer.C:
		done = false
	}
	timer.Stop()
	x.mu.Lock()
	delete(x.runtimeDone, ev.RequestID)
	x.mu.Unlock()
	if !done {
		// The function ran out of time: Lambda resets the environment, and
		// the SHUTDOWN that follows flushes everything, with the
		// invocation's platform span and its error, in one trace.
		x.log.Debug("no platform.runtimeDone before the invocation's deadline; flushing at the next event", "requestId", ev.RequestID)
		return
	}
	x.flushDuring(ctx, ev)
}

// flushDuring flushes during the invocation ev: within the budget, and
// before the invocation's deadline — the extensions' time after the
// response counts towards the function's timeout. With too little time left
// it does not start: a request cut short may still reach the backend and
// be sent again later, so the data waits for the next flush instead (after
// a timeout, the SHUTDOWN that follows).
func (x *Extension) flushDuring(ctx context.Context, ev *extensionsapi.Event) {
	now := time.Now()
	end := now.Add(x.budget)
	if d := ev.Deadline().Add(-deadlineMargin); d.Before(end) {
		end = d
	}
	if end.Sub(now) < minFlush {
		x.log.Debug("too close to the invocation's deadline to flush; flushing at the next event", "requestId", ev.RequestID)
		return
	}
	x.flushWithin(ctx, end)
}

// flushWithin waits for in-flight OTLP requests, then flushes what is
// left (the platform's telemetry, late data) while the early exports still
// under way go on, and waits for those too, all before end: the
// invocation's data is at the backend when it returns, one round trip after
// its last part arrived. Flushes never overlap.
func (x *Extension) flushWithin(ctx context.Context, end time.Time) {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.flusher.flushed(time.Now())
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	idle, cancelIdle := context.WithTimeout(ctx, inFlightGrace)
	for _, r := range x.comp.Receivers() {
		_ = r.WaitIdle(idle)
	}
	cancelIdle()
	x.platformSince.Store(0)
	x.comp.Flush(ctx, false)
	x.waitEarly()
}

// waitEarly returns when no early export is under way; each ends within
// the flush budget.
func (x *Extension) waitEarly() {
	x.earlyMu.Lock()
	x.earlyMu.Unlock()
}

// flushHeld flushes during an invocation that has just started, when the
// adaptive strategy is busy: what earlier invocations left (platform
// telemetry, data whose export failed), without waiting for the OTLP
// requests in flight, which are this invocation's.
func (x *Extension) flushHeld(ctx context.Context, ev *extensionsapi.Event) {
	end := time.Now().Add(x.budget)
	if d := ev.Deadline().Add(-deadlineMargin); d.Before(end) {
		end = d
	}
	if time.Until(end) < minFlush {
		return
	}
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.flusher.flushed(time.Now())
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	x.platformSince.Store(0)
	x.comp.Flush(ctx, false)
}

// held returns when the oldest item held in memory arrived: the
// pipelines', or the platform telemetry not yet collected.
func (x *Extension) held() time.Time {
	oldest := x.comp.Held()
	if n := x.platformSince.Load(); n != 0 {
		if t := time.Unix(0, n); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest
}

// flushEarly exports the function's data that arrived, within the flush
// budget (see Engine.FlushEarly). A flush at the end of an invocation
// sends what is left meanwhile, and waits for it.
func (x *Extension) flushEarly(ctx context.Context) {
	x.earlyMu.RLock()
	defer x.earlyMu.RUnlock()
	// The budget counts awake time only: in a busy environment the freeze
	// can catch an early export, and one whose timer expired during the
	// freeze would be sent again at the thaw although its answer is in.
	ctx, cancel := awake.WithTimeout(ctx, x.budget)
	defer cancel()
	began := time.Now()
	x.comp.FlushEarly(ctx)
	x.log.Debug("early export", "ms", ms(time.Since(began)))
}

// shutdown makes the final flush and stops everything, before end. The
// data of the last invocations goes first, then the spill queue, oldest
// first, with the time left; what is still unsent then is abandoned and
// counted.
func (x *Extension) shutdown(end time.Time, reason string) {
	x.flusher.stop()
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.waitEarly()
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	idle, cancelIdle := context.WithTimeout(ctx, inFlightGrace)
	for _, r := range x.comp.Receivers() {
		_ = r.Shutdown(idle)
	}
	cancelIdle()
	// Everything, including what the platform receiver still holds.
	x.comp.Flush(ctx, true)
	x.comp.Shutdown(ctx)
	if x.tel != nil {
		x.tel.Close()
	}
	x.comp.CloseQueue(reason)
	n := x.comp.Counts()
	attrs := []any{"reason", reason, "accepted", n.Accepted, "exported", n.Exported, "retried", n.Retried,
		"spilled", n.Spilled, "replayed", n.Replayed, "rejected", n.Rejected,
		"dropped", n.Dropped, "abandoned", n.Abandoned, "refused", n.Refused, "filtered", n.Filtered}
	x.log.Info("shut down", append(attrs, processorCounts(n, x.comp.ProcessorCounters())...)...)
}

// processorCounts are the shutdown line's counts per processor: the items
// each removed on purpose (filtered.<id>, when any) and each processor's
// own counters (<id>.<attribute values>, e.g.
// lambdaotel_sampling.kept.error).
func processorCounts(n engine.Counts, counters []engine.ProcessorCounter) []any {
	var out []any
	ids := make([]string, 0, len(n.FilteredBy))
	for id, v := range n.FilteredBy {
		if v > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, "filtered."+id, n.FilteredBy[id])
	}
	for _, c := range counters {
		key := c.Processor
		for _, a := range c.Attributes {
			key += "." + a[1]
		}
		out = append(out, key, c.Value)
	}
	return out
}

// engineOptions are the engine's options in the extension: the debug
// exporter writes to stderr, every line starting like the extension's own,
// so that the telemetryapi receiver recognises it when it comes back as an
// extension log line and never exports it again.
func engineOptions(bufferBytes int64, logger *slog.Logger, filling, arrived func(), emf io.Writer) engine.Options {
	return engine.Options{BufferBytes: bufferBytes, Logger: logger, Filling: filling, Arrived: arrived,
		DebugOutput: &prefixWriter{w: os.Stderr, prefix: []byte(selfLogPrefix)}, EMFOutput: emf}
}

// bufferBytes is the buffer limit: the configured one, else a tenth of the
// function's memory, at least 4 MiB.
func bufferBytes(cfg *config.Config, getenv func(string) string) int64 {
	if n := cfg.Settings.Buffer.MaxBytes; n > 0 {
		return n
	}
	mb, _ := strconv.Atoi(strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")))
	return max(int64(mb)<<20/10, 4<<20)
}

// memoryLimit is the soft limit of the Go runtime's memory (see
// runtime/debug.SetMemoryLimit) for a buffer of bufferBytes: the buffer,
// plus room for requests being read and decoded. At rest the extension
// uses far less; under a flood of large requests the collector works
// harder instead of letting garbage double the heap.
func memoryLimit(bufferBytes int64) int64 {
	return bufferBytes + 32<<20
}

// Version is the extension's version, set at build time.
var Version = "dev"

// CheckConfig validates the configuration file at path exactly as the
// extension would at start (reading it, expanding variables with getenv,
// building every component a pipeline uses, without starting them) and
// returns a summary of the pipelines it would run.
func CheckConfig(path string, getenv func(string) string) (string, error) {
	cfg, err := config.LoadFile(path, getenv)
	if err != nil {
		return "", err
	}
	opts := engineOptions(bufferBytes(cfg, getenv), slog.New(slog.DiscardHandler), nil, nil, io.Discard)
	opts.Getenv = getenv
	comp, err := engine.Build(cfg, opts)
	if err != nil {
		return "", err
	}
	comp.Shutdown(context.Background())
	return cfg.Summary(), nil
}
