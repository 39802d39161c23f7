package telemetryapireceiver

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span flags: the W3C sampled bit, and OTLP's "the parent is remote" bits
// (SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK | SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK).
const (
	flagSampled       = 0x01
	flagsTrace        = 0xff
	flagsRemoteParent = 0x300
)

// Collect returns the telemetry made since the previous call:
//
//   - the spans of every invocation whose platform.runtimeDone has arrived,
//     and of those that waited longer than Config.MaxPending without one
//     (with status ERROR "no runtimeDone"); an invocation still running is
//     kept for a later call;
//   - the metrics of that time;
//   - the log records whose invocation has been emitted (their trace and
//     span ids are then known).
//
// functionTraces is what the function's SDK sent since the previous call,
// possibly empty. Collect edits it in place to join the traces: the root
// span of each invocation (the span whose faas.invocation_id is the request
// id and whose parent is not in functionTraces) becomes a child of the
// invocation span, which takes over its trace id and upstream parent. Call
// Collect at each flush, with the whole batch of function traces, before
// it is exported.
func (r *Receiver) Collect(functionTraces ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return r.collect(functionTraces, false)
}

// Drain is Collect at shutdown: it also emits what would otherwise wait (an
// invocation without runtimeDone, an init without invocation, and the log
// records that belong to them).
func (r *Receiver) Drain(functionTraces ptrace.Traces) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	return r.collect(functionTraces, true)
}

// Join joins function traces to the invocation spans already emitted,
// without collecting anything: for a second copy of the function's traces
// (another traces pipeline), after Collect was given the first.
func (r *Receiver) Join(functionTraces ptrace.Traces) {
	if !r.cfg.Spans || functionTraces == (ptrace.Traces{}) || functionTraces.SpanCount() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := make(map[string]*invocation, len(r.recent))
	for _, inv := range r.recent {
		want[inv.id] = inv
	}
	for inv, roots := range findRoots(functionTraces, want) {
		reparent(roots, inv)
	}
}

func (r *Receiver) collect(ft ptrace.Traces, drain bool) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	td, md, ld := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()

	ready := r.takeReady(now, drain)
	phases := r.takePhases(now, drain)
	r.resolve(ready, phases, ft)
	if r.cfg.Spans && len(ready)+len(phases) > 0 {
		rs := td.ResourceSpans().AppendEmpty()
		r.cfg.Resource.fill(rs.Resource().Attributes(), &r.learned)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(ScopeName)
		ss.Scope().SetVersion(r.cfg.Version)
		spans := ss.Spans()
		for _, inv := range ready {
			r.appendInvocation(spans, inv, now)
		}
		for _, p := range phases {
			appendPhase(spans, p, pcommon.SpanID{}, now)
		}
	}
	r.remember(ready)
	r.collectLogs(ld, now, drain)
	r.collectMetrics(md, now)
	r.lastCollect = now
	return td, md, ld
}

// takeReady removes from the open invocations those to emit now.
func (r *Receiver) takeReady(now time.Time, drain bool) []*invocation {
	var ready []*invocation
	over := len(r.open) - maxOpen
	keep := r.open[:0]
	for i, inv := range r.open {
		if inv.done != nil || drain || i < over || now.Sub(inv.start) > r.cfg.MaxPending {
			ready = append(ready, inv)
		} else {
			keep = append(keep, inv)
		}
	}
	clear(r.open[len(keep):])
	r.open = keep
	return ready
}

// takePhases removes the init phases to emit now in a trace of their own:
// failed inits, inits done ahead of invocations, and inits that waited
// too long for their first invocation. Those placed in an invocation are
// emitted with it.
func (r *Receiver) takePhases(now time.Time, drain bool) []*phase {
	var out []*phase
	keep := r.phases[:0]
	for _, p := range r.phases {
		switch {
		case p.inv != nil || p.emitted:
		case p.standalone && p.doneSeen, drain, now.Sub(p.start) > r.cfg.MaxPending:
			if r.waiting == p {
				r.waiting = nil
			}
			p.standalone = true
			out = append(out, p)
		default:
			keep = append(keep, p)
		}
	}
	clear(r.phases[len(keep):])
	r.phases = keep
	return out
}

