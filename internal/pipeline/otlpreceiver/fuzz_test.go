package otlpreceiver

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// The fuzz targets run their seed corpus in every `go test`; `make fuzz`
// runs each for a bounded time. The seeds hold every hostile input the
// receivers have met: values nested past the limit (a few levels and
// 100,000), empty-item bombs, strings that are not UTF-8, truncated and
// malformed messages.

var signals = []pipeline.Signal{pipeline.Traces, pipeline.Metrics, pipeline.Logs}

// seedRequests adds the hostile requests and a valid one per signal.
func seedRequests(f *testing.F, json bool) {
	f.Helper()
	if json {
		for _, b := range [][]byte{
			hostile.DeepSpanJSON(MaxValueDepth, false), hostile.DeepSpanJSON(MaxValueDepth+1, true),
			hostile.DeepSpanJSON(100_000, false), hostile.EmptySpansJSON(100_000),
			[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\xff"}]}]}]}`),
			[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a\"]}"}]}]}]}`),
			[]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"dataPoints":[{},{}]}}]}]}]}`),
			[]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{"values":[]}}}]}]}]}`),
			[]byte(`[[[[[`), []byte(`{"a":}`), nil,
		} {
			f.Add(uint8(0), b)
			f.Add(uint8(2), b)
		}
		return
	}
	for _, b := range [][]byte{
		hostile.DeepSpan("x", MaxValueDepth), hostile.DeepSpan("x", MaxValueDepth+1), hostile.DeepSpan("x", 100_000),
		hostile.DeepLog(MaxValueDepth + 1), hostile.EmptySpans(100_000), hostile.InvalidUTF8Span(),
		{0x0a, 0x05, 0x12}, {0x0b, 0x0c}, {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, nil,
	} {
		f.Add(uint8(0), b)
		f.Add(uint8(2), b)
	}
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty().Attributes().PutEmptySlice("a").AppendEmpty().SetEmptyMap().PutStr("k", "v")
	b, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
	f.Add(uint8(1), b)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetEmptySlice().AppendEmpty().SetStr("x")
	b, _ = (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	f.Add(uint8(2), b)
}

// checkDecode checks what Inspect and decode say of body: neither panics
// (decode's recover would hide a panic, so a stack overflow is what this
// guards against), and when both accept it they count the same items.
func checkDecode(t *testing.T, which uint8, body []byte, json bool) {
	signal := signals[int(which)%len(signals)]
	in, err := Inspect(signal, body, json)
	if err != nil {
		return // refused before decoding: decoding is never reached
	}
	enc := encodingProto
	if json {
		enc = encodingJSON
	}
	p, err := decode(signal, enc, body)
	if err != nil {
		return
	}
	if !json && p.items != in.Items {
		t.Errorf("Inspect counts %d items, the decoder %d", in.Items, p.items)
	}
	if json && p.items > in.Items {
		t.Errorf("Inspect counts %d items, the decoder %d: admission would be too lenient", in.Items, p.items)
	}
	// What was accepted can be encoded again: what the extension exports.
	switch signal {
	case pipeline.Traces:
		_, err = (&ptrace.ProtoMarshaler{}).MarshalTraces(p.traces)
	case pipeline.Metrics:
		_, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(p.metrics)
	case pipeline.Logs:
		_, err = (&plog.ProtoMarshaler{}).MarshalLogs(p.logs)
	}
	if err != nil {
		t.Errorf("accepted data cannot be encoded: %v", err)
	}
}

// FuzzDecodeProto fuzzes the OTLP protobuf decoding of every signal.
func FuzzDecodeProto(f *testing.F) {
	seedRequests(f, false)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) { checkDecode(t, which, body, false) })
}

// FuzzDecodeJSON fuzzes the OTLP/JSON decoding of every signal.
func FuzzDecodeJSON(f *testing.F) {
	seedRequests(f, true)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) { checkDecode(t, which, body, true) })
}

// FuzzHTTPGzip fuzzes an OTLP/HTTP request through the whole handler:
// gzip, the size limits, inspection, admission, decoding and the buffer.
// The answer is always one of the statuses OTLP/HTTP knows.
func FuzzHTTPGzip(f *testing.F) {
	for _, b := range [][]byte{
		hostile.Gzip(hostile.EmptySpans(500_000)), hostile.Gzip(hostile.DeepSpan("x", 100_000)),
		hostile.Gzip(hostile.DeepSpan("x", 3)), hostile.Gzip(nil), {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, []byte("not gzip"),
	} {
		f.Add(b, true)
		f.Add(b, false)
	}
	r := New(Config{MaxRequestBodySize: 4 << 20}, buffer.New(1<<20), nil)
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeProto)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		r.serveHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Errorf("status %d: %s", w.Code, w.Body)
		}
	})
}

// FuzzGRPCFrame fuzzes the gRPC message framing: the length prefix (which
// must not reserve memory it promises), the compressed flag and gzip.
func FuzzGRPCFrame(f *testing.F) {
	msg := hostile.DeepSpan("x", 3)
	gz, _ := grpcwire.AppendMessage(nil, msg, true)
	for _, b := range [][]byte{
		append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...), gz,
		{0, 0, 0x40, 0, 0}, {0, 0xff, 0xff, 0xff, 0xff}, {1, 0, 0, 0, 3, 1, 2, 3}, {2, 0, 0, 0, 0}, {0, 0, 0},
		append([]byte{1, 0, 0, 0x4b, 0}, hostile.Gzip(hostile.EmptySpans(1_000_000))...),
	} {
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, gzip bool) {
		compression := ""
		if gzip {
			compression = grpcwire.Gzip
		}
		var buf bytes.Buffer
		err := readUnaryMessage(bytes.NewReader(data), &buf, 4<<20, compression)
		if err == nil && buf.Len() > 4<<20 {
			t.Errorf("message of %d bytes read with a limit of 4 MiB", buf.Len())
		}
		if buf.Cap() > 2*len(data)+64<<10 && !gzip {
			t.Errorf("%d bytes reserved for %d bytes received", buf.Cap(), len(data))
		}
	})
}
