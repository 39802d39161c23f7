package otlpexporter

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestHTTPDelivers exports each signal to the sink in every encoding and
// compression and checks that what arrived is what was sent.
func TestHTTPDelivers(t *testing.T) {
	tests := []struct {
		encoding, compression string
		wantEncoding          string // as the sink reports it
	}{
		{"proto", "none", "protobuf"},
		{"", "", "protobuf"},
		{"json", "none", "json"},
		{"proto", "gzip", "protobuf"},
		{"json", "gzip", "json"},
		{"proto", "zstd", "protobuf"},
		{"json", "zstd", "json"},
	}
	for _, tt := range tests {
		t.Run(tt.encoding+"/"+tt.compression, func(t *testing.T) {
			var mu sync.Mutex
			var encodings []string
			s := startSink(t, func(r sink.Request) sink.Fault {
				mu.Lock()
				encodings = append(encodings, r.Encoding)
				mu.Unlock()
				return sink.Fault{}
			})
			cfg := httpURLs(s)
			cfg.Encoding, cfg.Compression = tt.encoding, tt.compression
			e, err := NewHTTP("otlphttp/test", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			ctx := testContext(t)

			td, md, ld := testTraces(2, 2, 3), testMetrics(2), testLogs(3)
			if err := e.ExportTraces(ctx, td); err != nil {
				t.Fatal(err)
			}
			if err := e.ExportMetrics(ctx, md); err != nil {
				t.Fatal(err)
			}
			if err := e.ExportLogs(ctx, ld); err != nil {
				t.Fatal(err)
			}

			if got := s.Traces(); len(got) != 1 || tracesJSON(t, got[0]) != tracesJSON(t, td) {
				t.Errorf("traces differ:\n got %d requests\nwant %s", len(got), tracesJSON(t, td))
			}
			if got := s.Metrics(); len(got) != 1 || metricsJSON(t, got[0]) != metricsJSON(t, md) {
				t.Errorf("metrics differ:\n got %d requests\nwant %s", len(got), metricsJSON(t, md))
			}
			if got := s.Logs(); len(got) != 1 || logsJSON(t, got[0]) != logsJSON(t, ld) {
				t.Errorf("logs differ:\n got %d requests\nwant %s", len(got), logsJSON(t, ld))
			}
			// Spot-check by name, as a reader would.
			got := s.Traces()[0].ResourceSpans().At(1)
			if v, _ := got.Resource().Attributes().Get("service.name"); v.Str() != "svc-1" {
				t.Errorf("resource 1 service.name = %q", v.Str())
			}
			if sp := got.ScopeSpans().At(1).Spans().At(2); sp.Name() != "span-1-1-2" {
				t.Errorf("span name %q, want span-1-1-2", sp.Name())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, enc := range encodings {
				if enc != tt.wantEncoding {
					t.Errorf("sink saw encoding %q, want %q", enc, tt.wantEncoding)
				}
			}
		})
	}
}

// TestHTTPRequestHeaders checks the headers of a request (the sink does not
// record them, so an httptest server does).
func TestHTTPRequestHeaders(t *testing.T) {
	for _, tt := range []struct{ encoding, compression, contentType, contentEncoding string }{
		{"proto", "gzip", "application/x-protobuf", "gzip"},
		{"json", "none", "application/json", ""},
	} {
		t.Run(tt.encoding+"/"+tt.compression, func(t *testing.T) {
			var got http.Header
			var host string
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, host = r.Header.Clone(), r.Host
				body, _ = io.ReadAll(r.Body)
				w.WriteHeader(http.StatusOK)
			}))
			defer srv.Close()
			e, err := NewHTTP("otlphttp", HTTPConfig{
				TracesURL:   srv.URL + "/v1/traces",
				Headers:     map[string]string{"x-api-key": "secret", "Host": "otlp.example.com"},
				Encoding:    tt.encoding,
				Compression: tt.compression,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.ExportTraces(testContext(t), testTraces(1, 1, 1)); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"X-Api-Key":        "secret",
				"User-Agent":       "lambdaotel/" + Version,
				"Content-Type":     tt.contentType,
				"Content-Encoding": tt.contentEncoding,
			}
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.Get(k), v)
				}
			}
			if host != "otlp.example.com" {
				t.Errorf("Host = %q, want otlp.example.com", host)
			}
			if tt.contentEncoding == "gzip" {
				zr, err := gzip.NewReader(strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			req := ptraceotlp.NewExportRequest()
			if tt.encoding == "json" {
				err = req.UnmarshalJSON(body)
			} else {
				err = req.UnmarshalProto(body)
			}
			if err != nil || req.Traces().SpanCount() != 1 {
				t.Errorf("body decodes to %d spans, error %v", req.Traces().SpanCount(), err)
			}
		})
	}
}

