package sink_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/sink"
)

// startSink starts a sink on free loopback ports and closes it when the test
// ends.
func startSink(t *testing.T, cfg sink.Config) *sink.Sink {
	t.Helper()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	s, err := sink.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// testContext returns a context that ends with the test. Its deadline only
// keeps a broken test from hanging; no test asserts on time.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newTraces returns traces of one resource with service.name=service and
// one span per name, all in one trace, each the child of the one before.
func newTraces(service string, names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var parent pcommon.SpanID
	for i, name := range names {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		id := pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}
		sp.SetSpanID(id)
		sp.SetParentSpanID(parent)
		parent = id
		sp.SetName(name)
		sp.SetKind(ptrace.SpanKindInternal)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(10 * time.Millisecond)))
		sp.Attributes().PutInt("index", int64(i))
	}
	return td
}

// newMetrics returns metrics with one gauge of n data points.
func newMetrics(service string, n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("test.gauge")
	g := m.SetEmptyGauge()
	for i := range n {
		dp := g.DataPoints().AppendEmpty()
		dp.SetIntValue(int64(i))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC)))
	}
	return md
}

// newLogs returns logs with one log record per body.
func newLogs(service string, bodies ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", service)
	sl := rl.ScopeLogs().AppendEmpty()
	for _, b := range bodies {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(b)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	return ld
}

func gzipBytes(t *testing.T, b []byte) []byte {
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

// post sends body to the sink's OTLP/HTTP server and returns the response
// and its body.
func post(t *testing.T, s *sink.Sink, path, contentType, contentEncoding string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := tryPost(s, path, contentType, contentEncoding, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// tryPost is post for goroutines other than the test's.
func tryPost(s *sink.Sink, path, contentType, contentEncoding string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr()+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// decodeStatus decodes a google.rpc.Status answer in the encoding of its
// Content-Type.
func decodeStatus(t *testing.T, resp *http.Response, body []byte) *status.Status {
	t.Helper()
	st := &status.Status{}
	var err error
	switch ct := resp.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(body, st)
	case "application/json":
		err = protojson.Unmarshal(body, st)
	default:
		t.Fatalf("status answer has Content-Type %q; body %q", ct, body)
	}
	if err != nil {
		t.Fatalf("decode status answer %q: %v", body, err)
	}
	return st
}

// encode marshals a ptrace.Traces, pmetric.Metrics or plog.Logs in encoding
// "protobuf" or "json".
func encode(t *testing.T, encoding string, v any) []byte {
	t.Helper()
	var b []byte
	var err error
	switch v := v.(type) {
	case ptrace.Traces:
		if encoding == "json" {
			b, err = (&ptrace.JSONMarshaler{}).MarshalTraces(v)
		} else {
			b, err = (&ptrace.ProtoMarshaler{}).MarshalTraces(v)
		}
	case pmetric.Metrics:
		if encoding == "json" {
			b, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(v)
		} else {
			b, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(v)
		}
	case plog.Logs:
		if encoding == "json" {
			b, err = (&plog.JSONMarshaler{}).MarshalLogs(v)
		} else {
			b, err = (&plog.ProtoMarshaler{}).MarshalLogs(v)
		}
	default:
		t.Fatalf("encode %T", v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}
