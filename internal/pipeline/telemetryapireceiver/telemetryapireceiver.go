// Package telemetryapireceiver turns Lambda Telemetry API events into
// OpenTelemetry data, with no code in the function:
//
//   - traces: one SERVER span per invocation, from platform.start to
//     platform.runtimeDone, named after the function, with faas.trigger,
//     its status and error.type; child spans for the runtime's responseLatency and
//     responseDuration and for the extensions' post-runtime time; on a cold
//     start, an init (or SnapStart restore) span in the first invocation's
//     trace. The function's own root span, when its SDK sent one, becomes a
//     child of the invocation span, which takes over its trace id,
//     upstream parent and faas.trigger: one connected trace per
//     invocation. Without it, the invocation span starts a trace of its
//     own and links to Lambda's X-Ray context (Config.AdoptXRayParent).
//   - metrics: faas.invocations, faas.errors, faas.timeouts,
//     faas.coldstarts, faas.invoke_duration, faas.init_duration,
//     faas.mem_usage, lambdaotel.billed_duration and
//     lambdaotel.post_runtime.duration; delta by default.
//   - logs: every function and extension line, with its severity, the
//     invocation it belongs to and that invocation's trace and span ids;
//     optionally the START, END and REPORT lines.
//
// The package is pure: it neither listens nor sends. The extension feeds it
// each Telemetry API delivery (Consume) and each INVOKE event (Invoke), and
// asks it for data at each flush (Collect, then Drain at shutdown).
package telemetryapireceiver

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// ScopeName is the instrumentation scope of everything the receiver makes.
const ScopeName = "lambdaotel/telemetryapi"

// DefaultSelfLogPrefix starts every line the extension writes to its
// stderr.
const DefaultSelfLogPrefix = "lambdaotel: "

// DefaultMaxPending is how long an invocation without platform.runtimeDone
// (or an init waiting for its first invocation) is kept: Lambda's longest
// timeout, 15 minutes, and a margin.
const DefaultMaxPending = 16 * time.Minute

// Config says what the receiver produces.
type Config struct {
	// Spans, Metrics and Logs turn each signal on.
	Spans, Metrics, Logs bool
	// LogReportLines also makes log records of platform.start,
	// platform.runtimeDone and platform.report, in the text of Lambda's
	// START, END and REPORT lines.
	LogReportLines bool
	// Cumulative makes metrics cumulative since the receiver started;
	// the default is delta (what happened since the previous Collect),
	// which suits environments that come and go.
	Cumulative bool
	// Resource describes the function (see ResourceFromEnv).
	Resource ResourceInfo
	// SelfLogPrefix starts the extension's own log lines: extension lines
	// that start with it are never turned into records (they would come
	// back at every flush). Usually DefaultSelfLogPrefix; empty drops none.
	SelfLogPrefix string
	// SelfLine, if set, reports whether an extension line is one the
	// extension itself wrote without the prefix (the awsemf exporter's
	// records on stdout); such lines are not turned into records either.
	SelfLine func(line string) bool
	// Version is the instrumentation scope's version: the extension's
	// version. Empty means "dev".
	Version string
	// AdoptXRayParent makes an invocation span whose function sent no
	// root span of its own a child of the span in Lambda's X-Ray trace
	// header (platform.start's tracing), in the header's trace, with its
	// sampled flag. Set it only when traces go to AWS X-Ray, which
	// receives that parent: the semantic conventions' AWS Lambda page says
	// that when reporting to another system the X-Ray Lambda context
	// SHOULD NOT be used, or traces break (Lambda's span is never sent to
	// an OTLP backend, and under passive tracing, Lambda's default, the
	// header says Sampled=0). Default false: the invocation span is the
	// root of a new, sampled trace and links to the X-Ray context.
	AdoptXRayParent bool
	// ExportUnsampled exports invocation spans (and their children) whose
	// trace is not sampled — with AdoptXRayParent, a header with
	// Sampled=0 — with the sampled flag clear. Default false: they are
	// not exported, as an SDK with a parent-based sampler would not
	// export them; their metrics and log records are.
	ExportUnsampled bool
	// MaxPending bounds how long an invocation without
	// platform.runtimeDone is kept before it is emitted as it is, with
	// status ERROR "no runtimeDone". Zero means DefaultMaxPending.
	MaxPending time.Duration
}

