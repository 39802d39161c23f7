// Command lambdaotel is the minimal API Gateway function of the library
// cost comparison (libcost) with lambdaotel: one line, OTLP/HTTP (the
// default protocol).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lambdaotel/lambdaotel"
)

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "hello " + req.Path}, nil
}

func main() { lambdaotel.Start(handle) }
