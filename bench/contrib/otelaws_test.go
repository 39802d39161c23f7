// Package contrib benchmarks lambdaotel next to the deprecated
// opentelemetry-go-contrib modules it replaces: otellambda, per invocation
// (otellambda_test.go), and otelaws, per AWS SDK for Go v2 call (this
// file). It is a module of its own, so that no deprecated module is ever
// in the library's go.mod.
//
// The AWS SDK benchmarks run the SDK alone, with otelaws and with
// lambdaotel.InstrumentAWS through an in-process transport that answers as
// SQS and DynamoDB do, so that the figures are the instrumentation's and
// not the network's:
//
//	cd bench/contrib && go test -run '^$' -bench 'SQS|DynamoDB' -benchmem -count 5
package contrib

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/lambdaotel/lambdaotel"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// standIn answers SQS SendMessage and DynamoDB GetItem in process.
type standIn struct{}

func (standIn) Do(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	var out string
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.SendMessage":
		sum := md5.Sum([]byte("hello"))
		out = `{"MessageId":"msg-1","MD5OfMessageBody":"` + hex.EncodeToString(sum[:]) + `"}`
	default:
		out = `{"Item":{"id":{"S":"1"}}}`
	}
	_ = body
	return &http.Response{StatusCode: 200, Header: http.Header{"X-Amzn-Requestid": {"req-1"}, "Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader(out)), ContentLength: int64(len(out)), Request: r}, nil
}

func config(b *testing.B, lib string, tp *sdktrace.TracerProvider) aws.Config {
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String("http://stand-in.invalid"),
		HTTPClient:   standIn{},
	}
	w3c := propagation.TraceContext{}
	switch lib {
	case "otelaws":
		otelaws.AppendMiddlewares(&cfg.APIOptions, otelaws.WithTracerProvider(tp), otelaws.WithTextMapPropagator(w3c))
	case "lambdaotel":
		lambdaotel.InstrumentAWS(&cfg, lambdaotel.WithTracerProvider(tp), lambdaotel.WithPropagator(w3c))
	}
	return cfg
}

var libs = []string{"aws-sdk-go-v2", "otelaws", "lambdaotel"}

// parent is the context of a sampled invocation span, as in a handler.
func parent(b *testing.B, tp *sdktrace.TracerProvider) context.Context {
	ctx, span := tp.Tracer("bench").Start(context.Background(), "invocation")
	b.Cleanup(func() { span.End() })
	return ctx
}

func BenchmarkSQSSendMessage(b *testing.B) {
	for _, lib := range libs {
		b.Run("lib="+lib, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
			client := sqs.NewFromConfig(config(b, lib, tp))
			ctx := parent(b, tp)
			in := &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.eu-west-1.amazonaws.com/123456789012/orders"), MessageBody: aws.String("hello")}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.SendMessage(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The SDK alone sending the message with the attributes lambdaotel
	// adds, set by the caller: what carrying the context costs the SDK
	// (serializing, hashing and signing a larger request).
	b.Run("lib=aws-sdk-go-v2+context", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		client := sqs.NewFromConfig(config(b, "aws-sdk-go-v2", tp))
		ctx := parent(b, tp)
		in := &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.eu-west-1.amazonaws.com/123456789012/orders"), MessageBody: aws.String("hello"),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"traceparent": {DataType: aws.String("String"), StringValue: aws.String("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")}},
			MessageSystemAttributes: map[string]sqstypes.MessageSystemAttributeValue{
				"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")}},
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.SendMessage(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDynamoDBGetItem(b *testing.B) {
	for _, lib := range libs {
		b.Run("lib="+lib, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
			client := dynamodb.NewFromConfig(config(b, lib, tp))
			ctx := parent(b, tp)
			in := &dynamodb.GetItemInput{TableName: aws.String("users"), Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "1"}}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.GetItem(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
