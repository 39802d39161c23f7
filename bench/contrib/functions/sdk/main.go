// Command sdk is the minimal API Gateway function of the library cost
// comparison (libcost) with the plain OpenTelemetry Go SDK, set up by
// hand as its documentation shows: tracer, meter and logger providers
// exporting OTLP/HTTP (protobuf) to the extension, a span per request,
// and a flush before each response.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var (
	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
	lp *sdklog.LoggerProvider
)

func handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	ctx, span := otel.Tracer("sdk").Start(ctx, req.HTTPMethod+" "+req.Resource, trace.WithSpanKind(trace.SpanKindServer))
	resp := events.APIGatewayProxyResponse{StatusCode: 200, Body: "hello " + req.Path}
	span.End()
	_ = tp.ForceFlush(ctx)
	_ = mp.ForceFlush(ctx)
	_ = lp.ForceFlush(ctx)
	return resp, nil
}

func main() {
	ctx := context.Background()
	te, err := otlptracehttp.New(ctx)
	if err != nil {
		panic(err)
	}
	me, err := otlpmetrichttp.New(ctx)
	if err != nil {
		panic(err)
	}
	le, err := otlploghttp.New(ctx)
	if err != nil {
		panic(err)
	}
	tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
	mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me)))
	lp = sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(le)))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	global.SetLoggerProvider(lp)
	lambda.Start(handle)
}
