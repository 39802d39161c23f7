package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// counters count items (spans, data points, log records) over the life of
// the extension.
type counters struct {
	exported    atomic.Int64 // accepted by a backend
	retried     atomic.Int64 // sent again after a retryable failure
	interrupted atomic.Int64 // in flight when the environment froze, sent again
	spilled     atomic.Int64 // written to the spill queue
	replayed    atomic.Int64 // sent from the spill queue
	rejected    atomic.Int64 // refused by a backend in a partial success
	dropped     atomic.Int64 // lost: permanent failure, full queue, no queue
	abandoned   atomic.Int64 // still unsent at shutdown
	made        atomic.Int64 // made by the extension for a pipeline: platform and self-telemetry
}

// Flush exports everything the pipelines hold, with the platform
// telemetry of the invocations that ended (all of it when final), every
// pipeline and exporter at once, until ctx ends. What could not be sent
// in time goes to the spill queue; when every export succeeded, the queue
// is replayed, oldest first, with the time left. Calls of Flush must not
// overlap one another; they may overlap FlushEarly's, which export what
// they took before.
func (x *Engine) Flush(ctx context.Context, final bool) {
	batches := make([]buffer.Batch, len(x.pipes))
	x.takeMu.Lock()
	for i, p := range x.pipes {
		batches[i] = p.take()
	}
	if x.platform != nil {
		x.addPlatform(batches, final)
		// The processors that decide on whole invocations learn of those
		// that ended before they see the data this flush exports.
		x.processMu.Lock()
		x.endInvocations(x.platform.TakeEnded())
		x.processMu.Unlock()
	}
	x.takeMu.Unlock()
	x.addSelfTelemetry(batches, final)
	// Without a source of invocation ends, nothing held could ever be
	// decided: it is passed on at once.
	failed := x.export(ctx, batches, true, final || x.platform == nil)
	x.processMu.Lock()
	x.endFlush(final)
	x.processMu.Unlock()
	if !failed {
		x.replay(ctx)
	}
}

// FlushEarly exports what the pipelines that export early hold (see
// exportsEarly), while the invocation still runs: the function's data as
// it arrives, so that at the invocation's end only the platform's
// telemetry is left to send. Root spans of running invocations are joined
// to their invocation spans first. It collects no platform telemetry, adds
// no self-telemetry and replays nothing: that is Flush's. What could not be
// sent in time goes to the spill queue, as in Flush. Calls of FlushEarly
// may overlap one another and a Flush.
func (x *Engine) FlushEarly(ctx context.Context) {
	batches := make([]buffer.Batch, len(x.pipes))
	some := false
	x.takeMu.Lock()
	for i, p := range x.pipes {
		if p.exportsEarly() {
			batches[i] = p.take()
			some = some || !batches[i].Empty()
		}
	}
	if some && x.platform != nil {
		for i, p := range x.pipes {
			if p.exportsEarly() && p.platform && p.signal == pipeline.Traces && !batches[i].Empty() && !x.platform.JoinEarly(batches[i].Traces) {
				// Its INVOKE is not handled yet: it waits for the next flush.
				p.waiting, batches[i] = batches[i], buffer.Batch{}
				p.waitingSince.Store(p.waiting.Since.UnixNano())
			}
		}
	}
	x.takeMu.Unlock()
	if some {
		// The extension's own metrics go with Flush only: stamped there,
		// one flush at a time, their points reach a backend in order
		// (remote write refuses a series' older or same-millisecond point).
		x.export(ctx, batches, false, false)
	}
}

// exportsEarly reports whether the pipeline exports the function's data as
// it arrives, during the invocation (FlushEarly), rather than at the
// invocation's end only. It is the one place that decides it: a pipeline
// whose processors need an invocation's whole data before they can
// decide (lambdaotel_sampling), or that keep items across flushes, must
// not export early.
func (p *pipe) exportsEarly() bool { return !p.holds }