// Bounds on what the receiver holds between flushes.
const (
	maxOpen        = 1024    // invocations not yet emitted
	maxRecent      = 64      // emitted invocations remembered for late events
	maxInvokes     = 64      // Invoke calls waiting for their platform.start
	maxHeldLogSize = 8 << 20 // bytes of log records held between Collects
)

// Receiver turns Telemetry API events into telemetry. Its methods are safe
// for concurrent use.
type Receiver struct {
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	learned learned
	invs    map[string]*invocation // open and recent, by request id
	open    []*invocation          // not emitted yet, in order of arrival
	recent  []*invocation          // emitted, oldest first
	invokes map[string]invokeInfo  // Invoke calls before their platform.start
	// unknownRoots are copies of function root spans exported before
	// their invocation's platform.start, by request id (unknownOrder:
	// oldest first).
	unknownRoots map[string]ptrace.Span
	unknownOrder []string

	phases        []*phase // init/restore phases not emitted nor placed in an invocation
	lastPhase     *phase   // the latest init or restore
	waiting       *phase   // the cold start waiting for its first invocation
	needColdstart bool     // the next invocation is the first after an init
	sawStart      bool     // an invocation was seen
	sawInit       bool     // an init was seen
	reportInit    bool     // faas.init_duration was recorded from a report without init events
	concurrent    bool     // invocations overlap (Lambda Managed Instances)

	// cur is the invocation running now, to which lines without a request
	// id belong: from its platform.start to its platform.report. curPhase
	// is the init running now, before the first invocation.
	cur      *invocation
	curPhase *phase

	// ended are the facts of the invocations emitted since TakeEnded.
	ended []processor.Invocation

	logs        []heldLog
	logBytes    int
	logsDropped int

	met         metricSet
	started     time.Time
	lastCollect time.Time
}

// invokeInfo is what the Extensions API's INVOKE event says.
type invokeInfo struct {
	arn, xray string
	// spanID is the invocation span's id, chosen at INVOKE so that root
	// spans that leave before platform.start arrives can be its children.
	spanID pcommon.SpanID
}

// invocation is one request, from platform.start to its emission (and a
// little after, for its report and late lines).
type invocation struct {
	id        string
	start     time.Time
	hasStart  bool
	version   string
	xray      string // X-Ray header: platform.start's, else runtimeDone's, else INVOKE's
	arn       string // platform.start functionArn
	invoked   string // invoked ARN from INVOKE
	coldstart bool
	init      *phase // the cold start placed in this invocation's trace
	// trigger is faas.trigger from the function's root span, once it is
	// joined; empty when not known.
	trigger string

	done   *runtimeDoneRecord
	doneAt time.Time

	spanID pcommon.SpanID // the invocation span's id, chosen at once
	// earlyRoot is a copy of the function's root span (with its upstream
	// parent) when it left before the invocation was emitted.
	earlyRoot *ptrace.Span
	// Set when emitted:
	emitted    bool
	traceID    pcommon.TraceID
	parentID   pcommon.SpanID
	flags      uint32
	traceState string
	logSpanID  pcommon.SpanID // the span the invocation's log records point at
	// link is the X-Ray context the span links to when it does not take
	// it as its parent.
	link *xrayLink
}

// xrayLink is a span link to Lambda's X-Ray context.
type xrayLink struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	sampled bool
}

// phase is an init (platform.initStart…initReport) or a SnapStart restore.
type phase struct {
	name           string // spanInit or spanRestore
	start, end     time.Time
	doneSeen       bool
	initType       string
	phase          string
	runtimeVersion string
	status         string
	errorType      string
	spans          []spanRecord
	durationMs     float64
	recorded       bool // faas.init_duration recorded
	ahead          bool // done ahead of invocations (provisioned concurrency): not a cold start
	standalone     bool // emitted in its own trace, not in an invocation's
	inv            *invocation

	spanID  pcommon.SpanID
	emitted bool
	traceID pcommon.TraceID
	flags   uint32
}

// heldLog is a log record waiting for the invocation or init it belongs to
// to be emitted, so that it can carry its trace and span ids.
type heldLog struct {
	rec   plog.LogRecord
	inv   *invocation
	phase *phase
	size  int
}

// New returns a receiver.
func New(cfg Config) *Receiver {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	now := time.Now()
	return &Receiver{
		cfg:         cfg,
		now:         time.Now,
		invs:        map[string]*invocation{},
		invokes:     map[string]invokeInfo{},
		met:         newMetricSet(),
		started:     now,
		lastCollect: now,
	}
}