// TestHTTPFailures checks how each kind of failure is classified.
func TestHTTPFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      sink.Fault
		retryable  bool
		retryAfter time.Duration
		contains   []string
	}{
		{"429 with Retry-After", sink.Fault{HTTPStatus: 429, RetryAfter: 7 * time.Second},
			true, 7 * time.Second, []string{"429 Too Many Requests"}},
		{"503", sink.Fault{HTTPStatus: 503}, true, 0, []string{"503 Service Unavailable"}},
		{"502", sink.Fault{HTTPStatus: 502}, true, 0, []string{"502 Bad Gateway"}},
		{"504", sink.Fault{HTTPStatus: 504}, true, 0, []string{"504 Gateway Timeout"}},
		{"400 with message", sink.Fault{HTTPStatus: 400, Message: "span name is empty"},
			false, 0, []string{"400 Bad Request", "span name is empty"}},
		{"401", sink.Fault{HTTPStatus: 401, Message: "bad api key"}, false, 0, []string{"401 Unauthorized", "bad api key"}},
		{"500 is permanent in OTLP", sink.Fault{HTTPStatus: 500}, false, 0, []string{"500 Internal Server Error"}},
	}
	for _, tt := range tests {
		for _, enc := range []string{"proto", "json"} {
			t.Run(tt.name+"/"+enc, func(t *testing.T) {
				s := startSink(t, func(sink.Request) sink.Fault { return tt.fault })
				cfg := httpURLs(s)
				cfg.Encoding = enc
				e, err := NewHTTP("otlphttp/backend", cfg)
				if err != nil {
					t.Fatal(err)
				}
				err = e.ExportLogs(testContext(t), testLogs(2))
				want := append([]string{"otlphttp/backend", cfg.LogsURL, "logs", "2 log records not sent"}, tt.contains...)
				wantError(t, err, tt.retryable, tt.retryAfter, want...)
			})
		}
	}
}