// Held returns when the oldest item the pipelines hold in memory arrived:
// buffered, or in an export that has not ended. It is the zero time when
// they hold nothing.
func (x *Engine) Held() time.Time {
	var oldest time.Time
	x.flyingMu.Lock()
	for n := range x.flying {
		if t := time.Unix(0, n); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	x.flyingMu.Unlock()
	for _, p := range x.pipes {
		waiting := time.Time{}
		if n := p.waitingSince.Load(); n != 0 {
			waiting = time.Unix(0, n)
		}
		for _, t := range []time.Time{p.buf.Since(), waiting} {
			if !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
	}
	return oldest
}

// export processes and exports batches (one per pipeline, in x.pipes'
// order) to every exporter of their pipelines at once, until ctx ends,
// and keeps what could not be sent. It reports whether an export failed.
// With holders (a Flush), a pipeline whose processors hold items runs even
// without new items, so that they pass on what they decided; release tells
// them to pass on everything they hold.
func (x *Engine) export(ctx context.Context, batches []buffer.Batch, holders, release bool) bool {
	var since time.Time
	for _, b := range batches {
		if !b.Since.IsZero() && (since.IsZero() || b.Since.Before(since)) {
			since = b.Since
		}
	}
	if !since.IsZero() {
		n := since.UnixNano()
		x.flyingMu.Lock()
		if x.flying == nil {
			x.flying = map[int64]int{}
		}
		x.flying[n]++
		x.flyingMu.Unlock()
		defer func() {
			x.flyingMu.Lock()
			if x.flying[n]--; x.flying[n] <= 0 {
				delete(x.flying, n)
			}
			x.flyingMu.Unlock()
		}()
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	// Processors keep state and are not made for concurrent calls: early
	// exports run side by side, their processing one at a time.
	x.processMu.Lock()
	for i, p := range x.pipes {
		batch := batches[i]
		if batch.Empty() && !(holders && p.holds) {
			continue
		}
		if !x.process(ctx, p, batch, release) {
			continue
		}
		if itemsOf(p.signal, batch) == 0 {
			continue
		}
		for j, e := range p.exporters {
			b := batch
			if j < len(p.exporters)-1 {
				b = copyBatch(batch, p.signal)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := x.deliver(ctx, e, parts(p.signal, b))
				if len(out.rest) > 0 {
					failed.Store(true)
					x.keep(e, out.rest, out.err)
				}
			}()
		}
	}
	x.processMu.Unlock()
	wg.Wait()
	return failed.Load()
}

// process runs the pipeline's processors on its batch, in order. A
// processor that fails drops the batch (counted and logged), as in the
// collector: data it should have changed is not sent unchanged. What a
// processor removes on purpose (items in minus items out, leaving out
// what it holds for a later flush) is counted as filtered, per processor;
// what processors hold counts against the pipeline's buffer. release
// tells processors that hold items to pass them all on (the last flush).
func (x *Engine) process(ctx context.Context, p *pipe, batch buffer.Batch, release bool) bool {
	ctx = processor.WithFlush(ctx, p.id, release)
	n := itemsOf(p.signal, batch)
	var heldItems, heldBytes int64
	defer func() {
		if p.holds {
			p.buf.Hold(heldItems, heldBytes)
		}
	}()
	for _, st := range p.processors {
		before, _ := st.held(p.id)
		if err := st.process(ctx, batch); err != nil {
			n := itemsOf(p.signal, batch)
			x.stats.dropped.Add(n)
			x.log.Warn("a processor failed: data dropped", "pipeline", p.id, "processor", st.id, "items", n, "error", err)
			return false
		}
		out := itemsOf(p.signal, batch)
		after, bytes := st.held(p.id)
		if d := n + before - out - after; d > 0 && x.filtered[st.id] != nil {
			x.filtered[st.id].Add(d)
		}
		heldItems, heldBytes = heldItems+after, heldBytes+bytes
		n = out
	}
	return true
}

// addPlatform joins the function's traces to the platform's (in every
// traces pipeline that takes platform telemetry) and adds the platform
// telemetry to the batches of the pipelines that take it.
func (x *Engine) addPlatform(batches []buffer.Batch, final bool) {
	var (
		td      ptrace.Traces
		md      pmetric.Metrics
		ld      plog.Logs
		collect = true
	)
	for i, p := range x.pipes {
		if !p.platform || p.signal != pipeline.Traces {
			continue
		}
		if !collect {
			x.platform.Join(batches[i].Traces)
			continue
		}
		if final {
			td, md, ld = x.platform.Drain(batches[i].Traces)
		} else {
			td, md, ld = x.platform.Collect(batches[i].Traces)
		}
		collect = false
	}
	if collect {
		// No traces pipeline takes platform telemetry, so the receiver
		// makes no spans and changes none: it is given the function's
		// traces only to learn each invocation's trace.
		collected := ptrace.NewTraces()
		for i, p := range x.pipes {
			if p.signal == pipeline.Traces {
				collected = batches[i].Traces
				break
			}
		}
		if final {
			td, md, ld = x.platform.Drain(collected)
		} else {
			td, md, ld = x.platform.Collect(collected)
		}
	}
	counts := map[pipeline.Signal]int{}
	for _, p := range x.pipes {
		if p.platform {
			counts[p.signal]++
		}
	}
	for i, p := range x.pipes {
		if !p.platform {
			continue
		}
		counts[p.signal]--
		x.stats.made.Add(itemsOf(p.signal, buffer.Batch{Traces: td, Metrics: md, Logs: ld}))
		if counts[p.signal] > 0 {
			// Another pipeline takes the same data: give this one a copy.
			addSignal(&batches[i], p.signal, copyBatch(buffer.Batch{Traces: td, Metrics: md, Logs: ld}, p.signal))
		} else {
			addSignal(&batches[i], p.signal, buffer.Batch{Traces: td, Metrics: md, Logs: ld})
		}
	}
}

// addSelfTelemetry adds the extension's own metrics to the first metrics
// pipeline, when the batches hold something else to send (they ride along,
// costing no request of their own: an export at the end of an invocation
// that has nothing else left waits for no backend) or the flush is the
// final one. They are cumulative: sent less often, nothing is lost.
func (x *Engine) addSelfTelemetry(batches []buffer.Batch, final bool) {
	if x.selfTelemetry == nil {
		return
	}
	some := final
	for _, b := range batches {
		some = some || !b.Empty()
	}
	if !some {
		return
	}
	for i, p := range x.pipes {
		if p.signal != pipeline.Metrics {
			continue
		}
		md := x.selfTelemetry()
		x.stats.made.Add(int64(md.DataPointCount()))
		addSignal(&batches[i], pipeline.Metrics, buffer.Batch{Metrics: md})
		return
	}
}

// Counts are the engine's counters of items (spans, data points, log
// records) since it was built.
type Counts struct {
	Accepted    int64 // handed to the pipelines: by the receivers, and made by the extension
	Exported    int64 // accepted by a backend
	Retried     int64 // sent again after a retryable failure
	Interrupted int64 // in flight when the environment froze, sent again
	Spilled     int64 // written to the spill queue
	Replayed    int64 // sent from the spill queue
	Rejected    int64 // refused by a backend in a partial success
	Dropped     int64 // lost: permanent failure, full or damaged queue, no queue
	Abandoned   int64 // still unsent at shutdown
	Refused     int64 // refused to a client, which was told (and keeps them)
	// Filtered counts the items processors removed on purpose (a
	// filter's match, a sampler's drop): not lost, left out as configured.
	Filtered int64
	// FilteredBy is Filtered per processor id, for every processor built.
	FilteredBy map[string]int64
}

// Counts returns the counters now.
func (x *Engine) Counts() Counts {
	c := Counts{
		Accepted: x.stats.made.Load(), Exported: x.stats.exported.Load(), Retried: x.stats.retried.Load(),
		Interrupted: x.stats.interrupted.Load(), Spilled: x.stats.spilled.Load(), Replayed: x.stats.replayed.Load(),
		Rejected: x.stats.rejected.Load(), Dropped: x.stats.dropped.Load(), Abandoned: x.stats.abandoned.Load(),
	}
	for _, p := range x.pipes {
		st := p.buf.Stats()
		c.Accepted += st.Accepted.Total()
		c.Refused += st.Rejected.Total()
	}
	if x.queue != nil {
		c.Dropped += x.queue.lost()
	}
	c.FilteredBy = make(map[string]int64, len(x.filtered))
	for id, n := range x.filtered {
		c.FilteredBy[id] = n.Load()
		c.Filtered += n.Load()
	}
	return c
}

// itemsOf counts the spans, data points or log records of signal s in b.
func itemsOf(s pipeline.Signal, b buffer.Batch) int64 {
	o := ops[s]
	return o.count(o.of(b))
}

// addSignal moves signal s of from into b.
func addSignal(b *buffer.Batch, s pipeline.Signal, from buffer.Batch) {
	o := ops[s]
	f := o.of(from)
	b.Items.Add(s, o.count(f))
	o.moveTo(f, o.of(*b))
}

// copyBatch copies the signal s of b, for a second exporter.
func copyBatch(b buffer.Batch, s pipeline.Signal) buffer.Batch {
	o := ops[s]
	c := b
	o.set(&c, o.copy(o.of(b)))
	return c
}