// Invoke records what the Extensions API's INVOKE event says of a request:
// the invoked ARN (with its alias or version; only INVOKE has it) and the
// X-Ray trace header. Call it for each INVOKE, before or after the
// request's platform.start.
func (r *Receiver) Invoke(requestID, invokedFunctionARN, xrayTraceHeader string) {
	if requestID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := accountFromARN(invokedFunctionARN); a != "" {
		r.learned.accountID = a
	}
	if inv := r.invs[requestID]; inv != nil {
		inv.invoked = invokedFunctionARN
		if inv.xray == "" {
			inv.xray = xrayTraceHeader
		}
		return
	}
	if len(r.invokes) >= maxInvokes {
		clear(r.invokes) // their platform.start never came
	}
	r.invokes[requestID] = invokeInfo{arn: invokedFunctionARN, xray: xrayTraceHeader, spanID: newSpanID()}
}

// Consume takes one Telemetry API delivery. It decodes the events and
// updates the receiver's state; the telemetry is made by Collect.
func (r *Receiver) Consume(events []telemetryapi.Event) {
	decoded := make([]event, 0, len(events))
	for i := range events {
		if e, ok := r.decode(&events[i]); ok {
			decoded = append(decoded, e)
		}
	}
	if len(decoded) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range decoded {
		r.apply(&decoded[i])
	}
}

func (r *Receiver) apply(e *event) {
	switch e.typ {
	case evInitStart:
		r.phaseStart(spanInit, e)
	case evRestoreStart:
		r.phaseStart(spanRestore, e)
	case evInitRuntimeDone, evRestoreRuntimeDone:
		r.phaseDone(e)
	case evInitReport, evRestoreReport:
		r.phaseReport(e)
	case evStart:
		r.invocationStart(e)
	case evRuntimeDone:
		r.runtimeDone(e)
	case evReport:
		r.report(e)
	case evLogsDropped:
		d := e.dropped
		lr := platformLog(e, evLogsDropped, d.Reason, plog.SeverityNumberWarn)
		lr.Attributes().PutInt(attrLogsDroppedRecords, int64(d.DroppedRecords))
		lr.Attributes().PutInt(attrLogsDroppedBytes, int64(d.DroppedBytes))
		r.hold(lr, nil, nil)
	case evFunction, evExtension:
		r.line(e)
	}
}

func (r *Receiver) phaseStart(name string, e *event) {
	rec := e.initStart
	if rec.InstanceID != "" && r.learned.instanceID == "" {
		r.learned.instanceID = rec.InstanceID
	}
	if rec.FunctionName != "" {
		r.learned.functionName = rec.FunctionName
	}
	if rec.FunctionVersion != "" {
		r.learned.version = rec.FunctionVersion
	}
	if r.waiting != nil {
		// A new init before the previous one's invocation: the previous
		// one goes in a trace of its own.
		r.waiting.standalone = true
		r.waiting = nil
	}
	p := &phase{name: name, start: e.time, initType: rec.InitializationType, phase: rec.Phase,
		runtimeVersion: rec.RuntimeVersion, spanID: newSpanID()}
	p.ahead = rec.InitializationType == initProvisioned || rec.InitializationType == initManagedInstance
	r.lastPhase, r.sawInit = p, true
	switch {
	case r.cur != nil && r.cur.done == nil && !r.cur.emitted:
		// A suppressed init (phase "invoke"): Lambda re-runs init inside
		// the invocation after an init failed or timed out. It delays this
		// invocation, which is a cold start.
		p.inv = r.cur
		if r.cur.init == nil {
			r.cur.init = p
		}
		r.cur.coldstart = true
	case p.ahead:
		p.standalone = true
		r.phases = append(r.phases, p)
	default:
		r.phases = append(r.phases, p)
		r.waiting = p
		r.needColdstart = true
	}
	r.curPhase = p
}

func (r *Receiver) phaseDone(e *event) {
	p, rec := r.lastPhase, e.phaseDone
	if p == nil || p.doneSeen {
		return
	}
	p.doneSeen, p.end = true, e.time
	p.status, p.errorType, p.spans = rec.Status, rec.ErrorType, rec.Spans
	if rec.Status != "" && rec.Status != statusSuccess && p.inv == nil {
		// A failed init has no invocation: Lambda runs init again, in the
		// next invocation's invoke phase.
		p.standalone = true
		if r.waiting == p {
			r.waiting = nil
		}
	}
}

