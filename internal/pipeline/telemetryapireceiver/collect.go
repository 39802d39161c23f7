package telemetryapireceiver

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/processor"
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

// JoinEarly joins function traces that leave while their invocation runs
// (an export during the invocation) to the invocation spans, without
// collecting anything: the root spans of a running invocation become
// children of its span (whose id is chosen at INVOKE or platform.start),
// and a copy of each is kept so that the invocation span takes its trace,
// upstream parent and trigger when it is emitted. It reports false, and
// changes nothing, when a root span belongs to an invocation the receiver
// knows nothing of yet (its INVOKE has not been handed to Invoke): the
// traces must not leave before it is.
func (r *Receiver) JoinEarly(functionTraces ptrace.Traces) bool {
	if functionTraces == (ptrace.Traces{}) || functionTraces.SpanCount() == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Spans {
		unknown := map[string]*invocation{}
		forEachSpan(functionTraces, func(sp ptrace.Span) {
			v, ok := sp.Attributes().Get(attrFaaSInvocationID)
			if !ok {
				v, ok = sp.Attributes().Get(attrFaaSExecution)
			}
			if !ok || v.Type() != pcommon.ValueTypeStr {
				return
			}
			_, known := r.invs[v.Str()]
			_, invoked := r.invokes[v.Str()]
			if !known && !invoked {
				unknown[v.Str()] = &invocation{id: v.Str()}
			}
		})
		if len(unknown) > 0 && len(findRoots(functionTraces, unknown)) > 0 {
			return false
		}
	}
	r.learnInstance(functionTraces)
	r.resolve(nil, nil, functionTraces)
	return true
}

func (r *Receiver) collect(ft ptrace.Traces, drain bool) (ptrace.Traces, pmetric.Metrics, plog.Logs) {
	td, md, ld := ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()

	ready := r.takeReady(now, drain)
	phases := r.takePhases(now, drain)
	r.learnInstance(ft)
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

// learnInstance takes faas.instance from the resource of the function's
// own telemetry, so that the platform's resource and the function SDK's
// agree. On AWS Lambda, faas.instance is the log stream name
// (AWS_LAMBDA_LOG_STREAM_NAME, what the OpenTelemetry Lambda resource
// detectors and this project's Go library set), a variable Lambda gives
// the runtime but not extensions. Resources of another function are
// ignored.
func (r *Receiver) learnInstance(ft ptrace.Traces) {
	if ft == (ptrace.Traces{}) || r.cfg.Resource.Instance != "" {
		return
	}
	name := r.cfg.Resource.functionName(&r.learned)
	rss := ft.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		attrs := rss.At(i).Resource().Attributes()
		v, ok := attrs.Get(attrFaaSInstance)
		if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
			continue
		}
		if n, ok := attrs.Get(attrFaaSName); ok && name != "" && n.AsString() != name {
			continue
		}
		r.learned.instanceID = v.Str()
		return
	}
}

// resolve gives each invocation to emit its trace id and parent, and joins
// the function's root spans to the invocation spans. An invocation whose
// function sent a root span takes that span's trace, upstream parent and
// faas.trigger; one without takes the X-Ray header's trace and parent
// only with Config.AdoptXRayParent, and otherwise starts a sampled trace
// of its own that links to the X-Ray context. Each invocation's metrics
// are recorded here, with its trigger.
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
	roots = r.earlyRoots(roots, ready, ft)
	if r.cfg.Spans {
		// Root spans that arrive after their invocation was emitted (an
		// SDK that exported late) are joined when they are in its trace.
		for _, inv := range r.recent {
			reparent(roots[inv], inv)
		}
	}
	for _, inv := range ready {
		inv.emitted = true
		xTrace, xParent, xSampled, xOK := parseXRay(inv.xray)
		if rs := roots[inv]; len(rs) > 0 {
			first := rs[0]
			inv.traceID, inv.parentID = first.TraceID(), first.ParentSpanID()
			// An SDK exports only sampled spans; older ones leave the
			// flags at zero ("unknown").
			inv.flags, inv.traceState = first.Flags()|flagSampled, first.TraceState().AsRaw()
			if v, ok := first.Attributes().Get(attrFaaSTrigger); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
				inv.trigger = v.Str()
			}
			inv.logSpanID = first.SpanID()
			if r.cfg.Spans {
				reparent(rs, inv)
				inv.logSpanID = inv.spanID
			}
		} else {
			if r.cfg.AdoptXRayParent && xOK {
				inv.traceID, inv.parentID = xTrace, xParent
				if xSampled {
					inv.flags = flagSampled
				}
				if !xParent.IsEmpty() {
					inv.flags |= flagsRemoteParent
				}
			} else {
				inv.traceID, inv.flags = newTraceID(), flagSampled
			}
			if r.cfg.Spans {
				inv.logSpanID = inv.spanID
			}
		}
		if xOK && !xParent.IsEmpty() && (inv.traceID != xTrace || inv.parentID != xParent) {
			inv.link = &xrayLink{traceID: xTrace, spanID: xParent, sampled: xSampled}
		}
		r.recordInvocation(inv)
		r.recordEnded(inv)
		if p := inv.init; p != nil {
			p.emitted, p.traceID, p.flags = true, inv.traceID, inv.flags&flagsTrace
			r.recordInit(p)
		}
	}
	for _, p := range phases {
		p.emitted, p.traceID, p.flags = true, newTraceID(), flagSampled
		r.recordInit(p)
	}
}

