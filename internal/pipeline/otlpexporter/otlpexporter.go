// Package otlpexporter sends traces, metrics and logs to a backend over
// OTLP/HTTP (NewHTTP) or OTLP/gRPC (NewGRPC).
//
// Both exporters implement pipeline.Exporter. Each Export call splits a
// batch larger than the configured request size (unless NoSplit: the
// caller cut it already) into several requests,
// sends them one after the other and makes exactly one attempt per request:
// retrying is left to the caller, guided by the *pipeline.ExportError that a
// failed call returns (Retryable, RetryAfter, Rejected). Nothing connects
// before the first export, so creating an exporter is cheap.
package otlpexporter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Version is the version in the User-Agent the exporters send
// ("lambdaotel/" + Version). Release builds set it with
// -ldflags "-X github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter.Version=...".
var Version = "dev"

// DefaultTimeout bounds one request when a config leaves Timeout zero.
const DefaultTimeout = 10 * time.Second

// DefaultMaxRequestBytes is the largest request, in bytes of uncompressed
// protobuf, that the exporters send when a config leaves MaxRequestBytes
// zero: 4 MiB, the default limit of gRPC servers and of the OpenTelemetry
// Collector's OTLP/gRPC receiver.
const DefaultMaxRequestBytes = 4 << 20

func userAgent() string { return "lambdaotel/" + Version }

// items returns "n spans" (or data points, or log records) for messages.
func items(n int64, sig pipeline.Signal) string {
	unit := map[pipeline.Signal]string{pipeline.Traces: "span", pipeline.Metrics: "data point", pipeline.Logs: "log record"}[sig]
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// result is the outcome of one successful request: what the backend
// rejected in a partial success, and its message.
type result struct {
	rejected int64
	message  string
}

// exportParts sends parts one after the other with send, which makes one
// attempt and returns either a result or a *pipeline.ExportError with
// Retryable, RetryAfter and Err set. It stops at the first failure and
// completes that error: exporter name, signal, items rejected by earlier
// partial successes, and how many items were not sent. Partial successes do
// not stop the parts after them; their rejected items are summed into one
// permanent ExportError at the end. target names where the data goes, for
// messages ("POST https://host/v1/traces"). A part the backend refuses
// as malformed is cut with halves to isolate what it refuses (see isolate).
func exportParts[T any](ctx context.Context, name string, sig pipeline.Signal, target string,
	parts []T, count func(T) int, halves func(T) []T, send func(context.Context, T) (result, error)) error {
	send = isolate(send, count, halves)
	total := 0
	for _, p := range parts {
		total += count(p)
	}
	var rejected int64
	var messages []string
	for i, p := range parts {
		res, err := send(ctx, p)
		if err != nil {
			notSent := 0
			for _, q := range parts[i:] {
				notSent += count(q)
			}
			e, ok := err.(*pipeline.ExportError)
			if !ok {
				e = &pipeline.ExportError{Err: err}
			}
			e.Exporter, e.Signal, e.Rejected = name, sig, rejected
			if len(parts) > 1 {
				e.Err = fmt.Errorf("%w (request %d of %d; %d of %s not sent)", e.Err, i+1, len(parts), notSent, items(int64(total), sig))
			} else {
				e.Err = fmt.Errorf("%w (%s not sent)", e.Err, items(int64(notSent), sig))
			}
			if rejected > 0 {
				e.Err = fmt.Errorf("%w; %s rejected earlier: %s", e.Err, items(rejected, sig), strings.Join(messages, "; "))
			}
			return e
		}
		if res.rejected > 0 {
			rejected += res.rejected
			if res.message != "" {
				messages = append(messages, res.message)
			}
		}
	}
	if rejected == 0 {
		// A partial success that rejects nothing carries a warning at most;
		// the data was accepted.
		return nil
	}
	msg := "no message"
	if len(messages) > 0 {
		msg = strings.Join(messages, "; ")
	}
	return &pipeline.ExportError{
		Exporter: name,
		Signal:   sig,
		Rejected: rejected,
		Err:      fmt.Errorf("%s: partial success: backend rejected %d of %s: %s", target, rejected, items(int64(total), sig), msg),
	}
}

// truncate shortens s to at most n bytes of valid UTF-8, marking the cut.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a rune
		cut--
	}
	return s[:cut] + "…"
}

// maxMessageBytes bounds a backend's error message in our errors.
const maxMessageBytes = 512

// ended returns why ctx ended (its cause), or context.DeadlineExceeded if ctx's deadline
// has passed but its timer has not fired yet.
func ended(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx) // an awake timeout's is DeadlineExceeded
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
