package otlpreceiver_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// plainText stands for a text/plain answer in place of a gRPC code.
const plainText codes.Code = 1 << 20

const (
	ctProto = "application/x-protobuf"
	ctJSON  = "application/json"
)

// TestHTTPAccepts sends valid requests in every encoding and checks the
// answer and what reached the consumer.
func TestHTTPAccepts(t *testing.T) {
	tests := []struct {
		name            string
		path            string
		contentType     string
		contentEncoding string
		data            any
		json            bool
		wantSpans       int
		wantPoints      int
		wantLogs        int
	}{
		{"traces protobuf", "/v1/traces", ctProto, "", newTraces("svc", "a", "b"), false, 2, 0, 0},
		{"traces JSON with charset", "/v1/traces", "application/json; charset=utf-8", "", newTraces("svc", "a"), true, 1, 0, 0},
		{"traces protobuf gzip", "/v1/traces", ctProto, "gzip", newTraces("svc", "a", "b", "c"), false, 3, 0, 0},
		{"traces upper-case media type, identity", "/v1/traces", "Application/X-Protobuf", "identity", newTraces("svc", "a"), false, 1, 0, 0},
		{"metrics protobuf", "/v1/metrics", ctProto, "", newMetrics(3), false, 0, 3, 0},
		{"metrics JSON gzip", "/v1/metrics", ctJSON, "gzip", newMetrics(2), true, 0, 2, 0},
		{"logs protobuf gzip", "/v1/logs", ctProto, "gzip", newLogs("x", "y"), false, 0, 0, 2},
		{"logs JSON", "/v1/logs", ctJSON, "", newLogs("x"), true, 0, 0, 1},
		{"empty request", "/v1/traces", ctProto, "", newTraces("svc"), false, 0, 0, 0},
	}
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := encode(t, tt.json, tt.data)
			if tt.contentEncoding == "gzip" {
				body = gzipped(t, body)
			}
			resp, respBody := do(t, r, rawRequest{path: tt.path, contentType: tt.contentType, contentEncoding: tt.contentEncoding, body: body})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, respBody)
			}
			wantCT := ctProto
			if tt.json {
				wantCT = ctJSON
			}
			if got := resp.Header.Get("Content-Type"); got != wantCT {
				t.Errorf("answer Content-Type %q, want %q", got, wantCT)
			}
			checkResponse(t, tt.path, tt.json, respBody)

			batch := buf.Take()
			got := buffer.Counts{Spans: int64(tt.wantSpans), DataPoints: int64(tt.wantPoints), LogRecords: int64(tt.wantLogs)}
			if batch.Items != got {
				t.Errorf("consumer got %+v, want %+v", batch.Items, got)
			}
			if tt.wantSpans > 0 {
				sp := batch.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
				if sp.Name() != "a" || sp.TraceID() != [16]byte{1} {
					t.Errorf("first span %q %v, want a with its trace id", sp.Name(), sp.TraceID())
				}
			}
		})
	}
}

// checkResponse checks that body is an Export*ServiceResponse of path's
// signal in the request's encoding.
func checkResponse(t *testing.T, path string, json bool, body []byte) {
	t.Helper()
	type response interface {
		UnmarshalProto([]byte) error
		UnmarshalJSON([]byte) error
	}
	var resp response
	switch path {
	case "/v1/traces":
		resp = ptraceotlp.NewExportResponse()
	case "/v1/metrics":
		resp = pmetricotlp.NewExportResponse()
	default:
		resp = plogotlp.NewExportResponse()
	}
	var err error
	if json {
		err = resp.UnmarshalJSON(body)
	} else {
		err = resp.UnmarshalProto(body)
	}
	if err != nil {
		t.Errorf("answer is not an export response: %v: %q", err, body)
	}
}

