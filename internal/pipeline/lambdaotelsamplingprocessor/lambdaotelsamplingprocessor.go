// Package lambdaotelsamplingprocessor implements "lambdaotel_sampling":
// tail sampling decided per Lambda invocation, when the invocation has
// ended and its outcome is known.
//
// At the end of each invocation (told by the engine, from the Telemetry
// API's platform.runtimeDone) it keeps or drops the whole invocation: the
// function's spans, the platform's invocation span and its children (the
// telemetryapi receiver's), and, with the option logs, its log records.
// The rules, tried in order, each with the reason counted:
//
//   - timeout: runtimeDone's status is timeout;
//   - error: its status is error or failure, no runtimeDone came, or a
//     span of the invocation has status ERROR;
//   - cold_start: the first invocation after an init;
//   - slow: the runtime took at least slower_than;
//   - condition: a span of the invocation matches one of span_conditions;
//   - percentage: of the rest, percentage % are kept, decided on the trace
//     id as OpenTelemetry's consistent probability sampling decides (see
//     Keep), so that the functions of one distributed trace agree.
//
// Items are tied to an invocation by faas.invocation_id (or the older
// faas.execution) — on the span itself, else on its nearest ancestor in
// the same flush, else on another span of its trace — or by being in the
// invocation's trace (the trace of the function's root span, which the
// platform span joins). The Go library, otellambda, the Node layer and
// the telemetryapi receiver put faas.invocation_id on the invocation's
// span; the receiver puts it on the function's log lines too. Items of an
// invocation not yet decided are held (counted against the pipeline's
// buffer) until its decision; items that arrive after it follow it. Items
// tied to no invocation are kept: they pass at once when an invocation
// ended since the pipeline's previous flush (at the end strategy's flush,
// always), and are otherwise held until one did — a flush during an
// invocation may bring children whose root span, which names the
// invocation, comes later. What is held when the
// environment shuts down, or longer than maxWait, is kept (reason
// undecided): nothing is lost silently. Metrics are never sampled.
package lambdaotelsamplingprocessor

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Reasons of a decision.
const (
	ReasonTimeout    = "timeout"
	ReasonError      = "error"
	ReasonColdStart  = "cold_start"
	ReasonSlow       = "slow"
	ReasonCondition  = "condition"
	ReasonPercentage = "percentage"
	// ReasonUndecided: no end of the invocation came before the
	// environment shut down or within maxWait; its items are kept.
	ReasonUndecided = "undecided"
)

// reasons lists the decisions counted, in the order reported.
var reasons = []struct{ decision, reason string }{
	{"kept", ReasonTimeout}, {"kept", ReasonError}, {"kept", ReasonColdStart}, {"kept", ReasonSlow},
	{"kept", ReasonCondition}, {"kept", ReasonPercentage}, {"kept", ReasonUndecided},
	{"dropped", ReasonPercentage},
}

// Bounds of the state kept.
const (
	// maxWait bounds how long items of an invocation wait for its end:
	// Lambda's longest timeout, 15 minutes, and a margin (the telemetryapi
	// receiver ends an invocation without runtimeDone then too).
	maxWait = 16 * time.Minute
	// maxDecided is how many decided invocations are remembered, so that
	// their late items follow the decision.
	maxDecided = 512
	// maxAncestors bounds the walk up a span's parents.
	maxAncestors = 64
)

// Attributes that name an invocation.
const (
	attrInvocationID = "faas.invocation_id"
	attrExecution    = "faas.execution"
)

// Processor decides per invocation. Its methods are safe for concurrent
// use; one instance serves every pipeline that lists it, and its
// decisions are shared by them (spans and log records of an invocation
// agree), while what it holds is kept per pipeline.
type Processor struct {
	cfg       Config
	threshold uint64 // keep when the trace's randomness is at least this
	now       func() time.Time

	mu      sync.Mutex
	invs    map[string]*invocation
	traces  map[pcommon.TraceID]*invocation
	decided []*invocation // oldest first, at most maxDecided
	held    map[string]*pipeHeld
	counts  map[[2]string]int64
	// ends counts the invocation ends told; untied is the key under which
	// items of no invocation are held (it is never decided).
	ends   uint64
	untied *invocation
}

