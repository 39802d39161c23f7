package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
)

// maxRequestBytes bounds one export request (uncompressed protobuf): a
// batch above it is cut into several, each retried on its own.
const maxRequestBytes = 4 << 20

// Backoff between retries of a failed request.
const (
	firstBackoff = 25 * time.Millisecond
	maxBackoff   = time.Second
)

// part is one request's worth of one signal.
type part struct {
	signal pipeline.Signal
	td     ptrace.Traces
	md     pmetric.Metrics
	ld     plog.Logs
}

// parts cuts signal s of b into requests of at most maxRequestBytes (and
// maxRequestSpans). It is the one place where a batch is cut: the
// exporters are built with NoSplit and send each part as one request.
func parts(s pipeline.Signal, b buffer.Batch) []part {
	o := ops[s]
	return o.split(o.of(b))
}

// items counts the part's spans, data points or log records.
func (p part) items() int64 { return ops[p.signal].count(p) }

// marshal encodes the part as OTLP protobuf, for the spill queue.
func (p part) marshal() ([]byte, error) { return ops[p.signal].marshal(p) }

// unmarshalPart decodes what marshal encoded.
func unmarshalPart(s pipeline.Signal, data []byte) (part, error) {
	o, ok := ops[s]
	if !ok {
		return part{signal: s}, fmt.Errorf("unknown signal %q", s)
	}
	return o.unmarshal(data)
}

func (p part) export(ctx context.Context, e pipeline.Exporter) error {
	return ops[p.signal].export(ctx, e, p)
}

// outcome says how the delivery of parts ended.
type outcome struct {
	// rest are the parts not sent because time ran out or the backend
	// kept failing: they can be tried again later.
	rest []part
	// err is the last failure, if any.
	err error
}

// deliver sends the parts to e in order, retrying retryable failures with
// backoff (or the backend's Retry-After) while ctx lasts. A permanent
// failure drops that part (counted); a rejected share of a partial success
// is counted and not retried, as the OTLP specification says.
func (x *Engine) deliver(ctx context.Context, e pipeline.Exporter, ps []part) outcome {
	var last error
	for i, p := range ps {
		backoff := firstBackoff
		for attempt := 0; ; attempt++ {
			began := time.Now()
			err := p.export(ctx, e)
			if err == nil {
				x.stats.exported.Add(p.items())
				break
			}
			last = err
			var ee *pipeline.ExportError
			isExport := errors.As(err, &ee)
			if isExport && !ee.Retryable {
				if ee.Rejected > 0 {
					x.stats.exported.Add(max(0, p.items()-ee.Rejected))
					x.stats.rejected.Add(ee.Rejected)
					x.log.Warn("the backend rejected part of a request", "exporter", e.Name(), "rejected", ee.Rejected, "error", err)
				} else {
					x.stats.dropped.Add(p.items())
					x.log.Warn("export failed permanently: data dropped", "exporter", e.Name(), "items", p.items(), "error", err)
				}
				break
			}
			if d, ok := ctx.Deadline(); ok && time.Since(began) > time.Duration(1.5*float64(d.Sub(began))) && d.Sub(began) > 0 {
				// The request outlived its deadline by far: the environment
				// was frozen while it was in flight. It is sent again; the
				// backend may have received it before the freeze.
				x.stats.interrupted.Add(p.items())
				x.log.Debug("a request was cut by a freeze; it is sent again and may arrive twice", "exporter", e.Name(), "items", p.items())
			}
			wait := backoff + rand.N(backoff/2+1)
			if isExport && ee.RetryAfter > 0 {
				wait = ee.RetryAfter
			}
			if deadline, ok := ctx.Deadline(); ctx.Err() != nil || (ok && time.Now().Add(wait).After(deadline)) {
				return outcome{rest: ps[i:], err: last}
			}
			x.stats.retried.Add(p.items())
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return outcome{rest: ps[i:], err: last}
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
	return outcome{err: nil}
}