// TestHTTPRejects sends bad requests and checks each answer's status, the
// google.rpc.Status (or text) in its body, and that nothing was consumed.
func TestHTTPRejects(t *testing.T) {
	const small = 1024 // MaxRequestBodySize of the "small" receiver
	good := encode(t, false, newTraces("svc", "a"))
	random := make([]byte, 4*small)
	rand.Read(random)
	zeros := make([]byte, 8*small) // compresses to a few dozen bytes

	tests := []struct {
		name      string
		small     bool // send to the receiver with a 1 KiB body limit
		req       rawRequest
		status    int
		code      codes.Code // plainText: a text/plain answer
		msg       string
		header    string // a header the answer must have, "Name: value"
		wantNoCT  bool
		wantEmpty bool
	}{
		{name: "unknown path", req: rawRequest{path: "/v1/trace", contentType: ctProto, body: good},
			status: 404, code: codes.NotFound, msg: `unknown path "/v1/trace"; the paths are /v1/traces, /v1/metrics and /v1/logs`},
		{name: "path with a trailing slash", req: rawRequest{path: "/v1/traces/", contentType: ctJSON, body: good},
			status: 404, code: codes.NotFound, msg: `unknown path "/v1/traces/"`},
		{name: "root path, no content type", req: rawRequest{method: "GET", path: "/"},
			status: 404, code: plainText, msg: `unknown path "/"`},
		{name: "GET", req: rawRequest{method: "GET", path: "/v1/traces", contentType: ctProto},
			status: 405, code: codes.Unimplemented, msg: "method GET is not allowed on /v1/traces; use POST", header: "Allow: POST"},
		{name: "PUT JSON", req: rawRequest{method: "PUT", path: "/v1/logs", contentType: ctJSON, body: []byte("{}")},
			status: 405, code: codes.Unimplemented, msg: "method PUT is not allowed on /v1/logs; use POST", header: "Allow: POST"},
		{name: "unsupported content type", req: rawRequest{path: "/v1/traces", contentType: "text/plain", body: good},
			status: 415, code: plainText, msg: `unsupported Content-Type "text/plain"; supported: application/x-protobuf, application/json`,
			header: "Accept-Post: application/x-protobuf, application/json"},
		{name: "no content type", req: rawRequest{path: "/v1/metrics", body: good},
			status: 415, code: plainText, msg: `unsupported Content-Type ""; supported: application/x-protobuf, application/json`},
		{name: "grpc content type", req: rawRequest{path: "/v1/logs", contentType: "application/grpc", body: good},
			status: 415, code: plainText, msg: `unsupported Content-Type "application/grpc"`},
		{name: "unsupported content encoding", req: rawRequest{path: "/v1/traces", contentType: ctProto, contentEncoding: "br", body: good},
			status: 415, code: codes.InvalidArgument, msg: `unsupported Content-Encoding "br"; supported: gzip, identity`,
			header: "Accept-Encoding: gzip, identity"},
		{name: "malformed protobuf", req: rawRequest{path: "/v1/traces", contentType: ctProto, body: []byte{0x0a, 0xff, 0x01, 0x02}},
			status: 400, code: codes.InvalidArgument, msg: "cannot decode traces request (application/x-protobuf, 4 bytes): "},
		{name: "protobuf with a wrong wire type", req: rawRequest{path: "/v1/logs", contentType: ctProto, body: []byte{0x0d, 1, 2, 3, 4}},
			status: 400, code: codes.InvalidArgument, msg: "cannot decode logs request (application/x-protobuf, 5 bytes): "},
		{name: "malformed JSON", req: rawRequest{path: "/v1/metrics", contentType: ctJSON, body: []byte(`{"resourceMetrics": [`)},
			status: 400, code: codes.InvalidArgument, msg: "cannot decode metrics request (application/json, 21 bytes): "},
		{name: "not JSON at all", req: rawRequest{path: "/v1/traces", contentType: ctJSON, body: []byte(`hello`)},
			status: 400, code: codes.InvalidArgument, msg: "cannot decode traces request (application/json, 5 bytes): "},
		{name: "JSON where protobuf is declared", req: rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, true, newTraces("svc", "a"))},
			status: 400, code: codes.InvalidArgument, msg: "cannot decode traces request (application/x-protobuf"},
		{name: "invalid gzip", req: rawRequest{path: "/v1/traces", contentType: ctProto, contentEncoding: "gzip", body: good},
			status: 400, code: codes.InvalidArgument, msg: "cannot decompress the gzip request body: gzip: invalid header"},
		{name: "truncated gzip", req: rawRequest{path: "/v1/traces", contentType: ctJSON, contentEncoding: "gzip", body: gzipped(t, good)[:20]},
			status: 400, code: codes.InvalidArgument, msg: "cannot decompress the gzip request body: unexpected EOF"},
		{name: "body over the limit", small: true, req: rawRequest{path: "/v1/traces", contentType: ctProto, body: random},
			status: 413, code: codes.ResourceExhausted, msg: "request body of 4096 bytes is larger than the limit of 1024 bytes (max_request_body_size)"},
		{name: "chunked body over the limit", small: true, req: rawRequest{path: "/v1/traces", contentType: ctJSON, body: random, chunked: true},
			status: 413, code: codes.ResourceExhausted, msg: "request body is larger than the limit of 1024 bytes (max_request_body_size)"},
		{name: "gzip body over the limit", small: true, req: rawRequest{path: "/v1/traces", contentType: ctProto, contentEncoding: "gzip", body: gzipped(t, random), chunked: true},
			status: 413, code: codes.ResourceExhausted, msg: "request body is larger than the limit of 1024 bytes (max_request_body_size)"},
		{name: "gzip bomb", small: true, req: rawRequest{path: "/v1/traces", contentType: ctProto, contentEncoding: "gzip", body: gzipped(t, zeros)},
			status: 413, code: codes.ResourceExhausted, msg: "request body is larger than the limit of 1024 bytes (max_request_body_size) after gzip decompression"},
		{name: "gzip bomb against the default limit", req: rawRequest{path: "/v1/logs", contentType: ctJSON, contentEncoding: "gzip",
			body: gzipped(t, make([]byte, otlpreceiver.DefaultMaxRequestBodySize+1))},
			status: 413, code: codes.ResourceExhausted, msg: "request body is larger than the limit of 20971520 bytes (max_request_body_size) after gzip decompression"},
	}

	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	rSmall := start(t, otlpreceiver.Config{MaxRequestBodySize: small}, buf)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := r
			if tt.small {
				target = rSmall
			}
			resp, body := do(t, target, tt.req)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			code, msg := errorMessage(t, resp, body)
			wantCode := int32(tt.code)
			if tt.code == plainText {
				wantCode = -1
			}
			t.Logf("%d %q", resp.StatusCode, msg)
			if code != wantCode {
				t.Errorf("google.rpc.Status code %d, want %d (%v)", code, tt.code, tt.code)
			}
			if !strings.Contains(msg, tt.msg) || !strings.HasPrefix(msg, "OTLP/HTTP receiver: ") {
				t.Errorf("message %q\nwant it to contain %q", msg, tt.msg)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				if got := resp.Header.Get(name); got != value {
					t.Errorf("header %s: %q, want %q", name, got, value)
				}
			}
			if want := tt.req.contentType; tt.code != plainText && resp.Header.Get("Content-Type") != want {
				t.Errorf("answer Content-Type %q, want the request's %q", resp.Header.Get("Content-Type"), want)
			}
			if !buf.Empty() {
				t.Errorf("a rejected request reached the consumer: %+v", buf.Take().Items)
			}
		})
	}
	// A connection turns idle just after its answer is sent.
	for _, r := range []*otlpreceiver.Receiver{r, rSmall} {
		if err := r.WaitIdle(testContext(t)); err != nil {
			t.Error(err)
		}
		if n := r.InFlight(); n != 0 {
			t.Errorf("InFlight %d after WaitIdle", n)
		}
	}
}

