// Command lambdaotelgrpc is the lambdaotel function of the library cost
// comparison (libcost) with the OTLP/gRPC exporters linked (package
// otlpgrpc), as every function linked them before gRPC was opt-in. It
// still sends OTLP/HTTP unless OTEL_EXPORTER_OTLP_PROTOCOL says grpc.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lambdaotel/lambdaotel"
	_ "github.com/lambdaotel/lambdaotel/otlpgrpc"
)

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "hello " + req.Path}, nil
}

func main() { lambdaotel.Start(handle) }
