package otlpreceiver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

const traceMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// h2c returns a client that speaks HTTP/2 without TLS (prior knowledge),
// as gRPC clients do, to send gRPC calls made by hand.
func h2c(t *testing.T) *http.Client {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// frame returns msg as a gRPC message with the given compressed flag.
func frame(flag byte, msg []byte) []byte {
	n := len(msg)
	return append([]byte{flag, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
}

// rawCall is a gRPC call made by hand.
type rawCall struct {
	method, path string
	header       map[string]string // Content-Type defaults to application/grpc
	body         io.Reader
}

// call sends c to the receiver's gRPC address and returns the response
// with its body read (so that its trailers have arrived).
func call(t *testing.T, client *http.Client, r *otlpreceiver.Receiver, c rawCall) (*http.Response, []byte) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.path == "" {
		c.path = traceMethod
	}
	req, err := http.NewRequestWithContext(testContext(t), c.method, "http://"+r.GRPCAddr()+c.path, c.body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", grpcwire.ContentType)
	req.Header.Set("Te", "trailers")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestGRPCWire checks the receiver's gRPC framing with calls made by hand:
// a success has headers, an empty response message and grpc-status 0 in
// the trailers; an error is a Trailers-Only response (the status in the
// one HEADERS frame, no body, no trailers); what is not gRPC gets an HTTP
// status.
func TestGRPCWire(t *testing.T) {
	msg := encode(t, false, newTraces("svc", "a", "b"))
	gz := gzipped(t, msg)
	tests := []struct {
		name       string
		call       rawCall
		httpStatus int        // 200 unless set
		code       codes.Code // for a 200
		msg        string     // in grpc-message, or in the body of a non-200
		header     string     // a header the answer must have, "Name: value"
		spans      int        // spans that must reach the consumer
	}{
		{name: "success", call: rawCall{body: bytes.NewReader(frame(0, msg))}, code: codes.OK, spans: 2,
			header: "Content-Type: application/grpc"},
		{name: "success, grpc+proto", call: rawCall{header: map[string]string{"Content-Type": "application/grpc+proto"},
			body: bytes.NewReader(frame(0, msg))}, code: codes.OK, spans: 2, header: "Content-Type: application/grpc+proto"},
		{name: "success, gzip", call: rawCall{header: map[string]string{"Grpc-Encoding": "gzip"}, body: bytes.NewReader(frame(1, gz))},
			code: codes.OK, spans: 2},
		{name: "gzip stream, message not compressed", call: rawCall{header: map[string]string{"Grpc-Encoding": "gzip"}, body: bytes.NewReader(frame(0, msg))},
			code: codes.OK, spans: 2},
		{name: "success, with grpc-timeout", call: rawCall{header: map[string]string{"Grpc-Timeout": "5S"}, body: bytes.NewReader(frame(0, msg))},
			code: codes.OK, spans: 2},
		{name: "empty request message", call: rawCall{body: bytes.NewReader(frame(0, nil))}, code: codes.OK},
		{name: "malformed message", call: rawCall{body: bytes.NewReader(frame(0, []byte{0x0a, 0xff, 0x01}))},
			code: codes.InvalidArgument, msg: "OTLP/gRPC receiver: cannot decode traces request (3 bytes): "},
		{name: "unknown method", call: rawCall{path: "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export", body: bytes.NewReader(frame(0, msg))},
			code: codes.Unimplemented, msg: "unknown method /opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"},
		{name: "grpc+json", call: rawCall{header: map[string]string{"Content-Type": "application/grpc+json"}, body: strings.NewReader("{}")},
			code: codes.Unimplemented, msg: `content-subtype "json" is not supported`, header: "Content-Type: application/grpc+json"},
		{name: "unsupported grpc-encoding", call: rawCall{header: map[string]string{"Grpc-Encoding": "snappy"}, body: bytes.NewReader(frame(1, msg))},
			code: codes.Unimplemented, msg: `grpc-encoding "snappy" is not supported`, header: "Grpc-Accept-Encoding: gzip,identity"},
		{name: "compressed flag without grpc-encoding", call: rawCall{body: bytes.NewReader(frame(1, gz))},
			code: codes.Internal, msg: "marked compressed but the stream has no grpc-encoding"},
		{name: "corrupt gzip", call: rawCall{header: map[string]string{"Grpc-Encoding": "gzip"}, body: bytes.NewReader(frame(1, msg))},
			code: codes.Internal, msg: "cannot decompress the gzip message"},
		{name: "compressed flag 2", call: rawCall{body: bytes.NewReader(frame(2, msg))},
			code: codes.Internal, msg: "compressed flag 2 is neither 0 nor 1"},
		{name: "no message", call: rawCall{body: http.NoBody}, code: codes.Internal, msg: "the call ended without a request message"},
		{name: "truncated prefix", call: rawCall{body: bytes.NewReader([]byte{0, 0, 0})}, code: codes.Internal, msg: "ends inside a message prefix"},
		{name: "truncated message", call: rawCall{body: bytes.NewReader(frame(0, msg)[:20])},
			code: codes.Internal, msg: "the stream ends after 15 of the message's"},
		{name: "two messages", call: rawCall{body: bytes.NewReader(append(frame(0, msg), frame(0, msg)...))},
			code: codes.Internal, msg: "more than one request message for a unary method"},
		{name: "malformed grpc-timeout", call: rawCall{header: map[string]string{"Grpc-Timeout": "1x"}, body: bytes.NewReader(frame(0, msg))},
			code: codes.Internal, msg: `malformed grpc-timeout "1x"`},
		{name: "not gRPC", call: rawCall{header: map[string]string{"Content-Type": "application/x-protobuf"}, body: bytes.NewReader(msg)},
			httpStatus: http.StatusUnsupportedMediaType, msg: `unsupported Content-Type "application/x-protobuf"; gRPC calls have application/grpc`},
		{name: "GET", call: rawCall{method: http.MethodGet}, httpStatus: http.StatusMethodNotAllowed,
			msg: "method GET is not allowed", header: "Allow: POST"},
	}
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	client := h2c(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, client, r, tt.call)
			if resp.ProtoMajor != 2 {
				t.Fatalf("answered over %s", resp.Proto)
			}
			want := tt.httpStatus
			if want == 0 {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("HTTP status %d, want %d; body %q", resp.StatusCode, want, body)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				if got := resp.Header.Get(name); got != value {
					t.Errorf("header %s: %q, want %q", name, got, value)
				}
			}
			switch {
			case tt.httpStatus != 0:
				if got := string(body); !strings.Contains(got, tt.msg) || !strings.HasPrefix(got, "OTLP/gRPC receiver: ") {
					t.Errorf("body %q, want it to contain %q", got, tt.msg)
				}
				if _, ok := resp.Header[grpcwire.HeaderStatus]; ok {
					t.Errorf("a non-gRPC answer has grpc-status")
				}
			case tt.code == codes.OK:
				if !bytes.Equal(body, []byte{0, 0, 0, 0, 0}) {
					t.Errorf("body %x, want an empty response message (00 00000000)", body)
				}
				if _, ok := resp.Header[grpcwire.HeaderStatus]; ok {
					t.Errorf("grpc-status in the headers of a success: %v", resp.Header)
				}
				if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
					t.Errorf("trailer grpc-status %q, want 0; trailers %v", got, resp.Trailer)
				}
			default: // Trailers-Only
				if len(body) != 0 || len(resp.Trailer) != 0 {
					t.Errorf("an error answer has a body %q or trailers %v; want Trailers-Only", body, resp.Trailer)
				}
				st, ok := grpcwire.StatusFromHeader(resp.Header)
				if !ok {
					t.Fatalf("no grpc-status in the headers: %v", resp.Header)
				}
				if codes.Code(st.Code) != tt.code || !strings.Contains(st.Message, tt.msg) {
					t.Errorf("status %v %q, want %v with %q", st.Code, st.Message, tt.code, tt.msg)
				}
				if !strings.HasPrefix(st.Message, "OTLP/gRPC receiver: ") {
					t.Errorf("message %q does not say who answered", st.Message)
				}
			}
			if got := buf.Take().Items.Spans; got != int64(tt.spans) {
				t.Errorf("%d spans reached the consumer, want %d", got, tt.spans)
			}
		})
	}
	if err := r.WaitIdle(testContext(t)); err != nil {
		t.Error(err)
	}
}