// maxEnded bounds the finished invocations kept for TakeEnded.
const maxEnded = 1024

// recordEnded keeps the facts of an invocation being emitted for
// TakeEnded.
func (r *Receiver) recordEnded(inv *invocation) {
	e := processor.Invocation{RequestID: inv.id, TraceID: inv.traceID, ColdStart: inv.coldstart}
	if d := inv.done; d != nil {
		e.Status, e.ErrorType = d.Status, d.ErrorType
		if d.Metrics != nil {
			e.Duration = msDuration(d.Metrics.DurationMs)
		}
	}
	if len(r.ended) >= maxEnded {
		r.ended = append(r.ended[:0], r.ended[1:]...)
	}
	r.ended = append(r.ended, e)
}

// TakeEnded returns the invocations emitted (by Collect or Drain) since the
// previous call, in order, with what is known of each: for the processors
// that decide on whole invocations. Call it after each Collect or Drain.
func (r *Receiver) TakeEnded() []processor.Invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ended
	r.ended = nil
	return out
}

// earlyRoots handles the function's root spans that leave before their
// invocation is emitted: a flush while the invocation runs (on Managed
// Instances, with periodic or continuous flushing) takes them before
// platform.runtimeDone, or even before platform.start arrives. A copy of
// each (with its upstream parent) is kept; the root spans of an open
// invocation become children of its span at once (its id is chosen at
// platform.start). roots gains, for each ready invocation whose root spans
// are not in this flush, the copy kept, so that the invocation takes that
// trace, parent and trigger as if they were here.
func (r *Receiver) earlyRoots(roots map[*invocation][]ptrace.Span, ready []*invocation, ft ptrace.Traces) map[*invocation][]ptrace.Span {
	for _, inv := range r.open {
		rs := roots[inv]
		if len(rs) == 0 {
			continue
		}
		if inv.earlyRoot == nil {
			c := ptrace.NewSpan()
			rs[0].CopyTo(c)
			inv.earlyRoot = &c
		}
		if r.cfg.Spans {
			for _, sp := range rs {
				if sp.TraceID() == inv.earlyRoot.TraceID() && sp.ParentSpanID() == inv.earlyRoot.ParentSpanID() {
					sp.SetParentSpanID(inv.spanID)
					sp.SetFlags(sp.Flags() | flagsRemoteParent)
				}
			}
		}
	}
	r.rememberUnknownRoots(ft)
	for _, inv := range ready {
		if len(roots[inv]) > 0 {
			delete(r.unknownRoots, inv.id)
			continue
		}
		root := inv.earlyRoot
		if c, ok := r.unknownRoots[inv.id]; ok && root == nil {
			root = &c
		}
		delete(r.unknownRoots, inv.id)
		if root == nil {
			continue
		}
		if roots == nil {
			roots = map[*invocation][]ptrace.Span{}
		}
		roots[inv] = []ptrace.Span{*root}
	}
	return roots
}

// maxUnknownRoots bounds the root spans of unknown invocations kept.
const maxUnknownRoots = 256

