// Command orders takes an order and hands it on through AWS services,
// instrumented with lambdaotel: it records the order in DynamoDB, keeps a
// receipt in S3, queues the order on SQS for the shipper (examples/sqs),
// invokes a notification function and calls a webhook over HTTP.
//
// lambdaotel.InstrumentAWS(&cfg) makes every AWS SDK call a CLIENT span
// (DynamoDB.PutItem, S3.PutObject, SQS.SendMessage, Lambda.Invoke) under
// the invocation's span, with the X-Ray header on each request and the
// trace context in the SQS message and the Lambda client context, so
// that the shipper continues the trace. lambdaotel.HTTPClient() does the
// same for plain HTTP.
//
// Environment: ORDERS_TABLE, RECEIPTS_BUCKET, ORDERS_QUEUE_URL,
// NOTIFY_FUNCTION and WEBHOOK_URL (each step is skipped when its variable
// is empty). The SDK takes AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
// as usual, which is how the tests point it at local stand-ins.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lambdaotel/lambdaotel"
)

// Order is what the function takes.
type Order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
}

var (
	ddb      *dynamodb.Client
	s3c      *s3.Client
	queue    *sqs.Client
	lambdas  *lambdasvc.Client
	webhooks = lambdaotel.HTTPClient()
)

func handle(ctx context.Context, o Order) (string, error) {
	if o.ID == "" {
		return "", fmt.Errorf("order without id")
	}
	body, _ := json.Marshal(o)
	if table := os.Getenv("ORDERS_TABLE"); table != "" {
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
			"id": &ddbtypes.AttributeValueMemberS{Value: o.ID}, "items": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(o.Items)}}}); err != nil {
			return "", fmt.Errorf("recording order %s: %w", o.ID, err)
		}
	}
	if bucket := os.Getenv("RECEIPTS_BUCKET"); bucket != "" {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("receipts/" + o.ID + ".json"),
			Body: strings.NewReader(string(body))}); err != nil {
			return "", fmt.Errorf("keeping the receipt of order %s: %w", o.ID, err)
		}
	}
	if url := os.Getenv("ORDERS_QUEUE_URL"); url != "" {
		if _, err := queue.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(body))}); err != nil {
			return "", fmt.Errorf("queueing order %s: %w", o.ID, err)
		}
	}
	if fn := os.Getenv("NOTIFY_FUNCTION"); fn != "" {
		if _, err := lambdas.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent,
			Payload: body}); err != nil {
			return "", fmt.Errorf("notifying about order %s: %w", o.ID, err)
		}
	}
	if url := os.Getenv("WEBHOOK_URL"); url != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
		if err != nil {
			return "", err
		}
		resp, err := webhooks.Do(req)
		if err != nil {
			return "", fmt.Errorf("webhook for order %s: %w", o.ID, err)
		}
		resp.Body.Close()
	}
	return "accepted " + o.ID, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the AWS configuration:", err)
		os.Exit(1)
	}
	lambdaotel.InstrumentAWS(&cfg)
	ddb = dynamodb.NewFromConfig(cfg)
	// Path-style URLs work with any endpoint, a local one included.
	s3c = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	queue = sqs.NewFromConfig(cfg)
	lambdas = lambdasvc.NewFromConfig(cfg)
	lambdaotel.Start(handle)
}
