package lambdaotel_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambdaotel/lambdaotel"
)

func ExampleStart() {
	handle := func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
	}
	// In main: sets up OpenTelemetry from OTEL_* and runs the function.
	lambdaotel.Start(handle)
}

func ExampleWrap() {
	// Providers of your own: lambdaotel makes the spans with them and
	// flushes them after each invocation.
	exp, _ := otlptracehttp.New(context.Background())
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	handle := func(ctx context.Context, e events.S3Event) (string, error) { return "ok", nil }
	lambda.Start(lambdaotel.Wrap(handle, lambdaotel.WithTracerProvider(tp)))
}

func ExampleProcessSQS() {
	handle := func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
		return lambdaotel.ProcessSQS(ctx, batch, func(ctx context.Context, m events.SQSMessage) error {
			// ctx holds the message's span: spans started from it are its
			// children.
			return nil
		}), nil
	}
	lambdaotel.Start(handle)
}

func ExampleInjectMessageAttributes() {
	// With the AWS SDK for Go v2, in a handler (ctx is the handler's):
	//
	//	in := &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body,
	//		MessageAttributes: map[string]types.MessageAttributeValue{}}
	//	lambdaotel.InjectMessageAttributes(ctx, func(name, value string) {
	//		in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
	//	})
	//	in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
	//		"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(lambdaotel.AWSTraceHeader(ctx))},
	//	}
	attrs := map[string]string{}
	lambdaotel.InjectMessageAttributes(context.Background(), func(name, value string) { attrs[name] = value })
}

func ExampleNewLogHandler() {
	// Records go to the logger provider (set up by Start) and, here, to
	// stdout as JSON too, with trace_id, span_id and faas.invocation_id.
	logger := slog.New(lambdaotel.NewLogHandler(&lambdaotel.LogOptions{Next: slog.NewJSONHandler(os.Stdout, nil)}))
	handle := func(ctx context.Context, e events.SNSEvent) (any, error) {
		logger.InfoContext(ctx, "notified", "subject", e.Records[0].SNS.Subject)
		return nil, nil
	}
	lambdaotel.Start(handle)
}
