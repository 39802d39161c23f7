// Package grpcexport holds the OTLP/gRPC exporters of lambdaotel.Setup
// when package otlpgrpc is linked, and nothing otherwise. It imports no
// gRPC itself: a function that does not import otlpgrpc links no OTLP/gRPC
// exporter.
package grpcexport

import (
	"context"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporters build one signal's OTLP/gRPC exporter each, from the standard
// OTEL_EXPORTER_OTLP_* variables; insecure makes them use plain text (the
// default endpoint, localhost:4317, where the extension listens).
type Exporters struct {
	Traces  func(ctx context.Context, insecure bool) (sdktrace.SpanExporter, error)
	Metrics func(ctx context.Context, insecure bool) (sdkmetric.Exporter, error)
	Logs    func(ctx context.Context, insecure bool) (sdklog.Exporter, error)
}

// Registered is what package otlpgrpc registered at init, nil without it.
var Registered *Exporters
