package sink_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestSDKExporters sends a parent and a child span with the OpenTelemetry Go
// SDK's OTLP exporters and checks what arrived.
func TestSDKExporters(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		encoding  string
		exporter  func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error)
	}{
		{"grpc", "grpc", "protobuf", func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr()), otlptracegrpc.WithInsecure())
		}},
		{"grpc gzip", "grpc", "protobuf", func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr()), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		}},
		{"http protobuf", "http", "protobuf", func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.HTTPAddr()), otlptracehttp.WithInsecure())
		}},
		{"http protobuf gzip", "http", "protobuf", func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
		{"http json", "http", "json", func(ctx context.Context, s *sink.Sink) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var reqs []sink.Request
			s := startSink(t, sink.Config{OnAccept: func(r sink.Request) {
				mu.Lock()
				defer mu.Unlock()
				reqs = append(reqs, r)
			}})
			ctx := testContext(t)
			exp, err := tt.exporter(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(
				sdktrace.WithSyncer(exp),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
			)
			tracer := tp.Tracer("sink-test")
			ctx2, parent := tracer.Start(ctx, "handler", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("faas.invocation_id", "req-1")))
			_, child := tracer.Start(ctx2, "query", trace.WithSpanKind(trace.SpanKindClient))
			child.RecordError(errors.New("connection refused"))
			child.SetStatus(codes.Error, "connection refused")
			child.End()
			parent.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			if err := s.WaitForSpans(ctx, 2); err != nil {
				t.Fatal(err)
			}
			spans := s.Spans()
			if len(spans) != 2 || s.SpanCount() != 2 {
				t.Fatalf("got %d spans (SpanCount %d), want 2: %+v", len(spans), s.SpanCount(), spans)
			}
			// WithSyncer exports each span as it ends: the child first.
			c, p := spans[0], spans[1]
			if p.Name != "handler" || c.Name != "query" {
				t.Fatalf("got spans %q, %q; want query, handler", c.Name, p.Name)
			}
			if !p.ParentSpanID.IsEmpty() || c.ParentSpanID != p.SpanID || c.TraceID != p.TraceID {
				t.Errorf("parent/child: handler %v/%v parent %v, query %v/%v parent %v",
					p.TraceID, p.SpanID, p.ParentSpanID, c.TraceID, c.SpanID, c.ParentSpanID)
			}
			if p.Kind != ptrace.SpanKindServer || c.Kind != ptrace.SpanKindClient {
				t.Errorf("kinds %v, %v; want server, client", p.Kind, c.Kind)
			}
			if got := p.Attributes["faas.invocation_id"]; got != "req-1" {
				t.Errorf("handler faas.invocation_id = %v, want req-1", got)
			}
			if got := p.Resource["service.name"]; got != "checkout" {
				t.Errorf("resource service.name = %v, want checkout", got)
			}
			if p.Scope != "sink-test" {
				t.Errorf("scope = %q, want sink-test", p.Scope)
			}
			if c.Status != ptrace.StatusCodeError || c.StatusMessage != "connection refused" {
				t.Errorf("query status %v %q, want Error \"connection refused\"", c.Status, c.StatusMessage)
			}
			if len(c.Events) != 1 || c.Events[0].Name != "exception" || c.Events[0].Attributes["exception.message"] != "connection refused" {
				t.Errorf("query events = %+v, want one exception", c.Events)
			}
			if p.Duration() < 0 || !p.Start.Before(p.End) && !p.Start.Equal(p.End) {
				t.Errorf("handler times %v .. %v", p.Start, p.End)
			}

			mu.Lock()
			defer mu.Unlock()
			if len(reqs) != 2 {
				t.Fatalf("OnAccept saw %d requests, want 2", len(reqs))
			}
			for _, r := range reqs {
				if r.Signal != "traces" || r.Transport != tt.transport || r.Encoding != tt.encoding || r.Items != 1 {
					t.Errorf("request %+v, want traces via %s (%s) with 1 item", r, tt.transport, tt.encoding)
				}
			}
		})
	}
}

