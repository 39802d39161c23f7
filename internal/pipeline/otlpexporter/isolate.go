package otlpexporter

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// MaxIsolationRequests bounds the requests sent to isolate what a backend
// refuses as malformed in one request (see isolate).
const MaxIsolationRequests = 32

// malformed marks the error of a request the backend refused as malformed
// (HTTP 400, gRPC INVALID_ARGUMENT): some item in it may be at fault, not
// the others.
type malformed struct{ error }

func (m malformed) Unwrap() error { return m.error }

// isMalformed reports whether err is a refusal of a malformed request.
func isMalformed(err error) bool {
	var m malformed
	return errors.As(err, &m)
}

// isolate returns send made to isolate the items a backend refuses as
// malformed, so that one bad item does not take the others with it: a
// request refused as malformed is cut in halves (by size, see halves),
// which are sent again; a half refused again is cut again, down to single
// items, within MaxIsolationRequests more requests. What is still refused
// then counts as rejected in the result, with the backend's message, as
// in a partial success; everything else was delivered. If every half is
// refused too, the backend refuses everything (a wrong endpoint, say): the
// request fails as it is. A failure of another kind during the isolation
// ends it with that failure: the caller may send the whole part again, and
// the halves already delivered arrive twice.
func isolate[T any](send func(context.Context, T) (result, error), count func(T) int, halves func(T) []T) func(context.Context, T) (result, error) {
	return func(ctx context.Context, p T) (result, error) {
		res, err := send(ctx, p)
		if err == nil || !isMalformed(err) || count(p) < 2 {
			return res, err
		}
		parts := halves(p)
		if len(parts) < 2 {
			return res, err
		}
		iso := &isolation[T]{budget: MaxIsolationRequests, send: send, count: count, halves: halves}
		delivered := false
		var refused []T
		for _, q := range parts {
			iso.budget--
			r, e := send(ctx, q)
			switch {
			case e == nil:
				delivered = true
				iso.rejected += r.rejected
			case !isMalformed(e):
				return result{}, e
			default:
				iso.last = e
				refused = append(refused, q)
			}
		}
		if !delivered {
			return res, err
		}
		for _, q := range refused {
			if e := iso.walk(ctx, q); e != nil {
				return result{}, e
			}
		}
		out := result{rejected: iso.rejected}
		if iso.last != nil {
			last := iso.last
			var ee *pipeline.ExportError
			if errors.As(last, &ee) {
				last = ee.Err
			}
			out.message = fmt.Sprintf("refused as malformed (isolated within %d more requests): %v", MaxIsolationRequests, last)
		}
		return out, nil
	}
}

// isolation is the state of one isolate call.
type isolation[T any] struct {
	budget   int // requests left
	rejected int64
	last     error // the backend's last refusal
	send     func(context.Context, T) (result, error)
	count    func(T) int
	halves   func(T) []T
}

// walk isolates what the backend refuses in q, which it refused.
func (iso *isolation[T]) walk(ctx context.Context, q T) error {
	var sub []T
	if iso.count(q) >= 2 && iso.budget > 0 {
		sub = iso.halves(q)
	}
	if len(sub) < 2 {
		iso.rejected += int64(iso.count(q))
		return nil
	}
	for _, s := range sub {
		if iso.budget <= 0 {
			iso.rejected += int64(iso.count(s))
			continue
		}
		iso.budget--
		r, err := iso.send(ctx, s)
		switch {
		case err == nil:
			iso.rejected += r.rejected
		case !isMalformed(err):
			return err
		default:
			iso.last = err
			if err := iso.walk(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// The halves functions cut a batch in parts of at most half its size (a
// single item larger than that goes alone).

func traceHalves(td ptrace.Traces) []ptrace.Traces {
	return traceParts(td, (&ptrace.ProtoMarshaler{}).TracesSize(td)/2)
}

func metricHalves(md pmetric.Metrics) []pmetric.Metrics {
	return metricParts(md, (&pmetric.ProtoMarshaler{}).MetricsSize(md)/2)
}

func logHalves(ld plog.Logs) []plog.Logs {
	return logParts(ld, (&plog.ProtoMarshaler{}).LogsSize(ld)/2)
}