// resolve gives each invocation to emit its trace id and parent (from the
// function's root span, else from the X-Ray header), and joins the
// function's root spans to the invocation spans.
func (r *Receiver) resolve(ready []*invocation, phases []*phase, ft ptrace.Traces) {
	var roots map[*invocation][]ptrace.Span
	if len(ready)+len(r.recent)+len(r.open) > 0 && ft != (ptrace.Traces{}) && ft.SpanCount() > 0 {
		want := make(map[string]*invocation, len(ready)+len(r.recent)+len(r.open))
		if r.cfg.Spans {
			for _, inv := range r.recent {
				want[inv.id] = inv
			}
		}
		for _, inv := range r.open {
			want[inv.id] = inv
		}
		for _, inv := range ready {
			want[inv.id] = inv
		}
		roots = findRoots(ft, want)
	}
	// Root spans that arrive before their invocation's runtimeDone (a
	// flush while the invocation runs: Managed Instances, periodic and
	// continuous flushing) leave now: the invocation takes their trace id
	// and upstream parent at once, and they become children of its span,
	// whose id is known already.
	for _, inv := range r.open {
		if rs := roots[inv]; len(rs) > 0 && !inv.early {
			inv.adoptRoot(rs[0])
			inv.early = true
			if r.cfg.Spans {
				reparent(rs, inv)
				inv.logSpanID = inv.spanID
			}
		}
	}
	if r.cfg.Spans {
		// Root spans that arrive after their invocation was emitted (an
		// SDK that exported late) are joined when they are in its trace.
		for _, inv := range r.recent {
			reparent(roots[inv], inv)
		}
	}
	r.rememberEarlyRoots(ft)
	for _, inv := range ready {
		inv.emitted = true
		if er, ok := r.earlyRoots[inv.id]; ok && !inv.early && len(roots[inv]) == 0 {
			// Its root span left before its platform.start came: the
			// invocation joins that trace, beside the root.
			inv.traceID, inv.parentID, inv.flags, inv.traceState = er.traceID, er.parentID, er.flags, er.traceState
			inv.logSpanID, inv.early = er.spanID, true
			if r.cfg.Spans {
				inv.logSpanID = inv.spanID
			}
		}
		delete(r.earlyRoots, inv.id)
		if rs := roots[inv]; len(rs) > 0 {
			if !inv.early {
				inv.adoptRoot(rs[0])
			}
			if r.cfg.Spans {
				reparent(rs, inv)
				inv.logSpanID = inv.spanID
			}
		} else if inv.early {
			// Its root spans left with an earlier flush.
		} else {
			if tid, parent, sampled, ok := parseXRay(inv.xray); ok {
				inv.traceID, inv.parentID = tid, parent
				if sampled {
					inv.flags = flagSampled
				}
				if !parent.IsEmpty() {
					inv.flags |= flagsRemoteParent
				}
			} else {
				inv.traceID, inv.flags = newTraceID(), flagSampled
			}
			if r.cfg.Spans {
				inv.logSpanID = inv.spanID
			}
		}
		if p := inv.init; p != nil {
			p.emitted, p.traceID, p.flags = true, inv.traceID, inv.flags&flagsTrace
		}
	}
	for _, p := range phases {
		p.emitted, p.traceID, p.flags = true, newTraceID(), flagSampled
	}
}

// earlyRoot is the trace of a function's root span that was exported
// before the receiver saw its invocation's platform.start.
type earlyRoot struct {
	traceID          pcommon.TraceID
	parentID, spanID pcommon.SpanID
	flags            uint32
	traceState       string
}

// maxEarlyRoots bounds the early roots remembered.
const maxEarlyRoots = 256

// rememberEarlyRoots remembers the trace of the function's root spans in
// ft whose invocation is unknown yet: on Managed Instances an invocation
// can end, and a flush take its spans, before the Telemetry API delivers
// its platform.start. The invocation span then joins that trace.
func (r *Receiver) rememberEarlyRoots(ft ptrace.Traces) {
	if ft == (ptrace.Traces{}) || ft.SpanCount() == 0 {
		return
	}
	var cands []ptrace.Span
	forEachSpan(ft, func(sp ptrace.Span) {
		v, ok := sp.Attributes().Get(attrFaaSInvocationID)
		if !ok {
			v, ok = sp.Attributes().Get(attrFaaSExecution)
		}
		if !ok || v.Type() != pcommon.ValueTypeStr {
			return
		}
		if _, known := r.invs[v.Str()]; !known {
			cands = append(cands, sp)
		}
	})
	if len(cands) == 0 {
		return
	}
	present := map[pcommon.SpanID]bool{}
	forEachSpan(ft, func(sp ptrace.Span) { present[sp.SpanID()] = true })
	if r.earlyRoots == nil {
		r.earlyRoots = map[string]earlyRoot{}
	}
	for _, sp := range cands {
		v, _ := sp.Attributes().Get(attrFaaSInvocationID)
		if v.Type() != pcommon.ValueTypeStr {
			v, _ = sp.Attributes().Get(attrFaaSExecution)
		}
		id := v.Str()
		if p := sp.ParentSpanID(); !p.IsEmpty() && present[p] {
			continue
		}
		if _, seen := r.earlyRoots[id]; seen {
			continue
		}
		if len(r.earlyOrder) >= maxEarlyRoots {
			delete(r.earlyRoots, r.earlyOrder[0])
			r.earlyOrder = r.earlyOrder[1:]
		}
		r.earlyRoots[id] = earlyRoot{traceID: sp.TraceID(), parentID: sp.ParentSpanID(), spanID: sp.SpanID(),
			flags: sp.Flags(), traceState: sp.TraceState().AsRaw()}
		r.earlyOrder = append(r.earlyOrder, id)
	}
}

