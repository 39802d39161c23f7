package sandbox_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestBadRequests sends malformed and out-of-place requests to every API of
// a running environment: each gets the status and error body Lambda gives,
// and the environment keeps working.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := start(t, setup{})
	f.invoke(t, `{}`)
	const unknownID = "8d2a7d36-4b3f-4d7e-9c43-1c0f3f6b8a11"
	cases := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		errorType, message       string
	}{
		{"next without identifier", "GET", "/2020-01-01/extension/event/next", "", nil, 403, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header"},
		{"next with a malformed identifier", "GET", "/2020-01-01/extension/event/next", "", map[string]string{"Lambda-Extension-Identifier": "abc"}, 403, "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier"},
		{"next with an unknown identifier", "GET", "/2020-01-01/extension/event/next", "", map[string]string{"Lambda-Extension-Identifier": unknownID}, 403, "Extension.UnknownExtensionIdentifier", "Unknown extension " + unknownID},
		{"register without a name", "POST", "/2020-01-01/extension/register", `{"events":["INVOKE"]}`, nil, 403, "Extension.InvalidExtensionName", "Empty extension name"},
		{"register with malformed JSON", "POST", "/2020-01-01/extension/register", `{"events":`, map[string]string{"Lambda-Extension-Name": "x"}, 403, "InvalidRequestFormat", "unexpected end of JSON input"},
		{"register an unknown event", "POST", "/2020-01-01/extension/register", `{"events":["FOO"]}`, map[string]string{"Lambda-Extension-Name": "x"}, 403, "Extension.InvalidEventType", "FOO: ErrorInvalidEventType"},
		{"register after init", "POST", "/2020-01-01/extension/register", `{"events":["INVOKE"]}`, map[string]string{"Lambda-Extension-Name": "late"}, 403, "Extension.RegistrationClosed", "Extension registration closed already"},
		{"register twice", "POST", "/2020-01-01/extension/register", `{"events":["INVOKE"]}`, map[string]string{"Lambda-Extension-Name": "recorder"}, 403, "Extension.InvalidExtensionState", "State transition from Registered to Registered failed for extension recorder. Error: state transition is not allowed"},
		{"init/error with an unknown identifier", "POST", "/2020-01-01/extension/init/error", `{}`, map[string]string{"Lambda-Extension-Identifier": unknownID, "Lambda-Extension-Function-Error-Type": "Extension.X"}, 403, "Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier"},
		{"subscribe with an unknown identifier", "PUT", "/2022-07-01/telemetry", `{}`, map[string]string{"Lambda-Extension-Identifier": unknownID}, 403, "Extension.UnknownExtensionIdentifier", "Unknown extension " + unknownID},
		{"response for an unknown request", "POST", "/2018-06-01/runtime/invocation/" + unknownID + "/response", `{}`, nil, 400, "InvalidRequestID", "Invalid request ID"},
		{"error for an unknown request", "POST", "/2018-06-01/runtime/invocation/" + unknownID + "/error", `{}`, nil, 400, "InvalidRequestID", "Invalid request ID"},
		{"init error after init", "POST", "/2018-06-01/runtime/init/error", `{}`, nil, 403, "InvalidStateTransition", "State transition from Ready to InitError failed for runtime. Error: state transition is not allowed"},
		{"wrong method", "DELETE", "/2018-06-01/runtime/invocation/next", "", nil, 405, "", ""},
		{"unknown path", "GET", "/2018-06-01/runtime/unknown", "", nil, 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "http://"+f.env.HostAPI()+c.path, strings.NewReader(c.body))
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, c.status, body)
			}
			if c.errorType == "" {
				return
			}
			var doc sandbox.FunctionError
			if err := json.Unmarshal(body, &doc); err != nil || doc.Type != c.errorType || doc.Message != c.message {
				t.Errorf("body %s, want errorType %q errorMessage %q", body, c.errorType, c.message)
			}
		})
	}
	// Nothing of this took the environment down.
	if res := f.invoke(t, `{}`); res.Error != nil || res.Init != nil {
		t.Errorf("invocation after the bad requests: error %v, init %v", res.Error, res.Init)
	}
}

// TestResponseTooLarge checks the 6 MB response limit.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	f := start(t, setup{noExtension: true})
	res := f.invoke(t, `{"action":"big","bytes":7000000}`)
	if res.Error == nil || res.Error.Type != "Function.ResponseSizeTooLarge" ||
		!strings.Contains(res.Error.Message, "exceeded maximum allowed payload size (6291556 bytes)") {
		t.Fatalf("result error %+v", res.Error)
	}
	// aws-lambda-go exits when its response is refused; the next
	// invocation starts a new environment and succeeds.
	if res := f.invoke(t, `{}`); res.Error != nil {
		t.Errorf("invocation after the oversized response: %v", res.Error)
	}
	if _, err := f.env.Invoke(t.Context(), sandbox.Request{Payload: make([]byte, sandbox.MaxPayloadBytes+1)}); err == nil {
		t.Errorf("a request payload over 6 MB was accepted")
	}
}

