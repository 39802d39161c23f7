package otlpexporter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// startH2C serves h on a loopback port over HTTP/2 without TLS (prior
// knowledge), as a gRPC server does, and returns its host:port.
func startH2C(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// responseMessage returns an ExportTraceServiceResponse with a partial
// success as a gRPC message, compressed if compress is true.
func responseMessage(t *testing.T, rejected int64, msg string, compress bool) []byte {
	t.Helper()
	resp := ptraceotlp.NewExportResponse()
	resp.PartialSuccess().SetRejectedSpans(rejected)
	resp.PartialSuccess().SetErrorMessage(msg)
	b, err := resp.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	framed, err := grpcwire.AppendMessage(nil, b, compress)
	if err != nil {
		t.Fatal(err)
	}
	return framed
}

// TestGRPCResponses answers the exporter with hand-made responses, the
// ones grpc-go servers give and the ones broken servers and proxies give,
// and checks how each is classified.
func TestGRPCResponses(t *testing.T) {
	retryInfo := func(code grpcwire.Code, d time.Duration) string {
		return grpcwire.EncodeBinaryHeader(grpcwire.MarshalStatus(&grpcwire.Status{Code: code, Message: "x", RetryInfo: true, RetryDelay: d}))
	}
	tests := []struct {
		name       string
		respond    func(t *testing.T, w http.ResponseWriter)
		ok         bool
		rejected   int64
		retryable  bool
		retryAfter time.Duration
		contains   []string
	}{
		{name: "success with trailers", ok: true, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write([]byte{0, 0, 0, 0, 0})
			w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		}},
		{name: "success, predeclared trailer, grpc+proto", ok: true, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc+proto")
			w.Header().Set("Trailer", "Grpc-Status")
			w.Write([]byte{0, 0, 0, 0, 0})
			w.Header().Set("Grpc-Status", "0")
		}},
		{name: "partial success", rejected: 2, contains: []string{"rejected 2 of 5 spans: 2 spans too old"}, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write(responseMessage(t, 2, "2 spans too old", false))
			w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		}},
		{name: "partial success, gzip-compressed response", rejected: 1, contains: []string{"rejected 1 of 5 spans: compressed"},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Encoding", "gzip")
				w.Write(responseMessage(t, 1, "compressed", true))
				w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
			}},
		{name: "Trailers-Only UNAVAILABLE, percent-encoded message", retryable: true,
			contains: []string{"Unavailable: draining 100% — bye"}, respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Status", "14")
				w.Header().Set("Grpc-Message", "draining 100%25 %E2%80%94 bye")
				w.WriteHeader(200)
			}},
		{name: "broken percent-encoding is kept", contains: []string{"InvalidArgument: 50%x and %4"}, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "3")
			w.Header().Set("Grpc-Message", "50%x and %4")
		}},
		{name: "RESOURCE_EXHAUSTED with RetryInfo, padded base64", retryable: true, retryAfter: 2500 * time.Millisecond,
			contains: []string{"ResourceExhausted"}, respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Status", "8")
				b := retryInfo(grpcwire.ResourceExhausted, 2500*time.Millisecond)
				w.Header().Set("Grpc-Status-Details-Bin", b+strings.Repeat("=", (4-len(b)%4)%4))
			}},
		{name: "RetryInfo of another code is ignored", contains: []string{"ResourceExhausted"}, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "8")
			w.Header().Set("Grpc-Status-Details-Bin", retryInfo(grpcwire.Unavailable, time.Second))
		}},
		{name: "error in trailers after headers", retryable: true, contains: []string{"Aborted: try again"},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				w.Header().Set(http.TrailerPrefix+"Grpc-Status", "10")
				w.Header().Set(http.TrailerPrefix+"Grpc-Message", "try again")
			}},
		{name: "no grpc-status", contains: []string{"Internal: the server ended the call without a grpc-status"},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.Write([]byte{0, 0, 0, 0, 0})
			}},
		{name: "malformed grpc-status", contains: []string{`Unknown: malformed grpc-status "fourteen"`}, respond: func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "fourteen")
		}},
		{name: "truncated response message", contains: []string{"Internal: response: the stream ends after"},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/grpc")
				w.Write([]byte{0, 0, 0, 0, 9, 1, 2})
				w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
			}},
		{name: "proxy: 503 text", retryable: true,
			contains: []string{"Unavailable: not a gRPC response: HTTP status 503 Service Unavailable", "upstream connect error"},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(503)
				io.WriteString(w, "upstream connect error")
			}},
		{name: "proxy: 404", contains: []string{"Unimplemented: not a gRPC response: HTTP status 404"}, respond: func(t *testing.T, w http.ResponseWriter) {
			http.NotFound(w, nil)
		}},
		{name: "200 HTML", contains: []string{`Unknown: not a gRPC response: HTTP status 200 OK, content-type "text/html"`},
			respond: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html>login</html>")
			}},
		{name: "stream reset", contains: []string{"Internal", "INTERNAL_ERROR"}, respond: func(t *testing.T, w http.ResponseWriter) {
			panic(http.ErrAbortHandler) // RST_STREAM with INTERNAL_ERROR
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got *http.Request
			var gotBody []byte
			addr := startH2C(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				if got == nil { // the first: an INVALID_ARGUMENT is followed by halves
					got, gotBody = r, body
				}
				mu.Unlock()
				tt.respond(t, w)
			})
			e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + addr, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			td := testTraces(1, 1, 5)
			err = e.ExportTraces(testContext(t), td)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("export failed: %v", err)
			case !tt.ok && tt.rejected == 0:
				wantError(t, err, tt.retryable, tt.retryAfter, append(tt.contains, "5 spans not sent")...)
			case tt.rejected > 0:
				wantError(t, err, false, 0, tt.contains...)
				if r := exportError(t, err).Rejected; r != tt.rejected {
					t.Errorf("Rejected %d, want %d", r, tt.rejected)
				}
			}

			// The request, whatever the answer.
			mu.Lock()
			defer mu.Unlock()
			if got.ProtoMajor != 2 || got.Method != "POST" || got.URL.Path != "/opentelemetry.proto.collector.trace.v1.TraceService/Export" {
				t.Errorf("request %s %s over %s", got.Method, got.URL.Path, got.Proto)
			}
			for k, want := range map[string]string{"Content-Type": "application/grpc", "Te": "trailers", "User-Agent": "lambdaotel/" + Version} {
				if v := got.Header.Get(k); v != want {
					t.Errorf("request header %s: %q, want %q", k, v, want)
				}
			}
			if got.Header.Get("Grpc-Encoding") != "" {
				t.Errorf("grpc-encoding %q without compression", got.Header.Get("Grpc-Encoding"))
			}
			if d, err := grpcwire.ParseTimeout(got.Header.Get("Grpc-Timeout")); err != nil || d > 5*time.Second || d < 4*time.Second {
				t.Errorf("grpc-timeout %q (%v, %v), want about the timeout of 5s", got.Header.Get("Grpc-Timeout"), d, err)
			}
			want, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			if msg := gotBody; len(msg) < 5 || msg[0] != 0 || string(msg[5:]) != string(want) {
				t.Errorf("request body is not the traces as one uncompressed message")
			}
		})
	}
}

// TestGRPCRequestCompressed checks the framing of a gzip-compressed
// request, and that a Trailers-Only OK (no response message) is a success.
func TestGRPCRequestCompressed(t *testing.T) {
	type received struct {
		encoding string
		spans    int
		err      error
	}
	got := make(chan received, 1)
	addr := startH2C(t, func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		rec := received{encoding: r.Header.Get("Grpc-Encoding")}
		rec.err = grpcwire.ReadMessage(r.Body, &buf, 1<<20, rec.encoding)
		if rec.err == nil {
			var td ptrace.Traces
			td, rec.err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf.Bytes())
			rec.spans = td.SpanCount()
		}
		got <- rec
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "0")
	})
	e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + addr, Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportTraces(testContext(t), testTraces(1, 1, 7)); err != nil {
		t.Errorf("export: %v", err)
	}
	rec := <-got
	if rec.encoding != "gzip" || rec.err != nil || rec.spans != 7 {
		t.Errorf("server got grpc-encoding %q, %d spans, error %v; want gzip, 7, nil", rec.encoding, rec.spans, rec.err)
	}
}