// TestGRPCHTTP1 sends OTLP/HTTP to the gRPC port: the answer says where it
// should go.
func TestGRPCHTTP1(t *testing.T) {
	r := start(t, otlpreceiver.Config{}, buffer.New(0))
	resp, err := http.Post("http://"+r.GRPCAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(encode(t, false, newTraces("svc", "a"))))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusHTTPVersionNotSupported || !strings.Contains(string(body), "gRPC needs HTTP/2; send OTLP/HTTP to the OTLP/HTTP receiver") {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

// TestGRPCTimeout sends a call whose message stops half way and checks
// that the receiver answers DEADLINE_EXCEEDED when its grpc-timeout has
// passed, instead of waiting for the rest.
func TestGRPCTimeout(t *testing.T) {
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	msg := frame(0, encode(t, false, newTraces("svc", "late")))
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(msg[:len(msg)/2])

	begin := time.Now()
	resp, body := call(t, h2c(t), r, rawCall{header: map[string]string{"Grpc-Timeout": "200m"}, body: pr})
	elapsed := time.Since(begin)
	st, ok := grpcwire.StatusFromHeader(resp.Header)
	if !ok || st.Code != grpcwire.DeadlineExceeded {
		t.Fatalf("status %v (Trailers-Only %v), body %q; want DEADLINE_EXCEEDED", st, ok, body)
	}
	if !strings.Contains(st.Message, "deadline (grpc-timeout) passed") {
		t.Errorf("message %q", st.Message)
	}
	if elapsed < 200*time.Millisecond {
		t.Errorf("answered after %v, before the timeout of 200ms", elapsed)
	}
	if !buf.Empty() {
		t.Error("a call that timed out reached the consumer")
	}
	if err := r.WaitIdle(testContext(t)); err != nil {
		t.Error(err)
	}
}

// failing is a consumer that fails every call with err.
type failing struct{ err error }

func (f failing) ConsumeTraces(context.Context, ptrace.Traces) error    { return f.err }
func (f failing) ConsumeMetrics(context.Context, pmetric.Metrics) error { return f.err }
func (f failing) ConsumeLogs(context.Context, plog.Logs) error          { return f.err }

// TestGRPCMessageEncoding checks that a status message with '%', control
// characters and non-ASCII text is percent-encoded in grpc-message as the
// protocol says, and that grpc-go decodes it to the same text.
func TestGRPCMessageEncoding(t *testing.T) {
	const text = "disk 100% full — naïve\tretry\nlater"
	r := start(t, otlpreceiver.Config{}, failing{errors.New(text)})

	_, err := ptraceotlp.NewGRPCClient(dial(t, r)).Export(testContext(t), ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "a")))
	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != text {
		t.Errorf("grpc-go got %v %q, want Internal %q", st.Code(), st.Message(), text)
	}

	resp, _ := call(t, h2c(t), r, rawCall{body: bytes.NewReader(frame(0, encode(t, false, newTraces("svc", "a"))))})
	const wire = "disk 100%25 full %E2%80%94 na%C3%AFve%09retry%0Alater"
	if got := resp.Header.Get("Grpc-Message"); got != wire {
		t.Errorf("grpc-message on the wire %q, want %q", got, wire)
	}
}
