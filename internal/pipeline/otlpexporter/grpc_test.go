package otlpexporter

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestGRPCDelivers exports each signal to the sink over plaintext gRPC,
// with and without gzip, and checks that what arrived is what was sent.
func TestGRPCDelivers(t *testing.T) {
	for _, tt := range []struct {
		name     string
		endpoint func(addr string) string
		cfg      GRPCConfig
	}{
		{"insecure", func(a string) string { return a }, GRPCConfig{TLS: TLSConfig{Insecure: true}}},
		{"http scheme, gzip", func(a string) string { return "http://" + a }, GRPCConfig{Compression: "gzip"}},
		{"http scheme, zstd", func(a string) string { return "http://" + a }, GRPCConfig{Compression: "zstd"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, nil)
			cfg := tt.cfg
			cfg.Endpoint = tt.endpoint(s.GRPCAddr())
			e, err := NewGRPC("otlp/test", cfg)
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
				t.Errorf("traces differ: got %d requests", len(got))
			}
			if got := s.Metrics(); len(got) != 1 || metricsJSON(t, got[0]) != metricsJSON(t, md) {
				t.Errorf("metrics differ: got %d requests", len(got))
			}
			if got := s.Logs(); len(got) != 1 || logsJSON(t, got[0]) != logsJSON(t, ld) {
				t.Errorf("logs differ: got %d requests", len(got))
			}
			if sp := s.Traces()[0].ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(2); sp.Name() != "span-1-0-2" {
				t.Errorf("span name %q, want span-1-0-2", sp.Name())
			}
		})
	}
}

