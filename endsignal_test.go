package lambdaotel

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestEndSignalBase(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default endpoint", nil, "http://localhost:4318"},
		{"endpoint on loopback", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:5318"}, "http://127.0.0.1:5318"},
		{"IPv6 loopback", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1]:4318"}, "http://[::1]:4318"},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:1",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:4318/v1/traces"}, "http://localhost:4318"},
		{"gRPC: the default HTTP endpoint", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317"}, "http://localhost:4318"},
		{"remote backend", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example.com:4318"}, ""},
		{"TLS", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://localhost:4318"}, ""},
		{"no port", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost"}, ""},
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, ""},
		{"turned off", map[string]string{"LAMBDAOTEL_INVOCATION_END": "false"}, ""},
		{"turned off with 0", map[string]string{"LAMBDAOTEL_INVOCATION_END": "0"}, ""},
		{"on", map[string]string{"LAMBDAOTEL_INVOCATION_END": "true"}, "http://localhost:4318"},
		{"not a boolean: stays on", map[string]string{"LAMBDAOTEL_INVOCATION_END": "no"}, "http://localhost:4318"},
		{"Managed Instances", map[string]string{"AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endSignalBase(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("endSignalBase = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEndSignalSend checks the path sent and when the signal turns
// itself off: an answer other than 204 (another collector) or a refused
// connection (nothing listens).
func TestEndSignalSend(t *testing.T) {
	tests := []struct {
		name     string
		status   int // 0: nothing listens
		wantSent int
		wantOff  bool
	}{
		{"extension", http.StatusNoContent, 2, false},
		{"another collector", http.StatusNotFound, 1, true},
		{"nothing listens", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/lambdaotel/v1/invocations/req-1/end" {
					t.Errorf("got %s %s", r.Method, r.URL.Path)
				}
				sent.Add(1)
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			base := srv.URL
			if tt.status == 0 {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				base = "http://" + ln.Addr().String()
				ln.Close()
			}
			e := newEndSignal(func(k string) string {
				if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
					return base
				}
				return ""
			})
			for range 2 {
				e.send("req-1", time.Now().Add(time.Second))
			}
			if got := int(sent.Load()); got != tt.wantSent {
				t.Errorf("%d signals received, want %d", got, tt.wantSent)
			}
			if e.off.Load() != tt.wantOff {
				t.Errorf("off = %v, want %v", e.off.Load(), tt.wantOff)
			}
		})
	}
}