// TestHTTPFull fills the buffer and checks that the receiver answers 429
// with Retry-After and that what was accepted is still buffered.
func TestHTTPFull(t *testing.T) {
	first := newTraces("svc", "accepted")
	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(first))
	buf := buffer.New(size)
	r := start(t, otlpreceiver.Config{}, buf)

	for i, tc := range []struct {
		ct   string
		json bool
	}{{ctProto, false}, {ctProto, false}, {ctJSON, true}} {
		td := newTraces("svc", fmt.Sprint("span", i))
		if i == 0 {
			td = first
		}
		resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: tc.ct, body: encode(t, tc.json, td)})
		if i == 0 {
			if resp.StatusCode != 200 {
				t.Fatalf("first request: %d %s", resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("request %d: status %d, Retry-After %q; want 429, 1", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		code, msg := errorMessage(t, resp, body)
		if codes.Code(code) != codes.ResourceExhausted || !strings.HasPrefix(msg, "buffer is full: 1 spans") {
			t.Errorf("request %d: status body %v %q", i, codes.Code(code), msg)
		}
		if resp.Header.Get("Content-Type") != tc.ct {
			t.Errorf("request %d: answer Content-Type %q", i, resp.Header.Get("Content-Type"))
		}
	}
	if s := buf.Stats(); s.Rejected.Spans != 2 || s.Accepted.Spans != 1 {
		t.Errorf("stats %+v", s)
	}
	batch := buf.Take()
	if batch.Traces.SpanCount() != 1 || batch.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name() != "accepted" {
		t.Errorf("buffer lost what it had accepted: %d spans", batch.Traces.SpanCount())
	}
	// Once flushed, the buffer accepts again.
	resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, false, newTraces("svc", "later"))})
	if resp.StatusCode != 200 {
		t.Errorf("after Take: %d %s", resp.StatusCode, body)
	}
}