// adoptRoot gives the invocation the trace of the function's root span.
func (inv *invocation) adoptRoot(root ptrace.Span) {
	inv.traceID, inv.parentID = root.TraceID(), root.ParentSpanID()
	inv.flags, inv.traceState = root.Flags(), root.TraceState().AsRaw()
	inv.logSpanID = root.SpanID()
}

// findRoots finds, for each invocation of want, the function's root spans:
// those with its request id in faas.invocation_id (or faas.execution) whose
// parent is not in ft. The earliest comes first.
func findRoots(ft ptrace.Traces, want map[string]*invocation) map[*invocation][]ptrace.Span {
	type candidate struct {
		inv *invocation
		sp  ptrace.Span
	}
	var cands []candidate
	forEachSpan(ft, func(sp ptrace.Span) {
		attrs := sp.Attributes()
		v, ok := attrs.Get(attrFaaSInvocationID)
		if !ok {
			v, ok = attrs.Get(attrFaaSExecution)
		}
		if ok && v.Type() == pcommon.ValueTypeStr {
			if inv := want[v.Str()]; inv != nil {
				cands = append(cands, candidate{inv, sp})
			}
		}
	})
	if len(cands) == 0 {
		return nil
	}
	type key struct {
		trace pcommon.TraceID
		span  pcommon.SpanID
	}
	traces := map[pcommon.TraceID]bool{}
	for _, c := range cands {
		traces[c.sp.TraceID()] = true
	}
	present := map[key]bool{}
	forEachSpan(ft, func(sp ptrace.Span) {
		if traces[sp.TraceID()] {
			present[key{sp.TraceID(), sp.SpanID()}] = true
		}
	})
	roots := map[*invocation][]ptrace.Span{}
	for _, c := range cands {
		parent := c.sp.ParentSpanID()
		if !parent.IsEmpty() && present[key{c.sp.TraceID(), parent}] {
			continue
		}
		rs := append(roots[c.inv], c.sp)
		if n := len(rs) - 1; n > 0 && rs[n].StartTimestamp() < rs[0].StartTimestamp() {
			rs[0], rs[n] = rs[n], rs[0]
		}
		roots[c.inv] = rs
	}
	return roots
}

// reparent makes the function's root spans of inv children of its
// invocation span: those in the same trace with the same upstream parent.
func reparent(roots []ptrace.Span, inv *invocation) {
	for _, sp := range roots {
		if sp.TraceID() == inv.traceID && sp.ParentSpanID() == inv.parentID {
			sp.SetParentSpanID(inv.spanID)
			sp.SetFlags(sp.Flags() | flagsRemoteParent)
		}
	}
}

func forEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k))
			}
		}
	}
}

// remember keeps the emitted invocations for their report and late lines.
func (r *Receiver) remember(ready []*invocation) {
	r.recent = append(r.recent, ready...)
	if over := len(r.recent) - maxRecent; over > 0 {
		for _, inv := range r.recent[:over] {
			if r.invs[inv.id] == inv {
				delete(r.invs, inv.id)
			}
		}
		r.recent = append(r.recent[:0], r.recent[over:]...)
	}
}