func (r *Receiver) phaseReport(e *event) {
	p, rec := r.lastPhase, e.phaseDone
	if p == nil {
		return
	}
	if rec.Metrics.DurationMs > 0 {
		// The one duration of the init: the span ends there, and
		// faas.init_duration records it (when the span is emitted, with
		// the trigger of its first invocation).
		p.durationMs = rec.Metrics.DurationMs
		if p.emitted {
			r.recordInit(p)
		}
	}
	switch {
	case !p.doneSeen && rec.Status != "":
		// The report of an init that never reached initRuntimeDone.
		r.phaseDone(e)
	case p.doneSeen:
		// The report may carry spans initRuntimeDone did not.
		for _, s := range rec.Spans {
			if !slices.Contains(p.spans, s) {
				p.spans = append(p.spans, s)
			}
		}
	}
}

// recordInit records faas.init_duration for p once, with the trigger of
// the invocation it belongs to when known.
func (r *Receiver) recordInit(p *phase) {
	if p.recorded || p.durationMs <= 0 {
		return
	}
	p.recorded = true
	var pt point
	if p.inv != nil {
		pt.trigger = p.inv.trigger
	}
	r.met.initDuration.record(pt, p.durationMs/1e3)
}

func (r *Receiver) invocation(id string) *invocation {
	inv := r.invs[id]
	if inv == nil {
		inv = &invocation{id: id, spanID: newSpanID()}
		if info, ok := r.invokes[id]; ok {
			inv.invoked, inv.xray = info.arn, info.xray
			if !info.spanID.IsEmpty() {
				inv.spanID = info.spanID
			}
			delete(r.invokes, id)
		}
		r.invs[id] = inv
		r.open = append(r.open, inv)
	}
	return inv
}

func (r *Receiver) invocationStart(e *event) {
	rec := e.start
	inv := r.invocation(rec.RequestID)
	if inv.hasStart || inv.emitted {
		return // a duplicate
	}
	inv.start, inv.hasStart = e.time, true
	inv.version, inv.arn = rec.Version, rec.FunctionARN
	if rec.Tracing != nil && rec.Tracing.Value != "" {
		inv.xray = rec.Tracing.Value
	}
	if c := r.cur; c != nil && c != inv && c.done == nil && !c.emitted {
		// The previous invocation is still running: invocations overlap,
		// and lines can only be matched by their request id.
		r.concurrent = true
	}
	if r.needColdstart || (!r.sawStart && !r.sawInit) {
		// The first invocation after an init (or the first this receiver
		// sees: the extension starts with the environment).
		inv.coldstart = true
	}
	r.needColdstart, r.sawStart = false, true
	if p := r.waiting; p != nil {
		p.inv, inv.init = inv, p
		r.waiting = nil
	}
	r.cur, r.curPhase = inv, nil
	if r.cfg.LogReportLines {
		r.hold(platformLog(e, evStart, startLine(inv.id, rec.Version), plog.SeverityNumberInfo), inv, nil)
	}
}

func (r *Receiver) runtimeDone(e *event) {
	rec := e.done
	inv := r.invocation(rec.RequestID)
	if inv.done != nil {
		return // a duplicate
	}
	inv.done, inv.doneAt = rec, e.time
	if !inv.hasStart {
		// platform.start was not seen: the runtime's duration says when it
		// started.
		inv.start = e.time
		if rec.Metrics != nil {
			inv.start = e.time.Add(-msDuration(rec.Metrics.DurationMs))
		}
	}
	if inv.xray == "" && rec.Tracing != nil {
		inv.xray = rec.Tracing.Value
	}
	// The invocation's metrics are recorded when it is emitted, when its
	// trigger is known (recordInvocation); a late runtimeDone, now.
	if inv.emitted {
		r.recordDone(inv)
	}
	if r.cfg.LogReportLines {
		r.hold(platformLog(e, evRuntimeDone, endLine(inv.id), plog.SeverityNumberInfo), inv, nil)
	}
}

// recordInvocation records the metrics of an invocation being emitted:
// faas.coldstarts, and with its runtimeDone faas.invocations,
// faas.errors, faas.timeouts and faas.invoke_duration (with error.type
// when it failed, so that failures and timeouts do not mix into the
// latency of successes).
func (r *Receiver) recordInvocation(inv *invocation) {
	if inv.coldstart {
		r.met.coldstarts.add(point{trigger: inv.trigger})
	}
	r.recordDone(inv)
}