// TestGRPCLazy checks that nothing connects before the first export.
func TestGRPCLazy(t *testing.T) {
	var accepted atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	e, err := NewGRPC("otlp", GRPCConfig{Endpoint: ln.Addr().String(), TLS: TLSConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // give an eager dial the time to show
	if accepted.Load() != 0 {
		t.Errorf("NewGRPC connected (%d connections accepted)", accepted.Load())
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
	wantError(t, err, false, 0, "shut down")
}

// TestGRPCFailures checks how each gRPC code from the sink is classified.
func TestGRPCFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      sink.Fault
		retryable  bool
		retryAfter time.Duration
		contains   []string
	}{
		{"UNAVAILABLE", sink.Fault{GRPCCode: codes.Unavailable}, true, 0, []string{"Unavailable"}},
		{"UNAVAILABLE with RetryInfo", sink.Fault{GRPCCode: codes.Unavailable, RetryAfter: 1500 * time.Millisecond},
			true, 1500 * time.Millisecond, []string{"Unavailable"}},
		{"RESOURCE_EXHAUSTED with RetryInfo", sink.Fault{GRPCCode: codes.ResourceExhausted, RetryAfter: 7 * time.Second},
			true, 7 * time.Second, []string{"ResourceExhausted"}},
		{"RESOURCE_EXHAUSTED without RetryInfo", sink.Fault{GRPCCode: codes.ResourceExhausted}, false, 0, []string{"ResourceExhausted"}},
		{"ABORTED", sink.Fault{GRPCCode: codes.Aborted}, true, 0, nil},
		{"DATA_LOSS", sink.Fault{GRPCCode: codes.DataLoss}, true, 0, nil},
		{"OUT_OF_RANGE", sink.Fault{GRPCCode: codes.OutOfRange}, true, 0, nil},
		{"INVALID_ARGUMENT", sink.Fault{GRPCCode: codes.InvalidArgument, Message: "span name is empty"},
			false, 0, []string{"InvalidArgument", "span name is empty"}},
		{"UNAUTHENTICATED", sink.Fault{GRPCCode: codes.Unauthenticated}, false, 0, []string{"Unauthenticated"}},
		{"INTERNAL", sink.Fault{GRPCCode: codes.Internal}, false, 0, nil},
		// grpc-go percent-encodes the message in grpc-message.
		{"percent-encoded message", sink.Fault{GRPCCode: codes.FailedPrecondition, Message: "quota 100% used — réessayez\tplus tard"},
			false, 0, []string{"FailedPrecondition: quota 100% used — réessayez\tplus tard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, func(sink.Request) sink.Fault { return tt.fault })
			e, err := NewGRPC("otlp/backend", GRPCConfig{Endpoint: "http://" + s.GRPCAddr()})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			err = e.ExportMetrics(testContext(t), testMetrics(1))
			want := append([]string{"otlp/backend", s.GRPCAddr(), "metrics", "5 data points not sent"}, tt.contains...)
			wantError(t, err, tt.retryable, tt.retryAfter, want...)
		})
	}
}

// TestGRPCConnectionErrors covers a backend that is not there and one too
// slow for the caller's deadline.
func TestGRPCConnectionErrors(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		e, err := NewGRPC("otlp", GRPCConfig{Endpoint: closedAddr(t), TLS: TLSConfig{Insecure: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		err = e.ExportTraces(testContext(t), testTraces(1, 1, 2))
		wantError(t, err, true, 0, "Unavailable", "2 spans not sent")
	})
	t.Run("slow backend, caller's deadline", func(t *testing.T) {
		s := startSink(t, func(sink.Request) sink.Fault { return sink.Fault{Delay: time.Minute} })
		e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + s.GRPCAddr()})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
		defer cancel()
		err = e.ExportTraces(ctx, testTraces(1, 1, 1))
		wantError(t, err, true, 0, "DeadlineExceeded")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("slow backend, exporter's timeout", func(t *testing.T) {
		s := startSink(t, func(sink.Request) sink.Fault { return sink.Fault{Delay: time.Minute} })
		e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + s.GRPCAddr(), Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
		wantError(t, err, true, 0, "timeout of 100ms")
	})
}

// TestGRPCSplit exports a batch larger than MaxRequestBytes and checks that
// it arrives as several requests with no span lost; then fails the second
// request of another and checks the rest is not sent.
func TestGRPCSplit(t *testing.T) {
	var fail atomic.Bool
	var n atomic.Int32
	s := startSink(t, func(sink.Request) sink.Fault {
		if fail.Load() && n.Add(1) == 2 {
			return sink.Fault{GRPCCode: codes.Unavailable}
		}
		return sink.Fault{}
	})
	const max = 3000
	e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + s.GRPCAddr(), MaxRequestBytes: max, Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	td := testTraces(2, 3, 30)
	if err := e.ExportTraces(testContext(t), td); err != nil {
		t.Fatal(err)
	}
	if s.SpanCount() != td.SpanCount() || len(s.Traces()) < 2 {
		t.Errorf("sink has %d spans in %d requests, want %d in several", s.SpanCount(), len(s.Traces()), td.SpanCount())
	}
	var m ptrace.ProtoMarshaler
	for _, got := range s.Traces() {
		if size := m.TracesSize(got); size > max {
			t.Errorf("a request is %d bytes, over %d", size, max)
		}
		checkSpansKeepTheirScope(t, got)
	}

	s.Reset()
	fail.Store(true)
	err = e.ExportTraces(testContext(t), td)
	wantError(t, err, true, 0, "request 2 of", "of 180 spans not sent")
	if got := int(n.Load()); got != 2 {
		t.Errorf("%d requests made, want 2", got)
	}
}

// recorder is an OTLP/gRPC trace service that records the metadata and
// the deadline of each request and answers with resp.
type recorder struct {
	ptraceotlp.UnimplementedGRPCServer
	resp     ptraceotlp.ExportResponse
	mu       sync.Mutex
	md       metadata.MD
	deadline time.Duration // left when the call arrived; 0: none
}

func (r *recorder) Export(ctx context.Context, _ ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.md, _ = metadata.FromIncomingContext(ctx)
	if d, ok := ctx.Deadline(); ok {
		r.deadline = time.Until(d)
	}
	return r.resp, nil
}

// startRecorder serves rec on a loopback port, with TLS if cert is not nil.
func startRecorder(t *testing.T, rec *recorder, cert *tls.Certificate) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	ptraceotlp.RegisterGRPCServer(srv, rec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// TestGRPCMetadataAndPartialSuccess checks the metadata and the deadline
// a grpc-go server sees, and how a partial success is reported (the sink
// never answers with one).
func TestGRPCMetadataAndPartialSuccess(t *testing.T) {
	rec := &recorder{resp: ptraceotlp.NewExportResponse()}
	rec.resp.PartialSuccess().SetRejectedSpans(3)
	rec.resp.PartialSuccess().SetErrorMessage("3 spans too old")
	addr := startRecorder(t, rec, nil)
	e, err := NewGRPC("otlp", GRPCConfig{
		Endpoint: addr,
		TLS:      TLSConfig{Insecure: true},
		Headers:  map[string]string{"X-Api-Key": "secret", "x-tenant": "7", "trace-bin": "\x00\x01binary", "User-Agent": "dropped"},
		Timeout:  3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	err = e.ExportTraces(testContext(t), testTraces(1, 1, 10))
	wantError(t, err, false, 0, "rejected 3 of 10 spans", "3 spans too old", addr)
	if got := exportError(t, err).Rejected; got != 3 {
		t.Errorf("Rejected = %d, want 3", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for k, v := range map[string]string{"x-api-key": "secret", "x-tenant": "7", "trace-bin": "\x00\x01binary", "content-type": "application/grpc"} {
		if got := rec.md.Get(k); len(got) != 1 || got[0] != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
	if ua := strings.Join(rec.md.Get("user-agent"), " "); !strings.HasPrefix(ua, "lambdaotel/"+Version) {
		t.Errorf("user-agent %q, want it to start with lambdaotel/%s", ua, Version)
	}
	// grpc-go turns grpc-timeout into the handler's deadline.
	if rec.deadline <= 2*time.Second || rec.deadline > 3*time.Second {
		t.Errorf("the server saw a deadline %v away, want the timeout of 3s less the time to get there", rec.deadline)
	}
}

// TestGRPCTLS exports over TLS to a server whose CA is given in a file, and
// checks that without it the certificate is refused for good.
func TestGRPCTLS(t *testing.T) {
	// httptest makes a certificate for 127.0.0.1; the gRPC server uses it.
	hs := httptest.NewUnstartedServer(http.NotFoundHandler())
	hs.StartTLS()
	defer hs.Close()
	caFile := writeCA(t, hs)
	rec := &recorder{resp: ptraceotlp.NewExportResponse()}
	addr := startRecorder(t, rec, &hs.TLS.Certificates[0])

	e, err := NewGRPC("otlp", GRPCConfig{Endpoint: addr, TLS: TLSConfig{CAFile: caFile}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.ExportTraces(testContext(t), testTraces(1, 1, 1)); err != nil {
		t.Fatalf("export with the CA file: %v", err)
	}

	e2, err := NewGRPC("otlp", GRPCConfig{Endpoint: "https://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Shutdown(context.Background())
	err = e2.ExportTraces(testContext(t), testTraces(1, 1, 1))
	wantError(t, err, false, 0, "certificate")
}

// TestNewGRPCErrors checks endpoint parsing and bad configurations.
func TestNewGRPCErrors(t *testing.T) {
	for _, tt := range []struct {
		endpoint, wantHostPort string
		wantPlaintext          bool
	}{
		{"collector:4317", "collector:4317", false},
		{"http://collector:4317", "collector:4317", true},
		{"https://api.example.com", "api.example.com:443", false},
		{"http://[::1]", "[::1]:80", true},
		{"https://api.example.com:4317/", "api.example.com:4317", false},
	} {
		hp, plain, err := parseGRPCEndpoint(tt.endpoint)
		if err != nil || hp != tt.wantHostPort || plain != tt.wantPlaintext {
			t.Errorf("parseGRPCEndpoint(%q) = %q, %v, %v; want %q, %v", tt.endpoint, hp, plain, err, tt.wantHostPort, tt.wantPlaintext)
		}
	}
	for _, tt := range []struct {
		name string
		cfg  GRPCConfig
		want string
	}{
		{"no endpoint", GRPCConfig{}, "no endpoint"},
		{"no port", GRPCConfig{Endpoint: "collector"}, `"collector" is not host:port`},
		{"path", GRPCConfig{Endpoint: "https://collector:4317/v1/traces"}, "takes no path"},
		{"scheme", GRPCConfig{Endpoint: "unix:///tmp/sock"}, `scheme "unix"`},
		{"compression", GRPCConfig{Endpoint: "c:1", Compression: "snappy"}, `compression "snappy"`},
		{"CA file", GRPCConfig{Endpoint: "c:1", TLS: TLSConfig{CAFile: "/nonexistent/ca.pem"}}, "/nonexistent/ca.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGRPC("otlp/x", tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "otlp/x") {
				t.Errorf("NewGRPC error %v, want one naming otlp/x and containing %q", err, tt.want)
			}
		})
	}
}

// TestGRPCBackendBack checks that an export after a failed connection tries
// the backend again at once, instead of failing until gRPC's reconnection
// backoff has passed.
func TestGRPCBackendBack(t *testing.T) {
	addr := closedAddr(t)
	e, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	err = e.ExportTraces(testContext(t), testTraces(1, 1, 1))
	wantError(t, err, true, 0, "Unavailable")

	s, err := sink.Start(sink.Config{GRPCAddr: addr, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Skipf("port %s taken again: %v", addr, err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		if err := e.ExportTraces(testContext(t), testTraces(1, 1, 1)); err != nil {
			t.Fatalf("export %d after the backend came back: %v", i+1, err)
		}
	}
	if s.SpanCount() != 3 {
		t.Errorf("sink has %d spans, want 3", s.SpanCount())
	}
}

// TestConcurrentExports exports from several goroutines at once over both
// transports; run with -race.
func TestConcurrentExports(t *testing.T) {
	s := startSink(t, nil)
	h, err := NewHTTP("otlphttp", httpURLs(s))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGRPC("otlp", GRPCConfig{Endpoint: "http://" + s.GRPCAddr(), Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 4; i++ {
		for _, e := range []interface {
			ExportTraces(context.Context, ptrace.Traces) error
		}{h, g} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- e.ExportTraces(ctx, testTraces(1, 2, 5))
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s.SpanCount() != 8*10 {
		t.Errorf("sink has %d spans, want 80", s.SpanCount())
	}
}
