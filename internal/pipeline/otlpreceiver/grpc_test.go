package otlpreceiver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

func dial(t *testing.T, r *otlpreceiver.Receiver) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestSDKExporters sends spans with the OpenTelemetry Go SDK's OTLP
// exporters, over both transports, with and without gzip, and checks what
// reached the buffer: names, attributes, parent/child links.
func TestSDKExporters(t *testing.T) {
	tests := []struct {
		name string
		new  func(ctx context.Context, r *otlpreceiver.Receiver) (sdktrace.SpanExporter, error)
	}{
		{"grpc", func(ctx context.Context, r *otlpreceiver.Receiver) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(r.GRPCAddr()), otlptracegrpc.WithInsecure())
		}},
		{"grpc gzip", func(ctx context.Context, r *otlpreceiver.Receiver) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(r.GRPCAddr()), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		}},
		{"http", func(ctx context.Context, r *otlpreceiver.Receiver) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(r.HTTPAddr()), otlptracehttp.WithInsecure())
		}},
		{"http gzip", func(ctx context.Context, r *otlpreceiver.Receiver) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(r.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			buf := buffer.New(0)
			r := start(t, otlpreceiver.Config{}, buf)
			exp, err := tt.new(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
			tr := tp.Tracer("lambdaotel/test")
			pctx, parent := tr.Start(ctx, "handler")
			for _, name := range []string{"db", "http"} {
				_, child := tr.Start(pctx, name)
				child.SetAttributes(attribute.String("kind", name))
				child.End()
			}
			parent.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			batch := buf.Take()
			if batch.Items.Spans != 3 {
				t.Fatalf("%d spans in the buffer, want 3", batch.Items.Spans)
			}
			spans := map[string]ptrace.Span{}
			ss := batch.Traces.ResourceSpans().At(0).ScopeSpans().At(0)
			if ss.Scope().Name() != "lambdaotel/test" {
				t.Errorf("scope %q", ss.Scope().Name())
			}
			for _, sp := range ss.Spans().All() {
				spans[sp.Name()] = sp
			}
			root := spans["handler"]
			for _, name := range []string{"db", "http"} {
				sp := spans[name]
				if sp.ParentSpanID() != root.SpanID() || sp.TraceID() != root.TraceID() {
					t.Errorf("%s is not a child of handler", name)
				}
				if v, _ := sp.Attributes().Get("kind"); v.Str() != name {
					t.Errorf("%s: attribute kind = %q", name, v.Str())
				}
			}
		})
	}
}

// TestGRPCMetricsAndLogs sends metrics and logs with pdata's gRPC clients.
func TestGRPCMetricsAndLogs(t *testing.T) {
	ctx := testContext(t)
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	conn := dial(t, r)
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(newMetrics(4))); err != nil {
		t.Fatal(err)
	}
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(newLogs("a", "b")), grpc.UseCompressor("gzip")); err != nil {
		t.Fatal(err)
	}
	batch := buf.Take()
	if batch.Items != (buffer.Counts{DataPoints: 4, LogRecords: 2}) {
		t.Errorf("buffer got %+v", batch.Items)
	}
	if got := batch.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Body().Str(); got != "b" {
		t.Errorf("second log record %q", got)
	}
}

// rawCodec sends and receives messages as bytes, to send what no client
// would.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestGRPCRejects checks the gRPC answers to bad requests.
func TestGRPCRejects(t *testing.T) {
	const traceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	big := func() []byte { // a 2 MiB request of one span, mostly zeros
		td := newTraces("svc", "big")
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("blob", strings.Repeat("\x00", 2<<20))
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	tests := []struct {
		name string
		msg  []byte
		opts []grpc.CallOption
		code codes.Code
		want string
	}{
		{"malformed protobuf", []byte{0x0a, 0xff, 0x01}, nil, codes.InvalidArgument,
			"OTLP/gRPC receiver: cannot decode traces request (3 bytes): "},
		{"message over the limit", big, nil, codes.ResourceExhausted,
			"bytes is larger than the limit of 1048576 bytes (max_recv_msg_size_mib)"},
		{"gzip bomb", big, []grpc.CallOption{grpc.UseCompressor("gzip")}, codes.ResourceExhausted,
			"message is larger than the limit of 1048576 bytes after gzip decompression (max_recv_msg_size_mib)"},
		{"wrong wire type", []byte{0x0d, 1, 2, 3, 4}, nil, codes.InvalidArgument, "cannot decode traces request (5 bytes)"},
	}
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{MaxRecvMsgSizeMiB: 1}, buf)
	conn := dial(t, r)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []byte
			opts := append([]grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}, tt.opts...)
			err := conn.Invoke(testContext(t), traceExport, &tt.msg, &out, opts...)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.want) {
				t.Errorf("got %v %q, want %v with %q", st.Code(), st.Message(), tt.code, tt.want)
			}
			if !buf.Empty() {
				t.Errorf("a rejected request reached the consumer")
			}
		})
	}
}

// TestGRPCFull checks RESOURCE_EXHAUSTED with a RetryInfo of one second
// when the buffer is full, and that the buffered data stays.
func TestGRPCFull(t *testing.T) {
	ctx := testContext(t)
	first := newTraces("svc", "accepted")
	// Room for the first request; the next one would fit the buffer
	// if it were empty.
	buf := buffer.New(3 * buffer.MinItemBytes)
	r := start(t, otlpreceiver.Config{}, buf)
	client := ptraceotlp.NewGRPCClient(dial(t, r))
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(first)); err != nil {
		t.Fatal(err)
	}
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "refused", "too")))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.HasPrefix(st.Message(), "buffer is full: 2 spans") {
		t.Fatalf("got %v %q, want RESOURCE_EXHAUSTED buffer is full", st.Code(), st.Message())
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != time.Second {
		t.Errorf("RetryInfo delay %v, want 1s; details %v", delay, st.Details())
	}
	if s := buf.Stats(); s.Rejected.Spans != 2 {
		t.Errorf("stats %+v", s)
	}
	batch := buf.Take()
	if batch.Traces.SpanCount() != 1 {
		t.Errorf("buffer holds %d spans, want the 1 accepted", batch.Traces.SpanCount())
	}
}
