package lambdaotel

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/lambdaotel/lambdaotel/internal/grpcexport"
	// The tests export over OTLP/gRPC too (TestFlushedBeforeFreeze/grpc):
	// as a user's function would, the test binary links the exporters.
	_ "github.com/lambdaotel/lambdaotel/otlpgrpc"
)

func spanContextOf(ctx context.Context) trace.SpanContext { return trace.SpanContextFromContext(ctx) }

func TestLambdaAttributes(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AWS_REGION":                      "eu-west-1",
		"AWS_LAMBDA_FUNCTION_NAME":        "orders",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/orders",
		"AWS_LAMBDA_LOG_STREAM_NAME":      "2025/01/01/[$LATEST]abc",
	}
	got := attrs(lambdaAttributes(func(k string) string { return env[k] }))
	want := map[string]any{
		"cloud.provider": "aws", "cloud.platform": "aws_lambda", "cloud.region": "eu-west-1",
		"faas.name": "orders", "service.name": "orders", "faas.version": "$LATEST", "faas.max_memory": int64(128 << 20),
		"faas.instance": "2025/01/01/[$LATEST]abc", "aws.log.group.names": []string{"/aws/lambda/orders"},
		"aws.log.stream.names": []string{"2025/01/01/[$LATEST]abc"},
	}
	for k, w := range want {
		if !equalValue(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("attributes %v", got)
	}
}

func TestSignalAndProtocolSettings(t *testing.T) {
	// Not parallel: environment variables.
	for v, want := range map[string]bool{"": true, "otlp": true, "none": false, "NONE": false, "console": true} {
		t.Setenv("OTEL_TRACES_EXPORTER", v)
		on, err := signalEnabled("OTEL_TRACES_EXPORTER")
		if on != want || (err != nil) != (v == "console") {
			t.Errorf("OTEL_TRACES_EXPORTER=%q: %v %v", v, on, err)
		}
	}
	for _, c := range []struct {
		all, traces string
		grpc        bool
		err         bool
	}{
		{"", "", false, false},
		{"grpc", "", true, false},
		{"grpc", "http/protobuf", false, false},
		{"", "grpc", true, false},
		{"http/json", "", false, true},
	} {
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", c.all)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", c.traces)
		grpc, err := useGRPC("TRACES")
		if grpc != c.grpc || (err != nil) != c.err {
			t.Errorf("protocol %q, traces %q: grpc %v, error %v", c.all, c.traces, grpc, err)
		}
	}
}

// TestGRPCNotLinked checks what Setup says of grpc in a function that does
// not import package otlpgrpc: the signal goes over http/protobuf, and the
// error names the variable and the package to import.
func TestGRPCNotLinked(t *testing.T) {
	// Not parallel: environment variables and the registered exporters.
	linked := grpcexport.Registered
	grpcexport.Registered = nil
	t.Cleanup(func() { grpcexport.Registered = linked })
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	grpc, err := useGRPC("TRACES")
	if grpc || err == nil {
		t.Fatalf("grpc %v, error %v; want false and an error", grpc, err)
	}
	for _, want := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc", `"github.com/lambdaotel/lambdaotel/otlpgrpc"`, "using http/protobuf"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if grpc, err := useGRPC("METRICS"); grpc || err != nil {
		t.Errorf("metrics, no protocol set: grpc %v, error %v", grpc, err)
	}
}

func TestLocalDefault(t *testing.T) {
	// Not parallel: environment variables.
	for _, env := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE"} {
		t.Setenv(env, "")
	}
	if !localDefault("TRACES") {
		t.Errorf("no endpoint set: not the local default")
	}
	for _, env := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE"} {
		t.Setenv(env, "x")
		if localDefault("TRACES") {
			t.Errorf("%s set: still the local default", env)
		}
		if env != "OTEL_EXPORTER_OTLP_ENDPOINT" && env != "OTEL_EXPORTER_OTLP_INSECURE" && !localDefault("LOGS") {
			t.Errorf("%s set: logs not at the local default", env)
		}
		t.Setenv(env, "")
	}
}