// TestExecWrapper checks AWS_LAMBDA_EXEC_WRAPPER: the wrapper from a layer
// runs with the runtime command as its arguments.
func TestExecWrapper(t *testing.T) {
	t.Parallel()
	layer := t.TempDir()
	script := "#!/bin/sh\nexport FIXTURE_WRAPPED=\"$#:$(basename \"$1\")\"\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(layer, "otel-handler"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := start(t, setup{noExtension: true, cfg: sandbox.Config{Layers: []string{layer},
		Env: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-handler"}}})
	r := decodeResponse(t, f.invoke(t, `{}`))
	if r.Env["FIXTURE_WRAPPED"] != "1:bootstrap" {
		t.Errorf("FIXTURE_WRAPPED = %q, want the wrapper to get the runtime command", r.Env["FIXTURE_WRAPPED"])
	}
}

// TestLayersMerge checks that several layers are merged like /opt, with the
// extensions of all of them started.
func TestLayersMerge(t *testing.T) {
	t.Parallel()
	second := t.TempDir()
	if err := os.MkdirAll(filepath.Join(second, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(second, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := start(t, setup{cfg: sandbox.Config{Layers: []string{second}}})
	f.invoke(t, `{}`)
	if _, err := os.Stat(filepath.Join(f.env.OptDir(), "bin", "tool")); err != nil {
		t.Errorf("second layer's file is not in the merged /opt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.env.OptDir(), "extensions", "recorder")); err != nil {
		t.Errorf("first layer's extension is not in the merged /opt: %v", err)
	}
	if n := len(f.recording(t).events("INVOKE")); n != 1 {
		t.Errorf("the first layer's extension got %d INVOKE events", n)
	}
}

// TestInvokeEndpoint checks the emulator-compatible invoke endpoint.
func TestInvokeEndpoint(t *testing.T) {
	t.Parallel()
	f := start(t, setup{noExtension: true})
	srv := httptest.NewServer(f.env.InvokeHandler())
	defer srv.Close()
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	post := func(body string, headers map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+sandbox.InvokePath, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := post(`{}`, map[string]string{"X-Amzn-Trace-Id": trace,
		"X-Amz-Client-Context": base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))})
	var r response
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != 200 || r.TraceHeader != trace ||
		resp.Header.Get("X-Amzn-RequestId") != r.RequestID || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Errorf("success: status %d headers %v body %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post(`{"action":"error"}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(string(body), "failed on purpose") {
		t.Errorf("error: status %d headers %v body %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post(`{}`, map[string]string{"X-Amz-Client-Context": "%%%"})
	if resp.StatusCode != 400 {
		t.Errorf("bad client context: status %d body %s", resp.StatusCode, body)
	}
}

// TestMemoryReport checks that maxMemoryUsedMB follows what the function
// allocates.
func TestMemoryReport(t *testing.T) {
	t.Parallel()
	f := start(t, setup{noExtension: true, cfg: sandbox.Config{MemoryMB: 512}})
	small := f.invoke(t, `{}`).Report.MaxMemoryUsedMB
	big := f.invoke(t, `{"action":"alloc","bytes":104857600}`).Report.MaxMemoryUsedMB
	if small <= 0 || big < 100 || big <= small {
		t.Errorf("maxMemoryUsedMB: %d for a small invocation, %d after allocating 100 MB", small, big)
	}
}

// TestStartErrors checks the messages for an environment that cannot start.
func TestStartErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	cases := []struct {
		name string
		cfg  sandbox.Config
		want string
	}{
		{"no task root", sandbox.Config{}, "task root is not set"},
		{"missing task root", sandbox.Config{TaskRoot: "/nonexistent"}, `task root "/nonexistent" is not a directory`},
		{"no bootstrap", sandbox.Config{TaskRoot: empty}, "no runtime command given and " + empty + "/bootstrap does not exist"},
		{"missing layer", sandbox.Config{TaskRoot: empty, Command: []string{"/bin/true"}, Layers: []string{"/nonexistent"}}, `layer "/nonexistent" is not a directory`},
		{"bad memory", sandbox.Config{TaskRoot: empty, Command: []string{"/bin/true"}, MemoryMB: 64}, "memory size 64 MB: Lambda allows 128 to 10240"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sandbox.Start(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}
