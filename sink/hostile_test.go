package sink_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
	"github.com/lambdaotel/lambdaotel/sink"
)

// rawCodec sends and receives messages as they are, to make gRPC calls
// with hand-made bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// TestHostileDepth checks that the sink refuses values nested deeper than
// otlpreceiver.MaxValueDepth instead of crashing: 2 million levels used to
// overflow its stack.
func TestHostileDepth(t *testing.T) {
	s := startSink(t, sink.Config{MaxRequestBytes: 32 << 20})
	for _, tc := range []struct {
		name, ct string
		body     []byte
	}{
		{"protobuf", "application/x-protobuf", hostile.DeepSpan("deep", 2_000_000)},
		{"JSON", "application/json", hostile.DeepSpanJSON(500_000, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post("http://"+s.HTTPAddr()+"/v1/traces", tc.ct, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallSendMsgSize(32<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, out := hostile.DeepSpan("deep", 2_000_000), []byte(nil)
	err = conn.Invoke(testContext(t), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &req, &out)
	if st := grpcstatus.Convert(err); st.Code() == codes.OK || !strings.Contains(st.Message(), fmt.Sprintf("more than %d levels", otlpreceiver.MaxValueDepth)) {
		t.Errorf("gRPC: %v %q, want an error naming the limit", st.Code(), st.Message())
	}
	if n := s.SpanCount(); n != 0 {
		t.Errorf("sink stored %d spans", n)
	}
}