// recordDone records the metrics of an invocation's runtimeDone.
func (r *Receiver) recordDone(inv *invocation) {
	d := inv.done
	if d == nil {
		return
	}
	pt := point{trigger: inv.trigger}
	failed := pt
	if d.Status != statusSuccess {
		failed.errorType = errorType(d.Status, d.ErrorType)
	}
	switch d.Status {
	case statusSuccess:
		r.met.invocations.add(pt)
	case statusTimeout:
		r.met.timeouts.add(pt)
		r.met.errors.add(failed)
	default:
		r.met.errors.add(failed)
	}
	if d.Metrics != nil {
		r.met.invokeDuration.record(failed, d.Metrics.DurationMs/1e3)
	}
}

// errorType is error.type for a runtime status and Lambda's errorType.
func errorType(status, lambdaErrorType string) string {
	switch {
	case lambdaErrorType != "":
		return lambdaErrorType
	case status != "":
		return status
	}
	return errorTypeOther
}

func (r *Receiver) report(e *event) {
	rec := e.report
	inv := r.invs[rec.RequestID]
	if inv != nil && inv.done == nil && !inv.emitted && rec.Status != "" {
		// No platform.runtimeDone came (Lambda Managed Instances send
		// none): the report ends the invocation, with the same fields.
		done := &runtimeDoneRecord{RequestID: rec.RequestID, Status: rec.Status, ErrorType: rec.ErrorType,
			Spans: rec.Spans, Tracing: rec.Tracing}
		if rec.Metrics.DurationMs > 0 {
			done.Metrics = &runtimeMetrics{DurationMs: rec.Metrics.DurationMs}
		}
		r.runtimeDone(&event{time: e.time, observed: e.observed, done: done})
	}
	m := &rec.Metrics
	var pt point
	if inv != nil {
		pt.trigger = inv.trigger
	}
	if m.BilledDurationMs > 0 {
		r.met.billed.record(pt, m.BilledDurationMs/1e3)
	}
	if m.MaxMemoryUsedMB > 0 {
		r.met.memUsage.record(pt, m.MaxMemoryUsedMB*(1<<20))
	}
	if inv != nil && inv.done != nil && inv.done.Metrics != nil && m.DurationMs > 0 {
		r.met.postRun.record(pt, max(0, m.DurationMs-inv.done.Metrics.DurationMs)/1e3)
	}
	for _, d := range []float64{m.InitDurationMs, m.RestoreDurationMs} {
		if d <= 0 {
			continue
		}
		p := r.lastPhase
		if inv != nil && inv.init != nil {
			p = inv.init
		}
		switch {
		case p != nil && !p.recorded:
			if p.durationMs <= 0 {
				p.durationMs = d
			}
			if p.emitted {
				r.recordInit(p)
			}
		case p == nil && !r.reportInit:
			r.reportInit = true
			r.met.initDuration.record(pt, d/1e3)
		}
	}
	if r.cfg.LogReportLines {
		r.hold(platformLog(e, evReport, reportLine(rec), plog.SeverityNumberInfo), inv, nil)
	}
	if r.cur != nil && r.cur == inv {
		r.cur = nil
	}
}

// line holds a function or extension line for the invocation it belongs
// to: the one its request id names, else the one running now.
func (r *Receiver) line(e *event) {
	var inv *invocation
	var ph *phase
	if e.logReq != "" {
		inv = r.invs[e.logReq]
		if inv != nil || e.logJSON {
			e.log.Attributes().PutStr(attrFaaSInvocationID, e.logReq)
		}
	}
	if inv == nil && !e.logJSON {
		switch {
		case r.cur != nil && !r.concurrent:
			inv = r.cur
			e.log.Attributes().PutStr(attrFaaSInvocationID, inv.id)
		case r.cur == nil && r.curPhase != nil:
			ph = r.curPhase
		}
	}
	r.hold(e.log, inv, ph)
}

func (r *Receiver) hold(lr plog.LogRecord, inv *invocation, ph *phase) {
	if !r.cfg.Logs {
		return
	}
	size := 64 + lr.Attributes().Len()*32
	if lr.Body().Type() == pcommon.ValueTypeStr {
		size += len(lr.Body().Str())
	}
	if r.logBytes+size > maxHeldLogSize {
		r.logsDropped++
		return
	}
	r.logBytes += size
	r.logs = append(r.logs, heldLog{rec: lr, inv: inv, phase: ph, size: size})
}

// newSpanID returns a random, non-zero span id.
func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// newTraceID returns a random, non-zero trace id.
func newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}