// invocation is what the processor knows of one invocation.
type invocation struct {
	id    string
	seen  time.Time // first seen (in data or by its end)
	ended bool
	facts processor.Invocation
	// traceIDs are the traces tied to it; rv is an explicit randomness
	// value (tracestate ot=rv:...) of one of its spans, if any.
	traceIDs []pcommon.TraceID
	rv       uint64
	hasRV    bool
	// sawError and matched record its spans: one with status ERROR, one
	// matching a span condition.
	sawError, matched bool

	decided bool
	keep    bool
	reason  string
}

// pipeHeld is what the processor holds for one pipeline, per invocation.
type pipeHeld struct {
	traces map[*invocation]ptrace.Traces
	logs   map[*invocation]plog.Logs
	// ends is the count of invocation ends told when the pipeline was
	// last processed; untiedSince is when items of no invocation were
	// first held (zero when none are).
	ends        uint64
	untiedSince time.Time
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok || c == nil {
		return nil, fmt.Errorf("lambdaotel_sampling processor: no configuration (got %T)", cfg)
	}
	if c.Percentage < 0 || c.Percentage > 100 || math.IsNaN(c.Percentage) {
		return nil, fmt.Errorf("lambdaotel_sampling processor: percentage %v is not from 0 to 100", c.Percentage)
	}
	return &Processor{cfg: *c, threshold: Threshold(c.Percentage), now: time.Now,
		invs: map[string]*invocation{}, traces: map[pcommon.TraceID]*invocation{},
		held: map[string]*pipeHeld{}, counts: map[[2]string]int64{}, untied: &invocation{}}, nil
}

// maxRandomness is 2^56: the randomness of a trace is a 56-bit number.
const maxRandomness = uint64(1) << 56

// Threshold is the rejection threshold of OpenTelemetry's consistent
// probability sampling for a percentage: T = (1 - percentage/100) * 2^56,
// rounded to the nearest integer. A trace is kept when its randomness R is
// at least T (Keep), so 100 % keeps every trace and 0 % none.
func Threshold(percentage float64) uint64 {
	if percentage >= 100 {
		return 0
	}
	if percentage <= 0 {
		return maxRandomness
	}
	return maxRandomness - uint64(math.Round(percentage/100*float64(maxRandomness)))
}

// Randomness returns a trace's 56-bit randomness R as OpenTelemetry's
// sampling specification defines it: the explicit value rv of the
// tracestate's ot entry when there is one (rv, hasRV), else the least
// significant 56 bits (the last 7 bytes) of the trace id, which W3C Trace
// Context level 2 makes random.
func Randomness(traceID pcommon.TraceID, rv uint64, hasRV bool) uint64 {
	if hasRV {
		return rv
	}
	return binary.BigEndian.Uint64(traceID[8:]) & (maxRandomness - 1)
}

// Keep reports whether a trace of randomness r is kept at threshold t:
// r >= t. Any sampler that follows the specification with the same or a
// smaller percentage keeps a subset of these traces: a caller sampled at
// p % and its callee sampled here at p % agree.
func Keep(r, t uint64) bool { return r >= t }

