// Package otlpgrpc lets lambdaotel.Setup and lambdaotel.Start export over
// OTLP/gRPC. Import it for its side effect, next to the lambdaotel
// package:
//
//	import (
//		"github.com/lambdaotel/lambdaotel"
//		_ "github.com/lambdaotel/lambdaotel/otlpgrpc" // OTEL_EXPORTER_OTLP_PROTOCOL=grpc
//	)
//
// Then OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or a signal's
// OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL) sends that signal with the
// OpenTelemetry Go SDK's OTLP/gRPC exporters, to localhost:4317 in plain
// text by default, where the lambdaotel extension and the OpenTelemetry
// Collector layers listen.
//
// The default protocol, http/protobuf, needs no import. Without this
// package a function links no OTLP/gRPC exporter, which keeps its binary
// and memory smaller (see the README; grpc-go's core still comes with the
// SDK's OTLP/HTTP exporters, which import it); Setup then refuses grpc
// with an error that names this package, and sends over http/protobuf.
package otlpgrpc

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambdaotel/lambdaotel/internal/grpcexport"
)

func init() {
	grpcexport.Registered = &grpcexport.Exporters{Traces: traces, Metrics: metrics, Logs: logs}
}

func traces(ctx context.Context, insecure bool) (sdktrace.SpanExporter, error) {
	if insecure {
		return otlptracegrpc.New(ctx, otlptracegrpc.WithInsecure())
	}
	return otlptracegrpc.New(ctx)
}

func metrics(ctx context.Context, insecure bool) (sdkmetric.Exporter, error) {
	if insecure {
		return otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithInsecure())
	}
	return otlpmetricgrpc.New(ctx)
}

func logs(ctx context.Context, insecure bool) (sdklog.Exporter, error) {
	if insecure {
		return otlploggrpc.New(ctx, otlploggrpc.WithInsecure())
	}
	return otlploggrpc.New(ctx)
}