func ts(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// spanName is the invocation span's name: the function's name
// (https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/: "Span name
// MUST be set to the function name from the Lambda Context").
func (r *Receiver) spanName(inv *invocation) string {
	if n := r.cfg.Resource.functionName(&r.learned); n != "" {
		return n
	}
	for _, arn := range []string{inv.arn, inv.invoked} {
		if p := lambdaARN(arn); p != nil {
			return p[6]
		}
	}
	return "lambda"
}

// appendInvocation appends the invocation's span and its children: the
// runtime's spans (responseLatency, responseDuration), the post-runtime
// span, and the cold start's init span.
//
// responseLatency and responseDuration become child spans rather than
// span events: they have a start and a duration, which a span shows on the
// trace's timeline and an event (a point in time) would not.
func (r *Receiver) appendInvocation(spans ptrace.SpanSlice, inv *invocation, now time.Time) {
	sp := spans.AppendEmpty()
	sp.SetTraceID(inv.traceID)
	sp.SetSpanID(inv.spanID)
	sp.SetParentSpanID(inv.parentID)
	sp.SetFlags(inv.flags)
	if inv.traceState != "" {
		sp.TraceState().FromRaw(inv.traceState)
	}
	sp.SetName(r.spanName(inv))
	sp.SetKind(ptrace.SpanKindServer)
	end := now
	if inv.done != nil {
		end = inv.doneAt
		// Event times have millisecond precision; the runtime's duration
		// is finer and keeps the span at least as long as its children.
		if m := inv.done.Metrics; m != nil && m.DurationMs > 0 {
			end = inv.start.Add(time.Duration(m.DurationMs * float64(time.Millisecond)))
		}
	}
	if end.Before(inv.start) {
		end = inv.start
	}
	sp.SetStartTimestamp(ts(inv.start))
	sp.SetEndTimestamp(ts(end))

	// https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/ (all
	// triggers) and https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/.
	// faas.trigger is left out: the Telemetry API does not say what
	// triggered the invocation.
	a := sp.Attributes()
	a.EnsureCapacity(10)
	a.PutStr(attrFaaSInvocationID, inv.id)
	a.PutBool(attrFaaSColdstart, inv.coldstart)
	if inv.invoked != "" {
		a.PutStr(attrAWSLambdaInvokedARN, inv.invoked)
	}
	acct := accountFromARN(inv.invoked)
	if acct == "" {
		acct = r.cfg.Resource.accountID(&r.learned)
	}
	if acct != "" {
		a.PutStr(attrCloudAccountID, acct)
	}
	if id := r.resourceID(inv); id != "" {
		a.PutStr(attrCloudResourceID, id)
	}
	d := inv.done
	switch {
	case d == nil:
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage("no runtimeDone")
		a.PutStr(attrErrorType, errorTypeOther)
	default:
		a.PutStr(attrRuntimeStatus, d.Status)
		if d.Metrics != nil {
			a.PutDouble(attrRuntimeDurationMs, d.Metrics.DurationMs)
			a.PutInt(attrRuntimeProducedBytes, int64(d.Metrics.ProducedBytes))
		}
		// Recording errors: status ERROR and error.type; success leaves the
		// status unset. https://opentelemetry.io/docs/specs/semconv/general/recording-errors/
		if d.Status != statusSuccess {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(d.Status)
			a.PutStr(attrErrorType, errorType(d.Status, d.ErrorType))
		}
	}
	flags := inv.flags & flagsTrace
	if d != nil {
		for _, s := range d.Spans {
			if start, end, ok := s.interval(); ok {
				appendChild(spans, inv.traceID, inv.spanID, flags, s.Name, start, end)
			}
		}
		// The extensions' time after the response: from runtimeDone to
		// this flush. What the flush itself takes shows in
		// aws.lambda.post_runtime_extensions_duration, from the report.
		// Without a freeze per invocation (Managed Instances) there is no
		// post-runtime phase.
		if !r.concurrent && now.After(inv.doneAt) {
			appendChild(spans, inv.traceID, inv.spanID, flags, spanPostRuntime, inv.doneAt, now)
		}
	}
	if p := inv.init; p != nil {
		appendPhase(spans, p, inv.spanID, now)
	}
}

func appendChild(spans ptrace.SpanSlice, traceID pcommon.TraceID, parent pcommon.SpanID, flags uint32, name string, start, end time.Time) {
	sp := spans.AppendEmpty()
	sp.SetTraceID(traceID)
	sp.SetSpanID(newSpanID())
	sp.SetParentSpanID(parent)
	sp.SetFlags(flags)
	sp.SetName(name)
	sp.SetKind(ptrace.SpanKindInternal)
	sp.SetStartTimestamp(ts(start))
	sp.SetEndTimestamp(ts(end))
}

// appendPhase appends an init or restore span: a child of parent (the
// first invocation's span), or a root in a trace of its own.
func appendPhase(spans ptrace.SpanSlice, p *phase, parent pcommon.SpanID, now time.Time) {
	sp := spans.AppendEmpty()
	sp.SetTraceID(p.traceID)
	sp.SetSpanID(p.spanID)
	sp.SetParentSpanID(parent)
	sp.SetFlags(p.flags)
	sp.SetName(p.name)
	sp.SetKind(ptrace.SpanKindInternal)
	end := p.end
	if !p.doneSeen {
		end = now
	}
	if end.Before(p.start) {
		end = p.start
	}
	sp.SetStartTimestamp(ts(p.start))
	sp.SetEndTimestamp(ts(end))
	a := sp.Attributes()
	if p.initType != "" {
		a.PutStr(attrInitType, p.initType)
	}
	if p.phase != "" {
		a.PutStr(attrInitPhase, p.phase)
	}
	if p.runtimeVersion != "" {
		a.PutStr(attrInitRuntimeVersion, p.runtimeVersion)
	}
	if p.durationMs > 0 {
		a.PutDouble(attrInitDurationMs, p.durationMs)
	}
	switch {
	case !p.doneSeen:
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage("no " + p.name + "RuntimeDone")
		a.PutStr(attrErrorType, errorTypeOther)
	case p.status != "" && p.status != statusSuccess:
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage(p.status)
		a.PutStr(attrErrorType, errorType(p.status, p.errorType))
	}
	for _, s := range p.spans {
		if start, end, ok := s.interval(); ok {
			appendChild(spans, p.traceID, p.spanID, p.flags&flagsTrace, s.Name, start, end)
		}
	}
}

// collectLogs moves the held log records whose invocation or init has been
// emitted into ld, with its trace and span ids.
func (r *Receiver) collectLogs(ld plog.Logs, now time.Time, drain bool) {
	if len(r.logs) == 0 && r.logsDropped == 0 {
		return
	}
	rl := ld.ResourceLogs().AppendEmpty()
	r.cfg.Resource.fill(rl.Resource().Attributes(), &r.learned)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	sl.Scope().SetVersion(r.cfg.Version)
	records := sl.LogRecords()
	if r.logsDropped > 0 {
		lr := records.AppendEmpty()
		lr.SetTimestamp(ts(now))
		lr.SetObservedTimestamp(ts(now))
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText(plog.SeverityNumberWarn.String())
		lr.Body().SetStr(fmt.Sprintf("lambdaotel telemetryapi receiver: %d log records dropped: more than %d MiB of log records between two flushes", r.logsDropped, maxHeldLogSize>>20))
		r.logsDropped = 0
	}
	keep := r.logs[:0]
	for _, h := range r.logs {
		var traceID pcommon.TraceID
		var spanID pcommon.SpanID
		var flags uint32
		switch {
		case h.inv != nil && h.inv.emitted:
			traceID, spanID, flags = h.inv.traceID, h.inv.logSpanID, h.inv.flags
		case h.phase != nil && h.phase.emitted:
			traceID, spanID, flags = h.phase.traceID, h.phase.spanID, h.phase.flags
		case (h.inv != nil || h.phase != nil) && !drain:
			keep = append(keep, h)
			continue
		}
		r.logBytes -= h.size
		lr := records.AppendEmpty()
		h.rec.MoveTo(lr)
		if !traceID.IsEmpty() {
			lr.SetTraceID(traceID)
			lr.SetSpanID(spanID)
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(flags&flagSampled != 0))
		}
	}
	clear(r.logs[len(keep):])
	r.logs = keep
	if records.Len() == 0 {
		ld.ResourceLogs().RemoveIf(func(plog.ResourceLogs) bool { return true })
	}
}

// collectMetrics writes the metrics since the previous Collect (delta) or
// since the receiver started (cumulative) into md.
func (r *Receiver) collectMetrics(md pmetric.Metrics, now time.Time) {
	temporality, start := pmetric.AggregationTemporalityDelta, r.lastCollect
	if r.cfg.Cumulative {
		temporality, start = pmetric.AggregationTemporalityCumulative, r.started
	}
	if r.cfg.Metrics {
		rm := md.ResourceMetrics().AppendEmpty()
		sm := rm.ScopeMetrics().AppendEmpty()
		r.met.appendTo(sm.Metrics(), temporality, ts(start), ts(now))
		if sm.Metrics().Len() == 0 {
			md.ResourceMetrics().RemoveIf(func(pmetric.ResourceMetrics) bool { return true })
		} else {
			r.cfg.Resource.fill(rm.Resource().Attributes(), &r.learned)
			sm.Scope().SetName(ScopeName)
			sm.Scope().SetVersion(r.cfg.Version)
		}
	}
	if !r.cfg.Cumulative {
		r.met.reset()
	}
}
