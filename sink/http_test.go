package sink_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestHTTPAccepts posts every signal in both encodings, with and without
// gzip, and checks the answer and what was stored.
func TestHTTPAccepts(t *testing.T) {
	type response interface {
		UnmarshalProto([]byte) error
		UnmarshalJSON([]byte) error
	}
	signals := []struct {
		path     string
		data     any
		response func() response
		count    func(*sink.Sink) int
		want     int
	}{
		{"/v1/traces", newTraces("svc", "a", "b"), func() response { return ptraceotlp.NewExportResponse() }, (*sink.Sink).SpanCount, 2},
		{"/v1/metrics", newMetrics("svc", 3), func() response { return pmetricotlp.NewExportResponse() }, (*sink.Sink).DataPointCount, 3},
		{"/v1/logs", newLogs("svc", "x"), func() response { return plogotlp.NewExportResponse() }, (*sink.Sink).LogRecordCount, 1},
	}
	encodings := []struct {
		encoding    string
		contentType string
	}{
		{"protobuf", "application/x-protobuf"},
		{"json", "application/json"},
		{"json", "application/json; charset=utf-8"},
	}
	for _, sig := range signals {
		for _, enc := range encodings {
			for _, gz := range []bool{false, true} {
				name := sig.path + " " + enc.contentType
				if gz {
					name += " gzip"
				}
				t.Run(name, func(t *testing.T) {
					s := startSink(t, sink.Config{})
					body, ce := encode(t, enc.encoding, sig.data), ""
					if gz {
						body, ce = gzipBytes(t, body), "gzip"
					}
					resp, rb := post(t, s, sig.path, enc.contentType, ce, body)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d, body %q", resp.StatusCode, rb)
					}
					wantCT := strings.Split(enc.contentType, ";")[0]
					if got := resp.Header.Get("Content-Type"); got != wantCT {
						t.Errorf("answer Content-Type %q, want %q", got, wantCT)
					}
					r := sig.response()
					var err error
					if enc.encoding == "json" {
						err = r.UnmarshalJSON(rb)
					} else {
						err = r.UnmarshalProto(rb)
					}
					if err != nil {
						t.Errorf("answer %q is not an export response in %s: %v", rb, enc.encoding, err)
					}
					if got := sig.count(s); got != sig.want {
						t.Errorf("stored %d items, want %d", got, sig.want)
					}
				})
			}
		}
	}
}

// TestHTTPRejects checks the answers to requests the sink must refuse, and
// that it stores none of them.
func TestHTTPRejects(t *testing.T) {
	const limit = 1 << 20
	validProto := encode(t, "protobuf", newTraces("svc", "a"))
	tests := []struct {
		name            string
		method          string
		path            string
		contentType     string
		contentEncoding string
		body            []byte
		wantStatus      int
		wantCode        codes.Code // of the google.rpc.Status body; OK means a plain-text body
		wantMessage     string
	}{
		{name: "malformed protobuf", path: "/v1/traces", contentType: "application/x-protobuf",
			body: []byte{0x0a, 0xff, 0xff, 0xff}, wantStatus: 400, wantCode: codes.InvalidArgument,
			wantMessage: "decode traces request (application/x-protobuf, 4 bytes): "},
		{name: "malformed JSON", path: "/v1/metrics", contentType: "application/json",
			body: []byte(`{"resourceMetrics": [`), wantStatus: 400, wantCode: codes.InvalidArgument,
			wantMessage: "decode metrics request (application/json, 21 bytes): "},
		{name: "JSON of the wrong shape", path: "/v1/logs", contentType: "application/json",
			body: []byte(`{"resourceLogs": 7}`), wantStatus: 400, wantCode: codes.InvalidArgument,
			wantMessage: "decode logs request"},
		{name: "unsupported content type", path: "/v1/traces", contentType: "text/plain",
			body: validProto, wantStatus: 415, wantMessage: `unsupported Content-Type "text/plain"`},
		{name: "no content type", path: "/v1/traces",
			body: validProto, wantStatus: 415, wantMessage: `unsupported Content-Type ""`},
		{name: "unsupported content encoding", path: "/v1/traces", contentType: "application/x-protobuf", contentEncoding: "br",
			body: validProto, wantStatus: 415, wantCode: codes.InvalidArgument, wantMessage: `unsupported Content-Encoding "br"`},
		{name: "corrupt gzip", path: "/v1/traces", contentType: "application/x-protobuf", contentEncoding: "gzip",
			body: validProto, wantStatus: 400, wantCode: codes.InvalidArgument, wantMessage: "read gzip request body"},
		{name: "gzip bomb", path: "/v1/traces", contentType: "application/x-protobuf", contentEncoding: "gzip",
			body: gzipBytes(t, make([]byte, 8*limit)), wantStatus: 413, wantCode: codes.ResourceExhausted,
			wantMessage: "larger than 1048576 bytes after decompression"},
		{name: "body too large", path: "/v1/traces", contentType: "application/json",
			body: bytes.Repeat([]byte(" "), limit+1), wantStatus: 413, wantCode: codes.ResourceExhausted,
			wantMessage: "larger than 1048576 bytes"},
		{name: "unknown path", path: "/v1/profiles", contentType: "application/x-protobuf",
			body: validProto, wantStatus: 404, wantMessage: "404 page not found"},
		{name: "GET", method: http.MethodGet, path: "/v1/traces", wantStatus: 405, wantMessage: "Method Not Allowed"},
	}
	s := startSink(t, sink.Config{MaxRequestBytes: limit})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, "http://"+s.HTTPAddr()+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.contentEncoding != "" {
				req.Header.Set("Content-Encoding", tt.contentEncoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			body := buf.Bytes()

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d; body %q", resp.StatusCode, tt.wantStatus, body)
			}
			msg := string(body)
			if tt.wantCode != codes.OK {
				st := decodeStatus(t, resp, body)
				if codes.Code(st.Code) != tt.wantCode {
					t.Errorf("status code %v, want %v", codes.Code(st.Code), tt.wantCode)
				}
				msg = st.Message
			}
			t.Logf("%d %s", resp.StatusCode, msg)
			if !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMessage)
			}
		})
	}
	if s.SpanCount()+s.DataPointCount()+s.LogRecordCount() != 0 {
		t.Errorf("stored %d spans, %d points, %d records from rejected requests", s.SpanCount(), s.DataPointCount(), s.LogRecordCount())
	}
}