// TestGRPCAllSignals sends each signal with pdata's OTLP/gRPC clients.
func TestGRPCAllSignals(t *testing.T) {
	s := startSink(t, sink.Config{})
	ctx := testContext(t)
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "a", "b", "c"))); err != nil {
		t.Fatalf("export traces: %v", err)
	}
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(newMetrics("svc", 4))); err != nil {
		t.Fatalf("export metrics: %v", err)
	}
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(newLogs("svc", "one", "two"))); err != nil {
		t.Fatalf("export logs: %v", err)
	}

	if got := s.SpanCount(); got != 3 {
		t.Errorf("SpanCount = %d, want 3", got)
	}
	if got := s.DataPointCount(); got != 4 {
		t.Errorf("DataPointCount = %d, want 4", got)
	}
	if got := s.LogRecordCount(); got != 2 {
		t.Errorf("LogRecordCount = %d, want 2", got)
	}
	if m := s.Metrics(); len(m) != 1 || m[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name() != "test.gauge" {
		t.Errorf("Metrics() = %d requests, want 1 with test.gauge", len(m))
	}
	if l := s.Logs(); len(l) != 1 || l[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Body().Str() != "two" {
		t.Errorf("Logs() = %d requests, want 1 with bodies one, two", len(l))
	}
	if tr := s.Traces(); len(tr) != 1 || !tr[0].IsReadOnly() {
		t.Errorf("Traces() = %d requests, want 1 read-only", len(tr))
	}
	var names []string
	for _, sp := range s.Spans() {
		names = append(names, sp.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c" {
		t.Errorf("span names %s, want a,b,c", got)
	}

	s.Reset()
	if s.SpanCount() != 0 || s.DataPointCount() != 0 || s.LogRecordCount() != 0 || len(s.Traces()) != 0 || len(s.Spans()) != 0 {
		t.Errorf("after Reset: %d spans, %d points, %d records", s.SpanCount(), s.DataPointCount(), s.LogRecordCount())
	}
}

func TestWait(t *testing.T) {
	s := startSink(t, sink.Config{})
	ctx := testContext(t)

	// A wait that is satisfied by a later request.
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx, func() bool { return s.LogRecordCount() >= 2 }) }()
	resp, _ := post(t, s, "/v1/logs", "application/json", "", encode(t, "json", newLogs("svc", "a")))
	resp2, _ := post(t, s, "/v1/logs", "application/json", "", encode(t, "json", newLogs("svc", "b")))
	if resp.StatusCode != 200 || resp2.StatusCode != 200 {
		t.Fatalf("status %d, %d", resp.StatusCode, resp2.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}

	// A wait whose context ends.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := s.WaitForSpans(cctx, 1)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for 1 spans, received 0") {
		t.Errorf("WaitForSpans with a canceled context = %v", err)
	}

	// A wait that the sink's Close ends.
	go func() { done <- s.WaitForSpans(ctx, 1) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("WaitForSpans across Close = %v, want an error saying the sink is closed", err)
	}
	if s.LogRecordCount() != 2 {
		t.Errorf("after Close, LogRecordCount = %d, want 2", s.LogRecordCount())
	}
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()

	tests := []struct {
		name string
		cfg  sink.Config
		want string
	}{
		{"grpc address in use", sink.Config{GRPCAddr: busy.Addr().String(), HTTPAddr: "127.0.0.1:0"},
			`listen for OTLP/gRPC on "` + busy.Addr().String() + `"`},
		{"http address in use", sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: busy.Addr().String()},
			`listen for OTLP/HTTP on "` + busy.Addr().String() + `"`},
		{"bad address", sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "nonsense"},
			`listen for OTLP/HTTP on "nonsense"`},
		{"output in a missing directory", sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Out: filepath.Join(dir, "missing", "out.jsonl")},
			filepath.Join(dir, "missing", "out.jsonl")},
		{"negative limit", sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", MaxRequestBytes: -1},
			"MaxRequestBytes is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sink.Start(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestConcurrentRequests sends from several clients at once over both
// transports and waits for all of their spans.
func TestConcurrentRequests(t *testing.T) {
	const clients, requests = 4, 10
	s := startSink(t, sink.Config{})
	ctx := testContext(t)
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := encode(t, "protobuf", newTraces("svc", "a", "b"))

	waited := make(chan error, 1)
	go func() { waited <- s.WaitForSpans(ctx, 2*2*clients*requests) }()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range requests {
				if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "a", "b"))); err != nil {
					t.Errorf("gRPC export: %v", err)
				}
			}
		})
		wg.Go(func() {
			for range requests {
				resp, rb, err := tryPost(s, "/v1/traces", "application/x-protobuf", "", body)
				if err == nil {
					err = ok(resp, rb)
				}
				if err != nil {
					t.Errorf("HTTP export: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if got, want := len(s.Traces()), 2*clients*requests; got != want || s.SpanCount() != 2*want {
		t.Errorf("%d requests with %d spans stored, want %d with %d", got, s.SpanCount(), want, 2*want)
	}
}