// TestHTTPConnectionErrors covers a backend that is not there and one too
// slow for the caller's deadline.
func TestHTTPConnectionErrors(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: "http://" + closedAddr(t) + "/v1/traces"})
		if err != nil {
			t.Fatal(err)
		}
		err = e.ExportTraces(testContext(t), testTraces(1, 1, 4))
		wantError(t, err, true, 0, "connection refused", "4 spans not sent")
	})
	t.Run("slow backend, caller's deadline", func(t *testing.T) {
		s := startSink(t, func(sink.Request) sink.Fault { return sink.Fault{Delay: time.Minute} })
		e, err := NewHTTP("otlphttp", httpURLs(s))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
		defer cancel()
		err = e.ExportTraces(ctx, testTraces(1, 1, 1))
		wantError(t, err, true, 0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("slow backend, exporter's timeout", func(t *testing.T) {
		s := startSink(t, func(sink.Request) sink.Fault { return sink.Fault{Delay: time.Minute} })
		cfg := httpURLs(s)
		cfg.Timeout = 100 * time.Millisecond
		e, err := NewHTTP("otlphttp", cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
		wantError(t, err, true, 0, "timeout of 100ms")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
}

// TestHTTPResponses covers 2xx answers the sink does not give: partial
// successes and bodies that do not decode.
func TestHTTPResponses(t *testing.T) {
	partial := ptraceotlp.NewExportResponse()
	partial.PartialSuccess().SetRejectedSpans(2)
	partial.PartialSuccess().SetErrorMessage("2 spans have no trace id")
	protoBody, _ := partial.MarshalProto()
	jsonBody, _ := partial.MarshalJSON()
	warning := ptraceotlp.NewExportResponse()
	warning.PartialSuccess().SetErrorMessage("deprecated attribute")
	warningBody, _ := warning.MarshalProto()

	tests := []struct {
		name         string
		contentType  string
		body         []byte
		wantRejected int64
	}{
		{"partial success, proto", "application/x-protobuf", protoBody, 2},
		{"partial success, json", "application/json", jsonBody, 2},
		{"warning only", "application/x-protobuf", warningBody, 0},
		{"empty body", "application/x-protobuf", nil, 0},
		{"malformed proto", "application/x-protobuf", []byte{0xff, 0xff, 0xff}, 0},
		{"malformed json", "application/json", []byte("{not json"), 0},
		{"html", "text/html", []byte("<html>ok</html>"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Write(tt.body)
			}))
			defer srv.Close()
			e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces"})
			if err != nil {
				t.Fatal(err)
			}
			err = e.ExportTraces(testContext(t), testTraces(1, 1, 5))
			if tt.wantRejected == 0 {
				if err != nil {
					t.Fatalf("export failed: %v", err)
				}
				return
			}
			wantError(t, err, false, 0, "rejected 2 of 5 spans", "2 spans have no trace id", srv.URL)
			if got := exportError(t, err).Rejected; got != tt.wantRejected {
				t.Errorf("Rejected = %d, want %d", got, tt.wantRejected)
			}
		})
	}
}

// TestHTTPRedirects checks that 307 and 308 are followed with the body and
// that other redirects, which would drop it, fail for good.
func TestHTTPRedirects(t *testing.T) {
	s := startSink(t, nil)
	target := httpURLs(s).TracesURL
	for _, tt := range []struct {
		status int
		ok     bool
	}{{307, true}, {308, true}, {301, false}, {302, false}, {303, false}} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.RedirectHandler(target, tt.status))
			defer srv.Close()
			e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces"})
			if err != nil {
				t.Fatal(err)
			}
			before := s.SpanCount()
			err = e.ExportTraces(testContext(t), testTraces(1, 1, 2))
			if tt.ok {
				if err != nil || s.SpanCount() != before+2 {
					t.Errorf("export: %v; sink got %d spans, want 2", err, s.SpanCount()-before)
				}
				return
			}
			wantError(t, err, false, 0, strconv.Itoa(tt.status), "to "+target)
		})
	}
}