// explicitRandomness reads rv from a W3C tracestate's ot entry
// ("ot=th:...;rv:<14 hex digits>").
func explicitRandomness(ts string) (uint64, bool) {
	for _, member := range strings.Split(ts, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok || k != "ot" {
			continue
		}
		for _, field := range strings.Split(v, ";") {
			if hex, ok := strings.CutPrefix(field, "rv:"); ok && len(hex) == 14 {
				if n, err := strconv.ParseUint(hex, 16, 64); err == nil {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// WholeInvocation reports that the processor holds an invocation's spans,
// and with the option logs its log records, until the invocation ended.
func (p *Processor) WholeInvocation(s pipeline.Signal) bool {
	return s == pipeline.Traces || (s == pipeline.Logs && p.cfg.Logs)
}

// EndInvocation records an invocation's end; it is decided at the next
// Process call, with its spans of that flush.
func (p *Processor) EndInvocation(inv processor.Invocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.invocation(inv.RequestID)
	if in.ended {
		return
	}
	in.ended, in.facts = true, inv
	p.ends++
	if !inv.TraceID.IsEmpty() {
		p.tieTrace(inv.TraceID, in)
	}
}

// invocation returns the state of request id, made if new.
func (p *Processor) invocation(id string) *invocation {
	in := p.invs[id]
	if in == nil {
		in = &invocation{id: id, seen: p.now()}
		p.invs[id] = in
	}
	return in
}

// tieTrace ties a trace to an invocation; a trace already tied to another
// keeps it (items name their invocation directly when they can).
func (p *Processor) tieTrace(t pcommon.TraceID, in *invocation) {
	if _, ok := p.traces[t]; ok || t.IsEmpty() {
		return
	}
	p.traces[t] = in
	in.traceIDs = append(in.traceIDs, t)
}

// invocationID returns the invocation an attribute map names.
func invocationID(m pcommon.Map) string {
	v, ok := m.Get(attrInvocationID)
	if !ok {
		v, ok = m.Get(attrExecution)
	}
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

// decide decides in by the rules, if it ended; with force, an invocation
// that did not end is kept as undecided.
func (p *Processor) decide(in *invocation, force bool) {
	if in.decided || (!in.ended && !force) {
		return
	}
	keep, reason := true, ReasonUndecided
	if in.ended {
		keep, reason = p.rule(in)
	}
	in.decided, in.keep, in.reason = true, keep, reason
	decision := "kept"
	if !keep {
		decision = "dropped"
	}
	p.counts[[2]string{decision, reason}]++
	p.decided = append(p.decided, in)
	if over := len(p.decided) - maxDecided; over > 0 {
		for _, old := range p.decided[:over] {
			p.forget(old)
		}
		p.decided = append(p.decided[:0], p.decided[over:]...)
	}
}

// forget removes a decided invocation: its late items are no longer
// expected (should one come, it waits as undecided and is kept). What a
// pipeline still holds of it is released at that pipeline's next call.
func (p *Processor) forget(in *invocation) {
	if p.invs[in.id] == in {
		delete(p.invs, in.id)
	}
	for _, t := range in.traceIDs {
		if p.traces[t] == in {
			delete(p.traces, t)
		}
	}
}

// rule applies the rules to an ended invocation.
func (p *Processor) rule(in *invocation) (bool, string) {
	f, c := in.facts, &p.cfg
	switch {
	case c.Timeouts && f.Status == processor.StatusTimeout:
		return true, ReasonTimeout
	case c.Errors && (f.Status != processor.StatusSuccess && f.Status != processor.StatusTimeout || in.sawError):
		return true, ReasonError
	case c.ColdStarts && f.ColdStart:
		return true, ReasonColdStart
	case c.SlowerThan > 0 && f.Duration >= c.SlowerThan:
		return true, ReasonSlow
	case in.matched:
		return true, ReasonCondition
	}
	return Keep(p.randomness(in), p.threshold), ReasonPercentage
}

// randomness is the invocation's trace randomness: of its trace (the
// facts', else the first tied), else, with no trace at all, of an FNV-1a
// hash of its request id.
func (p *Processor) randomness(in *invocation) uint64 {
	t := in.facts.TraceID
	if t.IsEmpty() && len(in.traceIDs) > 0 {
		t = in.traceIDs[0]
	}
	if t.IsEmpty() && !in.hasRV {
		h := fnv.New64a()
		h.Write([]byte(in.id))
		return h.Sum64() & (maxRandomness - 1)
	}
	return Randomness(t, in.rv, in.hasRV)
}

// sweep decides what can be: every ended invocation, and, when everything
// must be released or has waited longer than maxWait, the others as
// undecided (kept).
func (p *Processor) sweep(release bool) {
	now := p.now()
	for _, in := range p.invs {
		if !in.decided {
			p.decide(in, release || now.Sub(in.seen) > maxWait)
		}
	}
}

// holdUntied reports whether items of no invocation are held in this
// call for h: only while no invocation end was told since h's previous
// call (an invocation is running: its root span, which names it, may
// still come — an SDK exports children first when a flush comes during
// the invocation), and for maxWait at most. Otherwise they pass, kept.
func (p *Processor) holdUntied(h *pipeHeld, release bool) bool {
	return !release && h.ends == p.ends && (h.untiedSince.IsZero() || p.now().Sub(h.untiedSince) <= maxWait)
}

// endCall records, at the end of a call for h, the ends told and since
// when items of no invocation are held.
func (p *Processor) endCall(h *pipeHeld, untiedHeld bool) {
	h.ends = p.ends
	switch {
	case !untiedHeld:
		h.untiedSince = time.Time{}
	case h.untiedSince.IsZero():
		h.untiedSince = p.now()
	}
}

// pipe returns what is held for pipeline id.
func (p *Processor) pipe(id string) *pipeHeld {
	h := p.held[id]
	if h == nil {
		h = &pipeHeld{traces: map[*invocation]ptrace.Traces{}, logs: map[*invocation]plog.Logs{}}
		p.held[id] = h
	}
	return h
}

// spanKey names a span within a batch.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// ProcessTraces ties the batch's spans to invocations, decides the
// invocations that ended, passes on the spans of kept invocations (those
// held before included) and of no invocation, drops those of dropped ones
// and holds those of invocations not decided yet.
func (p *Processor) ProcessTraces(ctx context.Context, td ptrace.Traces) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	release := processor.MustRelease(ctx)
	h := p.pipe(processor.PipelineOf(ctx))
	// Spans of no invocation held before are tied again with this batch.
	if u, ok := h.traces[p.untied]; ok {
		u.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		delete(h.traces, p.untied)
	}
	holdUntied := p.holdUntied(h, release)

	// 1. Tie: the spans that name their invocation, then the others by
	// their nearest named ancestor, else by their trace.
	named := map[spanKey]*invocation{}
	parents := map[spanKey]pcommon.SpanID{}
	forEachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, sp ptrace.Span) {
		k := spanKey{sp.TraceID(), sp.SpanID()}
		parents[k] = sp.ParentSpanID()
		if id := invocationID(sp.Attributes()); id != "" {
			in := p.invocation(id)
			named[k] = in
			p.tieTrace(sp.TraceID(), in)
		}
	})
	var owners []*invocation // per span, in the order of forEachSpan
	forEachSpan(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, sp ptrace.Span) {
		in := p.owner(sp, named, parents)
		owners = append(owners, in)
		if in == nil || in.decided {
			return
		}
		if !in.hasRV {
			in.rv, in.hasRV = explicitRandomness(sp.TraceState().AsRaw())
		}
		if sp.Status().Code() == ptrace.StatusCodeError {
			in.sawError = true
		}
		if !in.matched && len(p.cfg.SpanConditions) > 0 {
			it := ottlsubset.Item{Resource: rs.Resource(), Scope: ss.Scope(), Span: sp}
			for _, c := range p.cfg.SpanConditions {
				if c.Eval(&it) {
					in.matched = true
					break
				}
			}
		}
	})

	// 2. Decide.
	p.sweep(release)

	// 3. Pass on, drop or hold each span.
	i := 0
	rss := td.ResourceSpans()
	for r := 0; r < rss.Len(); r++ {
		rs := rss.At(r)
		dstRS := map[*invocation]ptrace.ResourceSpans{}
		sss := rs.ScopeSpans()
		for s := 0; s < sss.Len(); s++ {
			ss := sss.At(s)
			dstSS := map[*invocation]ptrace.ScopeSpans{}
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				in := owners[i]
				i++
				if in == nil {
					if !holdUntied {
						return false // of no invocation: kept
					}
					in = p.untied
				}
				switch {
				case in.decided && in.keep:
					return false
				case in.decided:
					return true // dropped: the engine counts it as filtered
				}
				d, ok := dstSS[in]
				if !ok {
					drs, ok := dstRS[in]
					if !ok {
						held, ok := h.traces[in]
						if !ok {
							held = ptrace.NewTraces()
							h.traces[in] = held
						}
						drs = held.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(drs.Resource())
						drs.SetSchemaUrl(rs.SchemaUrl())
						dstRS[in] = drs
					}
					d = drs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(d.Scope())
					d.SetSchemaUrl(ss.SchemaUrl())
					dstSS[in] = d
				}
				sp.MoveTo(d.Spans().AppendEmpty())
				return true
			})
		}
	}
	removeEmptySpans(td)

	// 4. Release what was held for invocations now decided.
	for in, held := range h.traces {
		if !in.decided {
			continue
		}
		if in.keep {
			held.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		delete(h.traces, in)
	}
	_, untied := h.traces[p.untied]
	p.endCall(h, untied)
	return nil
}

// owner returns the invocation a span belongs to, or nil.
func (p *Processor) owner(sp ptrace.Span, named map[spanKey]*invocation, parents map[spanKey]pcommon.SpanID) *invocation {
	k := spanKey{sp.TraceID(), sp.SpanID()}
	for range maxAncestors {
		if in := named[k]; in != nil {
			return in
		}
		parent, ok := parents[k]
		if !ok || parent.IsEmpty() {
			break
		}
		k.span = parent
	}
	return p.traces[sp.TraceID()]
}

// ProcessLogs does for log records what ProcessTraces does for spans,
// with the option logs; without it, log records pass as they are. A log
// record belongs to the invocation its faas.invocation_id names, else to
// the invocation of its trace.
func (p *Processor) ProcessLogs(ctx context.Context, ld plog.Logs) error {
	if !p.cfg.Logs {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	release := processor.MustRelease(ctx)
	h := p.pipe(processor.PipelineOf(ctx))
	if u, ok := h.logs[p.untied]; ok {
		u.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		delete(h.logs, p.untied)
	}
	holdUntied := p.holdUntied(h, release)
	var owners []*invocation
	rls := ld.ResourceLogs()
	for r := 0; r < rls.Len(); r++ {
		sls := rls.At(r).ScopeLogs()
		for s := 0; s < sls.Len(); s++ {
			lrs := sls.At(s).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				var in *invocation
				if id := invocationID(lr.Attributes()); id != "" {
					in = p.invocation(id)
					p.tieTrace(lr.TraceID(), in)
				} else {
					in = p.traces[lr.TraceID()]
				}
				owners = append(owners, in)
			}
		}
	}
	p.sweep(release)
	i := 0
	for r := 0; r < rls.Len(); r++ {
		rl := rls.At(r)
		var dstRL map[*invocation]plog.ResourceLogs
		sls := rl.ScopeLogs()
		for s := 0; s < sls.Len(); s++ {
			sl := sls.At(s)
			var dstSL map[*invocation]plog.ScopeLogs
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				in := owners[i]
				i++
				if in == nil {
					if !holdUntied {
						return false // of no invocation: kept
					}
					in = p.untied
				}
				switch {
				case in.decided && in.keep:
					return false
				case in.decided:
					return true
				}
				if dstSL == nil {
					dstSL = map[*invocation]plog.ScopeLogs{}
				}
				d, ok := dstSL[in]
				if !ok {
					if dstRL == nil {
						dstRL = map[*invocation]plog.ResourceLogs{}
					}
					drl, ok := dstRL[in]
					if !ok {
						held, ok := h.logs[in]
						if !ok {
							held = plog.NewLogs()
							h.logs[in] = held
						}
						drl = held.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(drl.Resource())
						drl.SetSchemaUrl(rl.SchemaUrl())
						dstRL[in] = drl
					}
					d = drl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(d.Scope())
					d.SetSchemaUrl(sl.SchemaUrl())
					dstSL[in] = d
				}
				lr.MoveTo(d.LogRecords().AppendEmpty())
				return true
			})
		}
	}
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		return rl.ScopeLogs().Len() == 0
	})
	for in, held := range h.logs {
		if !in.decided {
			continue
		}
		if in.keep {
			held.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		}
		delete(h.logs, in)
	}
	_, untied := h.logs[p.untied]
	p.endCall(h, untied)
	return nil
}