// rememberUnknownRoots keeps a copy of the function's root spans in ft
// whose invocation the receiver has not seen yet (its platform.start is
// still in the Telemetry API's buffer), by request id.
func (r *Receiver) rememberUnknownRoots(ft ptrace.Traces) {
	if ft == (ptrace.Traces{}) || ft.SpanCount() == 0 {
		return
	}
	var unknown map[string]*invocation
	forEachSpan(ft, func(sp ptrace.Span) {
		v, ok := sp.Attributes().Get(attrFaaSInvocationID)
		if !ok {
			v, ok = sp.Attributes().Get(attrFaaSExecution)
		}
		if !ok || v.Type() != pcommon.ValueTypeStr {
			return
		}
		if _, known := r.invs[v.Str()]; !known {
			if unknown == nil {
				unknown = map[string]*invocation{}
			}
			unknown[v.Str()] = &invocation{id: v.Str()}
		}
	})
	if len(unknown) == 0 {
		return
	}
	if r.unknownRoots == nil {
		r.unknownRoots = map[string]ptrace.Span{}
	}
	for inv, rs := range findRoots(ft, unknown) {
		c, seen := r.unknownRoots[inv.id]
		if !seen {
			if len(r.unknownOrder) >= maxUnknownRoots {
				delete(r.unknownRoots, r.unknownOrder[0])
				r.unknownOrder = r.unknownOrder[1:]
			}
			c = ptrace.NewSpan()
			rs[0].CopyTo(c)
			r.unknownRoots[inv.id] = c
			r.unknownOrder = append(r.unknownOrder, inv.id)
		}
		// The INVOKE event came: the invocation span's id is known, and
		// the roots leaving now become its children.
		if info, ok := r.invokes[inv.id]; ok && r.cfg.Spans && !info.spanID.IsEmpty() {
			reparent(rs, &invocation{traceID: c.TraceID(), parentID: c.ParentSpanID(), spanID: info.spanID})
		}
	}
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
	if inv.flags&flagSampled == 0 && !r.cfg.ExportUnsampled {
		return // the trace is not sampled (Config.ExportUnsampled)
	}
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

	if l := inv.link; l != nil {
		sl := sp.Links().AppendEmpty()
		sl.SetTraceID(l.traceID)
		sl.SetSpanID(l.spanID)
		if l.sampled {
			sl.SetFlags(flagSampled)
		}
	}

	// https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/ (all
	// triggers) and https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/.
	// faas.trigger is Required: the Telemetry API does not say what
	// triggered the invocation, the function's own span does; without
	// it, "other".
	a := sp.Attributes()
	a.EnsureCapacity(11)
	a.PutStr(attrFaaSInvocationID, inv.id)
	trigger := inv.trigger
	if trigger == "" {
		trigger = triggerOther
	}
	a.PutStr(attrFaaSTrigger, trigger)
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
		sp.Status().SetMessage("no platform.runtimeDone received")
		a.PutStr(attrErrorType, errorTypeOther)
	default:
		a.PutStr(attrRuntimeStatus, d.Status)
		if d.Metrics != nil {
			a.PutDouble(attrRuntimeDuration, d.Metrics.DurationMs/1e3)
			if d.Metrics.ProducedBytes != nil {
				a.PutInt(attrRuntimeProducedBytes, int64(*d.Metrics.ProducedBytes))
			}
		}
		// Recording errors: status ERROR and error.type; success leaves the
		// status unset. The description is left empty: Lambda says nothing
		// more than the status and error type, which it must not repeat.
		// https://opentelemetry.io/docs/specs/semconv/general/recording-errors/
		if d.Status != statusSuccess {
			sp.Status().SetCode(ptrace.StatusCodeError)
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
	// One source of truth for the init's duration: initReport's
	// durationMs (which faas.init_duration records) when it came, else
	// initRuntimeDone's time.
	end := p.end
	switch {
	case p.durationMs > 0:
		end = p.start.Add(msDuration(p.durationMs))
	case !p.doneSeen:
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
		a.PutDouble(attrInitDuration, p.durationMs/1e3)
	}
	switch {
	case !p.doneSeen:
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage("no platform." + p.name + "RuntimeDone received")
		a.PutStr(attrErrorType, errorTypeOther)
	case p.status != "" && p.status != statusSuccess:
		sp.Status().SetCode(ptrace.StatusCodeError)
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
