// Command apigateway is an API Gateway (REST API) function instrumented
// with lambdaotel: GET /pets/{petId} answers a pet from a small store.
//
// lambdaotel.Start makes one span per request, named after the route
// ("GET /pets/{petId}") with the HTTP server attributes; the handler adds a
// child span for the store lookup, counts lookups with a metric and logs
// with log/slog. Everything is flushed before each response.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel"
)

// Pet is what the API answers.
type Pet struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Species string `json:"species"`
}

var pets = map[int]Pet{
	1: {1, "Rex", "dog"},
	7: {7, "Tom", "cat"},
}

var (
	errNotFound    = errors.New("no such pet")
	errUnavailable = errors.New("the pet store is unavailable")
)

// Pet 0 stands for a broken dependency (the handler fails) and pet 99 for
// a slow one (the function runs out of time): the demo shows both.
const (
	brokenPet = 0
	slowPet   = 99
)

var (
	// The global providers are set by lambdaotel.Start; tracers, meters
	// and loggers made before follow them.
	tracer  = otel.Tracer("github.com/lambdaotel/lambdaotel/examples/apigateway")
	lookups metric.Int64Counter
	logger  = slog.New(lambdaotel.NewLogHandler(nil))
)

func init() {
	lookups, _ = otel.Meter("github.com/lambdaotel/lambdaotel/examples/apigateway").
		Int64Counter("pets.lookups", metric.WithDescription("Pet lookups, by result."))
}

func handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	id, err := strconv.Atoi(req.PathParameters["petId"])
	if err != nil {
		return reply(400, map[string]string{"error": "petId must be a number"}), nil
	}
	pet, err := loadPet(ctx, id)
	switch {
	case errors.Is(err, errNotFound):
		logger.WarnContext(ctx, "pet not found", "pet.id", id)
		return reply(404, map[string]string{"error": err.Error()}), nil
	case err != nil:
		return events.APIGatewayProxyResponse{}, err
	}
	logger.InfoContext(ctx, "pet found", "pet.id", id, "pet.species", pet.Species)
	return reply(200, pet), nil
}

// loadPet looks a pet up, in a span of its own.
func loadPet(ctx context.Context, id int) (Pet, error) {
	ctx, span := tracer.Start(ctx, "load pet", trace.WithAttributes(attribute.Int("pet.id", id)))
	defer span.End()
	switch id {
	case brokenPet:
		span.SetStatus(codes.Error, errUnavailable.Error())
		return Pet{}, errUnavailable
	case slowPet:
		time.Sleep(time.Hour) // a dependency that never answers, and ignores ctx
	}
	pet, ok := pets[id]
	result := "found"
	if !ok {
		result = "not_found"
		span.SetStatus(codes.Error, errNotFound.Error())
	}
	lookups.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	if !ok {
		return Pet{}, errNotFound
	}
	return pet, nil
}

func reply(status int, v any) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(v)
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

func main() {
	lambdaotel.Start(handle)
}