// Held returns the items held for pipeline id and their size as OTLP.
func (p *Processor) Held(id string) (items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.held[id]
	if h == nil {
		return 0, 0
	}
	var ts ptrace.ProtoMarshaler
	for _, td := range h.traces {
		items += int64(td.SpanCount())
		bytes += int64(ts.TracesSize(td))
	}
	var ls plog.ProtoMarshaler
	for _, ld := range h.logs {
		items += int64(ld.LogRecordCount())
		bytes += int64(ls.LogsSize(ld))
	}
	return items, bytes
}

// Counters returns the invocations decided, per decision and reason.
func (p *Processor) Counters() []processor.Counter {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]processor.Counter, 0, len(reasons))
	for _, r := range reasons {
		out = append(out, processor.Counter{
			Metric:      "lambdaotel.sampling.invocations",
			Description: "invocations lambdaotel_sampling decided on, by decision (kept, dropped) and reason",
			Unit:        "{invocation}",
			Attributes:  [][2]string{{"decision", r.decision}, {"reason", r.reason}},
			Value:       p.counts[[2]string{r.decision, r.reason}],
		})
	}
	return out
}

func forEachSpan(td ptrace.Traces, f func(ptrace.ResourceSpans, ptrace.ScopeSpans, ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				f(rs, ss, spans.At(k))
			}
		}
	}
}

// removeEmptySpans removes the scopes and resources left without spans.
func removeEmptySpans(td ptrace.Traces) {
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool { return ss.Spans().Len() == 0 })
		return rs.ScopeSpans().Len() == 0
	})
}
