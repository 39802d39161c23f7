// Package pipeline holds the types the extension's receivers, buffer,
// processors and exporters share. Data is the collector's pdata model
// (ptrace, pmetric, plog), passed by value.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Signal is one of the three OpenTelemetry signals.
type Signal string

// The signals.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
	Logs    Signal = "logs"
)

// Signals lists every signal in a fixed order.
var Signals = []Signal{Traces, Metrics, Logs}

// Consumer accepts data from a receiver. It must not keep the caller
// waiting on a backend: it enqueues and returns. It returns ErrFull (or an
// error wrapping it) when the data cannot be accepted without going over
// a memory limit; the receiver then asks the client to retry later.
type Consumer interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) error
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error
	ConsumeLogs(ctx context.Context, ld plog.Logs) error
}

// ErrFull means a buffer is at its limit.
var ErrFull = errors.New("buffer is full")

// ErrTooLarge means data is more than a buffer could ever hold: retrying
// it cannot succeed.
var ErrTooLarge = errors.New("larger than the whole buffer")

// Exporter sends data to a backend. Export calls may block until ctx ends.
type Exporter interface {
	// Name is the exporter's id in the configuration, e.g. "otlphttp/backend".
	Name() string
	ExportTraces(ctx context.Context, td ptrace.Traces) error
	ExportMetrics(ctx context.Context, md pmetric.Metrics) error
	ExportLogs(ctx context.Context, ld plog.Logs) error
	// Shutdown releases connections; it does not export.
	Shutdown(ctx context.Context) error
}

// ExportError describes a failed export. Retryable errors (connection
// failures, HTTP 429/502/503/504, gRPC UNAVAILABLE and RESOURCE_EXHAUSTED)
// may succeed later; the others will not.
type ExportError struct {
	Exporter   string
	Signal     Signal
	Retryable  bool
	RetryAfter time.Duration // the backend's Retry-After / RetryInfo, if any
	// Rejected counts items a backend refused in a partial success.
	Rejected int64
	Err      error
}

func (e *ExportError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("exporter %s: export %s (%s): %v", e.Exporter, e.Signal, kind, e.Err)
}

func (e *ExportError) Unwrap() error { return e.Err }