// TestHTTPKeepAlive checks that requests on one connection are each
// counted and answered, and that a big body is read completely.
func TestHTTPKeepAlive(t *testing.T) {
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	names := make([]string, 2000)
	for i := range names {
		names[i] = strings.Repeat("n", 100) + fmt.Sprint(i)
	}
	big := encode(t, false, newTraces("svc", names...))
	for i := range 5 {
		resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: big, chunked: i%2 == 0})
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if got := buf.Take().Traces.SpanCount(); got != 5*len(names) {
		t.Errorf("%d spans, want %d", got, 5*len(names))
	}
}

// TestInvocationEnd checks the end-of-invocation signal: a POST to
// /lambdaotel/v1/invocations/{requestId}/end hands the request id on and
// is answered 204; anything else on that path is refused as any unknown
// path or method is, and without a hook the path is unknown.
func TestInvocationEnd(t *testing.T) {
	tests := []struct {
		name   string
		hook   bool
		method string
		path   string
		status int
		wantID string
	}{
		{"signal", true, http.MethodPost, "/lambdaotel/v1/invocations/8476a536-e9f4-11e8-9739-2dfe598c3fcd/end", http.StatusNoContent, "8476a536-e9f4-11e8-9739-2dfe598c3fcd"},
		{"GET", true, http.MethodGet, "/lambdaotel/v1/invocations/r1/end", http.StatusMethodNotAllowed, ""},
		{"no request id", true, http.MethodPost, "/lambdaotel/v1/invocations//end", http.StatusNotFound, ""},
		{"nested path", true, http.MethodPost, "/lambdaotel/v1/invocations/a/b/end", http.StatusNotFound, ""},
		{"no /end", true, http.MethodPost, "/lambdaotel/v1/invocations/r1", http.StatusNotFound, ""},
		{"no hook", false, http.MethodPost, "/lambdaotel/v1/invocations/r1/end", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cfg := otlpreceiver.Config{}
			if tt.hook {
				cfg.InvocationEnd = func(id string) { got = append(got, id) }
			}
			r := start(t, cfg, newBlocking())
			resp, _ := do(t, r, rawRequest{method: tt.method, path: tt.path})
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			var want []string
			if tt.wantID != "" {
				want = []string{tt.wantID}
			}
			if !slices.Equal(got, want) {
				t.Errorf("request ids handed on %q, want %q", got, want)
			}
		})
	}
}
