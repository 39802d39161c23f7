// Command awslambdago is the minimal API Gateway function of the library
// cost comparison (libcost) with aws-lambda-go alone: no telemetry.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "hello " + req.Path}, nil
}

func main() { lambda.Start(handle) }
