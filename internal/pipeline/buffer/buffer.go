// Package buffer holds telemetry between the extension's receivers and its
// exporters: a bounded in-memory Buffer that implements pipeline.Consumer,
// and Split functions that cut a batch into requests below a size limit.
//
// Sizes are the size of the data encoded as an OTLP protobuf request, as
// the pdata ProtoMarshaler's Sizer computes them: not the memory the data
// takes, but proportional to it and cheap to compute.
package buffer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Buffer is a bounded in-memory buffer of traces, metrics and logs. Consume*
// add data; Take removes everything at once. It is safe for concurrent use.
type Buffer struct {
	maxBytes int64
	maxItems int64

	mu      sync.Mutex
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs
	items   Counts    // items buffered now
	bytes   int64     // bytes buffered now
	since   time.Time // when the oldest item buffered now arrived
	stats   Stats
	// heldItems and heldBytes are held outside the buffer for it (by a
	// processor that decides later) and count against its limits.
	heldItems, heldBytes int64
}

var _ pipeline.Consumer = (*Buffer)(nil)

// MinItemBytes is what an item costs of a Buffer's limit at least: the
// encoded size of an empty span is two bytes, but decoded it takes about
// 200, so a limit in encoded bytes alone would let a request of millions of
// empty items through. A Buffer of maxBytes holds at most
// maxBytes/MinItemBytes items.
const MinItemBytes = 64

// New returns an empty Buffer that holds at most maxBytes bytes of data
// (encoded size, see the package doc) and maxBytes/MinItemBytes items;
// maxBytes <= 0 means no limit.
func New(maxBytes int64) *Buffer {
	return &Buffer{
		maxBytes: maxBytes,
		maxItems: max(1, maxBytes/MinItemBytes),
		traces:   ptrace.NewTraces(),
		metrics:  pmetric.NewMetrics(),
		logs:     plog.NewLogs(),
	}
}

// Counts counts items per signal.
type Counts struct {
	Spans      int64
	DataPoints int64
	LogRecords int64
}

// Of returns the count of signal's items.
func (c Counts) Of(s pipeline.Signal) int64 {
	switch s {
	case pipeline.Traces:
		return c.Spans
	case pipeline.Metrics:
		return c.DataPoints
	case pipeline.Logs:
		return c.LogRecords
	}
	return 0
}

// Total returns the sum of the counts.
func (c Counts) Total() int64 { return c.Spans + c.DataPoints + c.LogRecords }

// Add adds n items of signal s.
func (c *Counts) Add(s pipeline.Signal, n int64) { c.add(s, n) }

func (c *Counts) add(s pipeline.Signal, n int64) {
	switch s {
	case pipeline.Traces:
		c.Spans += n
	case pipeline.Metrics:
		c.DataPoints += n
	case pipeline.Logs:
		c.LogRecords += n
	}
}

// Stats counts the items a Buffer accepted and refused since it was
// created. A refused item is not lost: the client was told (retry later, or
// never fits) and keeps it.
type Stats struct {
	Accepted Counts
	// Rejected counts the items refused because the buffer was full or they
	// were more than it holds.
	Rejected Counts
	// RejectedRequests counts the Consume and Admit calls that returned
	// ErrFull or ErrTooLarge.
	RejectedRequests int64
}

// ConsumeTraces moves td's spans into the buffer, leaving td empty. If they
// do not fit, it leaves td as it is and returns an error wrapping
// pipeline.ErrFull.
func (b *Buffer) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(td))
	n := int64(td.SpanCount())
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.admitLocked(pipeline.Traces, size, n); err != nil {
		return err
	}
	if td.IsReadOnly() {
		rss := td.ResourceSpans()
		for i := range rss.Len() {
			rss.At(i).CopyTo(b.traces.ResourceSpans().AppendEmpty())
		}
	} else {
		td.ResourceSpans().MoveAndAppendTo(b.traces.ResourceSpans())
	}
	return nil
}

// ConsumeMetrics moves md's metrics into the buffer, leaving md empty. If
// they do not fit, it leaves md as it is and returns an error wrapping
// pipeline.ErrFull.
func (b *Buffer) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	size := int64((&pmetric.ProtoMarshaler{}).MetricsSize(md))
	n := int64(md.DataPointCount())
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.admitLocked(pipeline.Metrics, size, n); err != nil {
		return err
	}
	if md.IsReadOnly() {
		rms := md.ResourceMetrics()
		for i := range rms.Len() {
			rms.At(i).CopyTo(b.metrics.ResourceMetrics().AppendEmpty())
		}
	} else {
		md.ResourceMetrics().MoveAndAppendTo(b.metrics.ResourceMetrics())
	}
	return nil
}

// ConsumeLogs moves ld's log records into the buffer, leaving ld empty. If
// they do not fit, it leaves ld as it is and returns an error wrapping
// pipeline.ErrFull.
func (b *Buffer) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	size := int64((&plog.ProtoMarshaler{}).LogsSize(ld))
	n := int64(ld.LogRecordCount())
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.admitLocked(pipeline.Logs, size, n); err != nil {
		return err
	}
	if ld.IsReadOnly() {
		rls := ld.ResourceLogs()
		for i := range rls.Len() {
			rls.At(i).CopyTo(b.logs.ResourceLogs().AppendEmpty())
		}
	} else {
		ld.ResourceLogs().MoveAndAppendTo(b.logs.ResourceLogs())
	}
	return nil
}