// TestHTTPErrorBodies checks the message taken from a failure's body.
func TestHTTPErrorBodies(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, contentType, body, want string
	}{
		{"text", "text/plain", "quota exceeded for tenant 7\n", "quota exceeded for tenant 7"},
		{"no content type", "", "bad request", "bad request"},
		{"long text is truncated", "text/plain", long, strings.Repeat("x", maxMessageBytes) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces"})
			if err != nil {
				t.Fatal(err)
			}
			err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
			wantError(t, err, false, 0, "400 Bad Request: "+tt.want)
			if len(err.Error()) > 1000 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

// TestHTTPSplit exports batches larger than MaxRequestBytes and checks that
// they arrive as several requests, none too large, with nothing lost.
func TestHTTPSplit(t *testing.T) {
	const max = 4096
	s := startSink(t, nil)
	cfg := httpURLs(s)
	cfg.MaxRequestBytes = max
	cfg.Compression = "gzip"
	e, err := NewHTTP("otlphttp", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	td, md, ld := testTraces(3, 2, 40), testMetrics(40), testLogs(300)
	if err := e.ExportTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportMetrics(ctx, md); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}

	if got := s.SpanCount(); got != td.SpanCount() {
		t.Errorf("sink has %d spans, want %d", got, td.SpanCount())
	}
	if got := s.DataPointCount(); got != md.DataPointCount() {
		t.Errorf("sink has %d data points, want %d", got, md.DataPointCount())
	}
	if got := s.LogRecordCount(); got != ld.LogRecordCount() {
		t.Errorf("sink has %d log records, want %d", got, ld.LogRecordCount())
	}
	var tm ptrace.ProtoMarshaler
	var mm pmetric.ProtoMarshaler
	var lm plog.ProtoMarshaler
	if n := len(s.Traces()); n < 2 {
		t.Errorf("traces arrived in %d requests, want several", n)
	}
	for _, got := range s.Traces() {
		if size := tm.TracesSize(got); size > max {
			t.Errorf("a traces request is %d bytes, over %d", size, max)
		}
		checkSpansKeepTheirScope(t, got)
	}
	for _, got := range s.Metrics() {
		if size := mm.MetricsSize(got); size > max {
			t.Errorf("a metrics request is %d bytes, over %d", size, max)
		}
	}
	for _, got := range s.Logs() {
		if size := lm.LogsSize(got); size > max {
			t.Errorf("a logs request is %d bytes, over %d", size, max)
		}
	}
	if n := len(s.Metrics()); n < 2 {
		t.Errorf("metrics arrived in %d requests, want several", n)
	}
	if n := len(s.Logs()); n < 2 {
		t.Errorf("logs arrived in %d requests, want several", n)
	}
}

// TestHTTPNoSplit exports, with NoSplit, batches larger than
// MaxRequestBytes: the caller has cut them already, so each Export call is
// one request, with nothing lost.
func TestHTTPNoSplit(t *testing.T) {
	s := startSink(t, nil)
	cfg := httpURLs(s)
	cfg.MaxRequestBytes = 4096
	cfg.NoSplit = true
	e, err := NewHTTP("otlphttp", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	td, md, ld := testTraces(3, 2, 40), testMetrics(40), testLogs(300)
	var tm ptrace.ProtoMarshaler
	if size := tm.TracesSize(td); size <= cfg.MaxRequestBytes {
		t.Fatalf("the test's traces are %d bytes, not over %d", size, cfg.MaxRequestBytes)
	}
	wantSpans, wantPoints, wantLogs := td.SpanCount(), md.DataPointCount(), ld.LogRecordCount()
	if err := e.ExportTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportMetrics(ctx, md); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Traces()); n != 1 {
		t.Errorf("traces arrived in %d requests, want 1", n)
	}
	if n := len(s.Metrics()); n != 1 {
		t.Errorf("metrics arrived in %d requests, want 1", n)
	}
	if n := len(s.Logs()); n != 1 {
		t.Errorf("logs arrived in %d requests, want 1", n)
	}
	if s.SpanCount() != wantSpans || s.DataPointCount() != wantPoints || s.LogRecordCount() != wantLogs {
		t.Errorf("sink has %d spans, %d data points, %d log records; want %d, %d, %d",
			s.SpanCount(), s.DataPointCount(), s.LogRecordCount(), wantSpans, wantPoints, wantLogs)
	}
}

// TestHTTPSplitFailure fails the second of several requests and checks that
// the rest are not sent and the error counts them.
func TestHTTPSplitFailure(t *testing.T) {
	var n atomic.Int32
	s := startSink(t, func(sink.Request) sink.Fault {
		if n.Add(1) == 2 {
			return sink.Fault{HTTPStatus: 503, RetryAfter: 3 * time.Second}
		}
		return sink.Fault{}
	})
	cfg := httpURLs(s)
	cfg.MaxRequestBytes = 2048
	e, err := NewHTTP("otlphttp", cfg)
	if err != nil {
		t.Fatal(err)
	}
	td := testTraces(1, 1, 100)
	probe := ptrace.NewTraces()
	td.CopyTo(probe)
	parts := buffer.SplitTraces(probe, cfg.MaxRequestBytes)
	if len(parts) < 3 {
		t.Fatalf("test needs 3 parts or more, has %d", len(parts))
	}
	err = e.ExportTraces(testContext(t), td)
	sent := s.SpanCount()
	if sent != parts[0].SpanCount() {
		t.Errorf("sink has %d spans, want the first part's %d", sent, parts[0].SpanCount())
	}
	if got := int(n.Load()); got != 2 {
		t.Errorf("%d requests made, want 2", got)
	}
	wantError(t, err, true, 3*time.Second, "request 2 of", "503",
		// e.g. "80 of 100 spans not sent"
		strconv.Itoa(td.SpanCount()-sent)+" of 100 spans not sent")
}

// TestHTTPTLS exports to an HTTPS server whose CA is given in a file, and
// checks that without it the certificate is refused for good.
func TestHTTPTLS(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	caFile := writeCA(t, srv)

	e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces", TLS: TLSConfig{CAFile: caFile}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ExportTraces(testContext(t), testTraces(1, 1, 1)); err != nil {
		t.Fatalf("export with the CA file: %v", err)
	}

	e, err = NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
	wantError(t, err, false, 0, "certificate")

	e, err = NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces", TLS: TLSConfig{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ExportTraces(testContext(t), testTraces(1, 1, 1)); err != nil {
		t.Fatalf("export with InsecureSkipVerify: %v", err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("server got %d requests, want 2", got)
	}
}

// writeCA writes the certificate of srv, an httptest TLS server, to a PEM
// file and returns its path.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNewHTTPErrors checks that bad configurations are refused with a
// message naming what is wrong.
func TestNewHTTPErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	tests := []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"no URL", HTTPConfig{}, "no URL"},
		{"relative URL", HTTPConfig{TracesURL: "localhost:4318/v1/traces"}, `traces URL "localhost:4318/v1/traces"`},
		{"bad scheme", HTTPConfig{LogsURL: "ftp://host/v1/logs"}, "logs URL"},
		{"bad compression", HTTPConfig{TracesURL: "http://h/v1/traces", Compression: "snappy"}, `compression "snappy"`},
		{"bad encoding", HTTPConfig{TracesURL: "http://h/v1/traces", Encoding: "xml"}, `encoding "xml"`},
		{"missing CA file", HTTPConfig{TracesURL: "https://h/v1/traces", TLS: TLSConfig{CAFile: filepath.Join(dir, "missing.pem")}}, "missing.pem"},
		{"CA file without PEM", HTTPConfig{TracesURL: "https://h/v1/traces", TLS: TLSConfig{CAFile: notPEM}}, "not.pem holds no PEM certificate"},
		{"cert without key", HTTPConfig{TracesURL: "https://h/v1/traces", TLS: TLSConfig{CertFile: notPEM}}, "no key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHTTP("otlphttp/x", tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "otlphttp/x") {
				t.Errorf("NewHTTP error %v, want one naming otlphttp/x and containing %q", err, tt.want)
			}
		})
	}

	// A signal without a URL cannot be exported; the others can.
	e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: "http://127.0.0.1:1/v1/traces"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.ExportLogs(testContext(t), testLogs(1))
	wantError(t, err, false, 0, "no URL is configured for logs")
}

