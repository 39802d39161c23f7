package extension_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// compatConfig is written as users of the upstream layer write it: the
// resourcedetection processor with the env and lambda detectors, and both
// OTLP exporters with compression zstd (traces over OTLP/HTTP, metrics
// over OTLP/gRPC).
const compatConfig = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%GRPC_PORT%
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
processors:
  resourcedetection:
    detectors: [env, lambda]
    timeout: 2s
exporters:
  otlphttp:
    endpoint: http://%SINK_HTTP%
    compression: zstd
  otlp:
    endpoint: http://%SINK_GRPC%
    compression: zstd
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [resourcedetection]
      exporters: [otlphttp]
    metrics:
      receivers: [otlp]
      processors: [resourcedetection]
      exporters: [otlp]
lambdaotel:
  flush:
    strategy: end
`

// TestResourceDetectionAndZstd runs a function with the OpenTelemetry SDK
// in the sandbox behind the extension configured as above: its spans reach
// the sink through the zstd-compressed OTLP/HTTP exporter, its metrics
// through the zstd-compressed OTLP/gRPC exporter, and the spans carry the
// attributes the upstream detectors set, from the environment Lambda gives
// the extension.
func TestResourceDetectionAndZstd(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{
		protocol: "http/protobuf",
		config:   compatConfig,
		extEnv:   map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=e2e,team=payments"},
		sandbox:  sandbox.Config{FunctionName: "orders", Region: "eu-west-1", MemoryMB: 256},
	})
	res := e.invoke(t, `{"spans":2,"logs":0}`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var root bool
	for _, s := range e.sink.Spans() {
		if s.Name != "handler" || s.Attributes["faas.invocation_id"] != res.RequestID {
			continue
		}
		root = true
		want := map[string]any{
			"cloud.provider":              "aws",
			"cloud.platform":              "aws_lambda",
			"cloud.region":                "eu-west-1",
			"faas.name":                   "orders",
			"faas.version":                "$LATEST",
			"faas.max_memory":             int64(256),
			"deployment.environment.name": "e2e",
			"team":                        "payments",
			"service.name":                "otelfunc", // the SDK's, untouched
		}
		for k, v := range want {
			if got := s.Resource[k]; fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("resource %s = %v (%T), want %v", k, got, got, v)
			}
		}
		// Lambda gives extensions no log group or stream name, so the
		// lambda detector cannot set them, as upstream in the same place.
		for _, k := range []string{"aws.log.group.names", "faas.instance"} {
			if v, ok := s.Resource[k]; ok && strings.Contains(fmt.Sprint(v), "/aws/lambda/") {
				t.Errorf("resource %s = %v: the extension cannot know it", k, v)
			}
		}
	}
	if !root {
		t.Fatalf("the invocation's handler span is not at the sink (%d spans there)", len(e.sink.Spans()))
	}
	if e.sink.DataPointCount() == 0 {
		t.Error("no metric data points reached the sink over zstd-compressed OTLP/gRPC")
	}
	e.sb.Shutdown()
}
