package otlpreceiver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// testContext returns a context that ends with the test.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d)
	}
	t.Cleanup(cancel)
	return ctx
}

// start starts a receiver on loopback ports handing data to next, and
// shuts it down at the end of the test.
func start(t *testing.T, cfg otlpreceiver.Config, next interface {
	ConsumeTraces(context.Context, ptrace.Traces) error
	ConsumeMetrics(context.Context, pmetric.Metrics) error
	ConsumeLogs(context.Context, plog.Logs) error
}) *otlpreceiver.Receiver {
	t.Helper()
	if cfg.GRPCEndpoint == "" {
		cfg.GRPCEndpoint = "127.0.0.1:0"
	}
	if cfg.HTTPEndpoint == "" {
		cfg.HTTPEndpoint = "127.0.0.1:0"
	}
	r := otlpreceiver.New(cfg, next, nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r
}

// newTraces returns traces of service svc with one span per name.
func newTraces(svc string, names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", svc)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	for i, name := range names {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(name)
		sp.SetTraceID([16]byte{1, byte(i)})
		sp.SetSpanID([8]byte{2, byte(i)})
		sp.Attributes().PutInt("i", int64(i))
	}
	return td
}

func newMetrics(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	points := m.SetEmptySum().DataPoints()
	for i := range n {
		points.AppendEmpty().SetIntValue(int64(i))
	}
	return md
}

func newLogs(bodies ...string) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, b := range bodies {
		records.AppendEmpty().Body().SetStr(b)
	}
	return ld
}

// encode returns the OTLP export request of data (ptrace.Traces,
// pmetric.Metrics or plog.Logs) in protobuf or JSON.
func encode(t *testing.T, json bool, data any) []byte {
	t.Helper()
	type request interface {
		MarshalProto() ([]byte, error)
		MarshalJSON() ([]byte, error)
	}
	var req request
	switch d := data.(type) {
	case ptrace.Traces:
		req = ptraceotlp.NewExportRequestFromTraces(d)
	case pmetric.Metrics:
		req = pmetricotlp.NewExportRequestFromMetrics(d)
	case plog.Logs:
		req = plogotlp.NewExportRequestFromLogs(d)
	}
	var b []byte
	var err error
	if json {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawRequest is an OTLP/HTTP request made by hand.
type rawRequest struct {
	method, path, contentType, contentEncoding string
	body                                       []byte
	chunked                                    bool // hide the length: Transfer-Encoding: chunked
}

// do sends req to the receiver's OTLP/HTTP address and returns the answer
// with its body read.
func do(t *testing.T, r *otlpreceiver.Receiver, req rawRequest) (*http.Response, []byte) {
	t.Helper()
	if req.method == "" {
		req.method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(req.body)
	if req.chunked {
		body = io.MultiReader(body) // not a type whose length net/http knows
	}
	hr, err := http.NewRequestWithContext(testContext(t), req.method, "http://"+r.HTTPAddr()+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if req.contentEncoding != "" {
		hr.Header.Set("Content-Encoding", req.contentEncoding)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// errorMessage decodes an error answer's body as its Content-Type says: a
// google.rpc.Status in protobuf or JSON, or plain text.
func errorMessage(t *testing.T, resp *http.Response, body []byte) (code int32, msg string) {
	t.Helper()
	ct := resp.Header.Get("Content-Type")
	var st spb.Status
	switch {
	case ct == "application/x-protobuf":
		if err := proto.Unmarshal(body, &st); err != nil {
			t.Fatalf("body is not a protobuf google.rpc.Status: %v: %q", err, body)
		}
	case ct == "application/json":
		if err := protojson.Unmarshal(body, &st); err != nil {
			t.Fatalf("body is not a JSON google.rpc.Status: %v: %q", err, body)
		}
	case strings.HasPrefix(ct, "text/plain"):
		return -1, string(body)
	default:
		t.Fatalf("error answer with Content-Type %q: %q", ct, body)
	}
	return st.GetCode(), st.GetMessage()
}

// blocking is a consumer that, for each call, says it has begun, waits to
// be released, and then hands the data to a buffer.
type blocking struct {
	entered  chan struct{}
	release  chan struct{}
	finished atomic.Int32
	buf      *buffer.Buffer
}

func newBlocking() *blocking {
	return &blocking{entered: make(chan struct{}, 10), release: make(chan struct{}), buf: buffer.New(0)}
}

func (b *blocking) wait() {
	b.entered <- struct{}{}
	<-b.release
}

func (b *blocking) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	b.wait()
	defer b.finished.Add(1)
	return b.buf.ConsumeTraces(ctx, td)
}

func (b *blocking) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	b.wait()
	defer b.finished.Add(1)
	return b.buf.ConsumeMetrics(ctx, md)
}

func (b *blocking) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b.wait()
	defer b.finished.Add(1)
	return b.buf.ConsumeLogs(ctx, ld)
}
