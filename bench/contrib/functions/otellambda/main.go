// Command otellambda is the minimal API Gateway function of the library
// cost comparison (libcost) with otellambda (opentelemetry-go-contrib,
// deprecated): the SDK's providers as in the sdk function, the handler
// wrapped by otellambda, which flushes the tracer provider after each
// invocation.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "hello " + req.Path}, nil
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
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me))))
	global.SetLoggerProvider(sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(le))))
	lambda.Start(otellambda.InstrumentHandler(handle, otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp)))
}
