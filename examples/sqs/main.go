// Command sqs is an SQS batch function instrumented with lambdaotel: each
// message is an order to ship.
//
// lambdaotel.Start makes one CONSUMER span per batch ("<queue> process"),
// linked to the context each message carries; lambdaotel.ProcessSQS runs
// ship for each message in a span of its own and answers the messages that
// failed, so that SQS retries only those (the event source mapping needs
// ReportBatchItemFailures).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel"
)

// Order is a message's body.
type Order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
}

var (
	tracer = otel.Tracer("github.com/lambdaotel/lambdaotel/examples/sqs")
	logger = slog.New(lambdaotel.NewLogHandler(nil))
)

func handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	return lambdaotel.ProcessSQS(ctx, batch, ship), nil
}

// ship ships one order. An order without items cannot be shipped.
func ship(ctx context.Context, m events.SQSMessage) error {
	var o Order
	if err := json.Unmarshal([]byte(m.Body), &o); err != nil {
		return fmt.Errorf("message %s: bad order: %w", m.MessageId, err)
	}
	if o.Items <= 0 {
		logger.ErrorContext(ctx, "order has no items", "order.id", o.ID)
		return fmt.Errorf("order %s has no items", o.ID)
	}
	_, span := tracer.Start(ctx, "reserve stock", trace.WithAttributes(attribute.String("order.id", o.ID), attribute.Int("order.items", o.Items)))
	span.End()
	logger.InfoContext(ctx, "order shipped", "order.id", o.ID)
	return nil
}

func main() {
	lambdaotel.Start(handle)
}