// admitLocked accounts for size bytes holding n items of signal, or counts
// them as rejected and returns an error wrapping pipeline.ErrTooLarge (they
// never fit) or pipeline.ErrFull (not now).
func (b *Buffer) admitLocked(signal pipeline.Signal, size, n int64) error {
	if err := b.checkLocked(signal, size, n); err != nil {
		b.stats.Rejected.add(signal, n)
		b.stats.RejectedRequests++
		return err
	}
	if b.items.Total() == 0 {
		b.since = time.Now()
	}
	b.bytes += size
	b.items.add(signal, n)
	b.stats.Accepted.add(signal, n)
	return nil
}

// checkLocked returns the error admitLocked would, without counting;
// size < 0 means unknown.
func (b *Buffer) checkLocked(signal pipeline.Signal, size, n int64) error {
	if b.maxBytes <= 0 {
		return nil
	}
	switch {
	case size > b.maxBytes:
		return fmt.Errorf("%w: %d %s (%d bytes) are more than the whole buffer holds (%d bytes)",
			pipeline.ErrTooLarge, n, itemName(signal), size, b.maxBytes)
	case n > b.maxItems:
		return fmt.Errorf("%w: %d %s are more than the whole buffer holds (%d items, one per %d bytes of its %d)",
			pipeline.ErrTooLarge, n, itemName(signal), b.maxItems, MinItemBytes, b.maxBytes)
	case b.bytes+b.heldBytes+size > b.maxBytes:
		return fmt.Errorf("%w: %d %s (%d bytes) do not fit: %d of %d bytes in use%s; retry after the next flush",
			pipeline.ErrFull, n, itemName(signal), size, b.bytes+b.heldBytes, b.maxBytes, b.heldNote())
	case b.items.Total()+b.heldItems+n > b.maxItems:
		return fmt.Errorf("%w: %d %s do not fit: %d of %d items in use%s; retry after the next flush",
			pipeline.ErrFull, n, itemName(signal), b.items.Total()+b.heldItems, b.maxItems, b.heldNote())
	}
	return nil
}

// Admit tells, before a request is decoded, whether n items of signal in
// a request of size bytes (as sent; 0 if not known) could be consumed now:
// nil, an error wrapping pipeline.ErrTooLarge if they never fit, or one
// wrapping pipeline.ErrFull if they do not fit now. A refusal is counted as
// Consume's are; nil reserves nothing.
func (b *Buffer) Admit(signal pipeline.Signal, size, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.checkLocked(signal, size, n)
	if err != nil {
		b.stats.Rejected.add(signal, n)
		b.stats.RejectedRequests++
	}
	return err
}

// heldNote says how much of the use is held by a processor, if any.
func (b *Buffer) heldNote() string {
	if b.heldItems == 0 && b.heldBytes == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d items, %d bytes of them held by a processor until their invocation ends)", b.heldItems, b.heldBytes)
}

// Hold sets what is held outside the buffer for it: items of size bytes
// that a processor keeps until it decides on them. They count against the
// buffer's limits until the next Hold.
func (b *Buffer) Hold(items, bytes int64) {
	b.mu.Lock()
	b.heldItems, b.heldBytes = items, bytes
	b.mu.Unlock()
}

func itemName(s pipeline.Signal) string {
	switch s {
	case pipeline.Traces:
		return "spans"
	case pipeline.Metrics:
		return "data points"
	}
	return "log records"
}

// Batch is what Take removed from a Buffer. Resources that are equal are
// merged into one, and so are scopes within a resource, so that a flush
// sends few, large requests.
type Batch struct {
	Traces  ptrace.Traces
	Metrics pmetric.Metrics
	Logs    plog.Logs
	// Items counts the spans, data points and log records.
	Items Counts
	// Bytes is the encoded size of the data when it was consumed.
	Bytes int64
	// Since is when its oldest item arrived (zero when it is empty).
	Since time.Time
}

// Empty reports whether the batch holds no items.
func (b Batch) Empty() bool { return b.Items.Total() == 0 }

// Take removes everything buffered and returns it. The lock is held only to
// swap the data out: merging resources happens after, so Consume calls are
// not kept waiting.
func (b *Buffer) Take() Batch {
	b.mu.Lock()
	batch := Batch{Traces: b.traces, Metrics: b.metrics, Logs: b.logs, Items: b.items, Bytes: b.bytes, Since: b.since}
	// Always fresh containers: the caller owns the batch and may change it.
	b.traces, b.metrics, b.logs = ptrace.NewTraces(), pmetric.NewMetrics(), plog.NewLogs()
	b.items, b.bytes, b.since = Counts{}, 0, time.Time{}
	b.mu.Unlock()

	mergeTraces(batch.Traces)
	mergeMetrics(batch.Metrics)
	mergeLogs(batch.Logs)
	return batch
}

// Since returns when the oldest item buffered now arrived, and the zero
// time when the buffer is empty.
func (b *Buffer) Since() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.since
}

// Len returns the number of items buffered: spans, data points and log
// records together.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.items.Total())
}

// Items returns the number of items buffered per signal.
func (b *Buffer) Items() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.items
}

// Bytes returns the encoded size of the data buffered.
func (b *Buffer) Bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes
}

// MaxBytes returns the buffer's limit; 0 or less means none.
func (b *Buffer) MaxBytes() int64 { return b.maxBytes }

// MaxItems returns how many items the buffer holds at most, if MaxBytes
// is a limit.
func (b *Buffer) MaxItems() int64 { return b.maxItems }

// Empty reports whether the buffer holds no items.
func (b *Buffer) Empty() bool { return b.Len() == 0 }

// Stats returns the counts of accepted and rejected items.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}