// checkSpansKeepTheirScope checks that every span in td sits under the
// resource and scope it was created in (see testTraces).
func checkSpansKeepTheirScope(t *testing.T, td ptrace.Traces) {
	t.Helper()
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				r, _ := sp.Attributes().Get("resource")
				s, _ := sp.Attributes().Get("scope")
				wantSvc := "svc-" + strconv.Itoa(int(r.Int()))
				wantScope := "scope-" + strconv.Itoa(int(r.Int())) + "-" + strconv.Itoa(int(s.Int()))
				if svc.Str() != wantSvc || ss.Scope().Name() != wantScope {
					t.Errorf("span %s is under %s/%s, want %s/%s", sp.Name(), svc.Str(), ss.Scope().Name(), wantSvc, wantScope)
				}
			}
		}
	}
}

// TestHTTPStatusBodies answers with google.rpc.Status bodies as the
// protobuf runtime encodes them, with a RetryInfo and no Retry-After, and
// checks the message and delay taken from them.
func TestHTTPStatusBodies(t *testing.T) {
	st, err := status.New(codes.Unavailable, "overloaded, 100% busy").WithDetails(
		&errdetails.DebugInfo{Detail: "skipped"},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(2500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := proto.Marshal(st.Proto())
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(st.Proto())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		contentType string
		body        []byte
	}{{"application/x-protobuf", pb}, {"application/json", js}} {
		t.Run(tt.contentType, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write(tt.body)
			}))
			defer srv.Close()
			e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces"})
			if err != nil {
				t.Fatal(err)
			}
			err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
			wantError(t, err, true, 2500*time.Millisecond, "503 Service Unavailable: overloaded, 100% busy")
		})
	}
}
