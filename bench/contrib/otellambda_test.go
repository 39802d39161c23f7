package contrib

// Benchmarks of one invocation, side by side: aws-lambda-go alone, with
// otellambda (opentelemetry-go-contrib) and with lambdaotel, for an API
// Gateway event and a 10-message SQS batch. Each instrumented invocation
// ends its spans and flushes them to an in-memory exporter through the
// SDK's batch span processor, as a function must before Lambda freezes it.
//
//	cd bench/contrib && go test -run '^$' -bench 'APIGateway|SQSBatch10' -benchmem -count 10 . | tee bench.txt
//	benchstat -col /lib bench.txt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lambdaotel/lambdaotel"
)

var awsSamples = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	return filepath.Join(strings.TrimSpace(string(out)), "events", "testdata"), err
})

func awsSample(b *testing.B, name string) []byte {
	dir, err := awsSamples()
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchCtx is an invocation's context as aws-lambda-go makes it.
func benchCtx(b *testing.B) context.Context {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:bench",
	})
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	b.Cleanup(cancel)
	return ctx
}

type benchLib struct {
	name string
	wrap func(tp *sdktrace.TracerProvider) lambda.Handler
}

// benchLibs returns the three ways to run h.
func benchLibs[TIn, TOut any](h func(context.Context, TIn) (TOut, error)) []benchLib {
	w3c := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return []benchLib{
		{"aws-lambda-go", func(*sdktrace.TracerProvider) lambda.Handler { return lambda.NewHandler(h) }},
		{"otellambda", func(tp *sdktrace.TracerProvider) lambda.Handler {
			return lambda.NewHandler(otellambda.InstrumentHandler(h, otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp),
				otellambda.WithPropagator(w3c)))
		}},
		{"lambdaotel", func(tp *sdktrace.TracerProvider) lambda.Handler {
			return lambdaotel.Wrap(h, lambdaotel.WithTracerProvider(tp), lambdaotel.WithPropagator(w3c),
				lambdaotel.WithMeterProvider(metricnoop.NewMeterProvider()), lambdaotel.WithLoggerProvider(lognoop.NewLoggerProvider()))
		}},
	}
}

func runBench(b *testing.B, libs []benchLib, payload []byte, wantSpans int) {
	for _, lib := range libs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
			defer tp.Shutdown(context.Background())
			h := lib.wrap(tp)
			ctx := benchCtx(b)
			// One invocation first, to check what it records.
			if _, err := h.Invoke(ctx, payload); err != nil {
				b.Fatal(err)
			}
			want := wantSpans
			switch lib.name {
			case "aws-lambda-go":
				want = 0
			case "otellambda":
				want = 1 // one span per invocation, whatever the event
			}
			if got := len(exp.GetSpans()); got != want {
				b.Fatalf("%d spans flushed after an invocation, want %d", got, want)
			}
			exp.Reset()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.Invoke(ctx, payload); err != nil {
					b.Fatal(err)
				}
				exp.Reset()
			}
		})
	}
}

// BenchmarkAPIGateway: aws-lambda-go's sample REST API event (24
// headers), a handler that answers 200.
func BenchmarkAPIGateway(b *testing.B) {
	payload := awsSample(b, "apigw-request.json")
	h := func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"ok":true}`}, nil
	}
	runBench(b, benchLibs(h), payload, 1)
}

// sqsBatch10 is a batch of 10 of aws-lambda-go's sample SQS message, each
// with an AWSTraceHeader, as messages sent by an instrumented producer
// carry.
func sqsBatch10(b *testing.B) []byte {
	var e events.SQSEvent
	if err := json.Unmarshal(awsSample(b, "sqs-event.json"), &e); err != nil {
		b.Fatal(err)
	}
	one := e.Records[0]
	e.Records = nil
	for i := range 10 {
		m := one
		m.MessageId = fmt.Sprintf("059f36b4-87a3-44ab-83d2-66197%07d", i)
		m.Attributes = map[string]string{}
		for k, v := range one.Attributes {
			m.Attributes[k] = v
		}
		m.Attributes["AWSTraceHeader"] = fmt.Sprintf("Root=1-5759e988-bd862e3fe1be46a99427%04d;Parent=53995c3f42cd%04d;Sampled=1", i, i)
		e.Records = append(e.Records, m)
	}
	data, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkSQSBatch10: a 10-message batch; the handler looks at each
// message. lambdaotel records the batch span with 10 links.
func BenchmarkSQSBatch10(b *testing.B) {
	payload := sqsBatch10(b)
	h := func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range e.Records {
			if m.Body == "" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
	runBench(b, benchLibs(h), payload, 1)
}

// BenchmarkSQSBatch10PerMessage: the same batch, with lambdaotel's
// ProcessSQS making a span per message (11 spans per invocation).
func BenchmarkSQSBatch10PerMessage(b *testing.B) {
	payload := sqsBatch10(b)
	h := func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		return lambdaotel.ProcessSQS(ctx, e, func(ctx context.Context, m events.SQSMessage) error { return nil }), nil
	}
	libs := benchLibs(h)
	runBench(b, libs[2:], payload, 11)
}
