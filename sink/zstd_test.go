package sink_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestHTTPZstd: a zstd-compressed OTLP/HTTP body is decoded; a corrupt one
// is refused with 400 naming zstd.
func TestHTTPZstd(t *testing.T) {
	s, err := sink.Start(sink.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("zstd-span")
	raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil)
	for _, tt := range []struct {
		name string
		body []byte
		code int
	}{
		{"zstd", enc.EncodeAll(raw, nil), http.StatusOK},
		{"corrupt", []byte("not zstd at all"), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr()+"/v1/traces", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "zstd")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, msg, tt.code)
			}
			if tt.code != http.StatusOK && !strings.Contains(string(msg), "zstd") {
				t.Errorf("body %q: want it to name zstd", msg)
			}
		})
	}
	if got := s.Traces(); len(got) != 1 || got[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name() != "zstd-span" {
		t.Errorf("sink holds %d trace requests; want the one zstd span", len(got))
	}
}
