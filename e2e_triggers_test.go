package lambdaotel_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// testStreamingOn makes the test binary run streamingFunction with
// lambdaotel.Start (see TestMain).
const testStreamingOn = "LAMBDAOTEL_TEST_STREAMING"

// streamingFunction answers a function URL request with a streamed
// response: status 404, a header and a body.
func streamingFunction(ctx context.Context, e events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	return &events.LambdaFunctionURLStreamingResponse{
		StatusCode: 404,
		Headers:    map[string]string{"Content-Type": "text/plain"},
		Body:       strings.NewReader("no pet " + e.RawPath),
	}, nil
}

// TestStreamingPassThrough runs a function with a streamed function URL
// response (lambdaotel.Start, aws-lambda-go's runtime client) against a
// Runtime API that records the response: its content type is the one
// aws-lambda-go gives streamed responses, and its body is the response
// aws-lambda-go makes of it, unchanged.
func TestStreamingPassThrough(t *testing.T) {
	t.Parallel()
	type response struct {
		contentType string
		body        []byte
	}
	got := make(chan response, 1)
	var served atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
			if served.Swap(true) {
				<-r.Context().Done() // no more invocations
				return
			}
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
			w.Header().Set("Lambda-Runtime-Deadline-Ms", "9999999999999")
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:pets")
			w.Write([]byte(`{"version":"2.0","routeKey":"$default","rawPath":"/pets/7","headers":{},"requestContext":{"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"GET","path":"/pets/7"}}}`))
		case r.Method == http.MethodPost && r.URL.Path == "/2018-06-01/runtime/invocation/req-1/response":
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			got <- response{r.Header.Get("Content-Type"), body}
		case r.URL.Path == "/2020-01-01/extension/register":
			// aws-lambda-go's internal extension, for SIGTERM.
			w.Header().Set("Lambda-Extension-Identifier", "ext-1")
			w.Write([]byte(`{}`))
		case r.URL.Path == "/2020-01-01/extension/event/next":
			<-r.Context().Done()
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(api.Close)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), testStreamingOn+"=1", "OTEL_SDK_DISABLED=true",
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(api.URL, "http://"), "AWS_LAMBDA_FUNCTION_NAME=pets")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	select {
	case r := <-got:
		if r.contentType != "application/vnd.awslambda.http-integration-response" {
			t.Errorf("content type %q, want application/vnd.awslambda.http-integration-response", r.contentType)
		}
		want, _ := io.ReadAll(&events.LambdaFunctionURLStreamingResponse{StatusCode: 404,
			Headers: map[string]string{"Content-Type": "text/plain"}, Body: strings.NewReader("no pet /pets/7")})
		if string(r.body) != string(want) {
			t.Errorf("body %q, want %q", r.body, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no response within 30 s")
	}
}

// triggersFunction is a raw handler: it answers every event as an HTTP
// API authorizer with a simple response that denies.
func triggersFunction(ctx context.Context, e json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{"isAuthorized":false}`), nil
}

// TestTriggersEndToEnd: a raw handler with lambdaotel.Start in the local
// Lambda environment, with the extension and the sink: a self-managed
// Kafka batch is a CONSUMER span "process <topic>" linked to the record's
// context, and an HTTP API authorizer is the function's SERVER span with
// its decision, under the request's context, with no HTTP status.
func TestTriggersEndToEnd(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{config: otlpConfig, mode: "triggers"})
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kafka := e.invoke(t, sandbox.Request{Payload: read("kafka-self-managed.json")})
	auth := e.invoke(t, sandbox.Request{Payload: read("http-api-authorizer-v2-header.json")})
	if kafka.Error != nil || auth.Error != nil {
		t.Fatalf("invocation errors %v, %v", kafka.Error, auth.Error)
	}
	if string(auth.Payload) != `{"isAuthorized":false}` {
		t.Errorf("authorizer response %s", auth.Payload)
	}
	k := e.root(t, kafka.RequestID)
	if k.Name != "process mytopic" || k.Kind != ptrace.SpanKindConsumer || k.Attributes["faas.trigger"] != "pubsub" ||
		k.Attributes["messaging.system"] != "kafka" || k.Attributes["messaging.destination.name"] != "mytopic" {
		t.Errorf("Kafka span %q kind %v attributes %v", k.Name, k.Kind, k.Attributes)
	}
	if len(k.Links) != 1 || k.Links[0].SpanID.String() != "b7ad6b7169203331" {
		t.Errorf("Kafka span links %+v, want one to the record's context", k.Links)
	}
	a := e.root(t, auth.RequestID)
	if a.Name != "orders" || a.Kind != ptrace.SpanKindServer || a.Attributes["faas.trigger"] != "other" ||
		a.Attributes["lambdaotel.authorizer.decision"] != "deny" || a.Attributes["http.response.status_code"] != nil {
		t.Errorf("authorizer span %q kind %v attributes %v", a.Name, a.Kind, a.Attributes)
	}
	e.checkParent(t, false, a, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
}
