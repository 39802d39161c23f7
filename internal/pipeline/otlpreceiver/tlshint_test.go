package otlpreceiver_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// lockedBuffer is a bytes.Buffer safe for the receiver's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTLSClientWarned speaks TLS to the plain OTLP ports, as the
// OpenTelemetry Go SDK does with its default https endpoint: one WARN line
// per port names the fix; plain OTLP/HTTP is not warned about.
func TestTLSClientWarned(t *testing.T) {
	for _, port := range []string{"http", "grpc"} {
		t.Run(port, func(t *testing.T) {
			var logs lockedBuffer
			r := otlpreceiver.New(otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0", HTTPEndpoint: "127.0.0.1:0"},
				buffer.New(1<<20), slog.New(slog.NewTextHandler(&logs, nil)))
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			defer r.Shutdown(testContext(t))
			addr := r.HTTPAddr()
			if port == "grpc" {
				addr = r.GRPCAddr()
			}
			resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/traces", "application/x-protobuf", nil)
			if err == nil {
				resp.Body.Close()
			}
			for range 3 {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
				if err == nil {
					c.Close()
					t.Fatal("the TLS handshake with a plain port succeeded")
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(logs.String(), "a client spoke TLS") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			got := logs.String()
			if n := strings.Count(got, "level=WARN msg=\"a client spoke TLS to "+addr); n != 1 {
				t.Fatalf("%d WARN lines for %s, want 1:\n%s", n, addr, got)
			}
			want := "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318"
			if port == "grpc" {
				want = "OTEL_EXPORTER_OTLP_INSECURE=true"
			}
			if !strings.Contains(got, want) || strings.Count(got, "a client spoke TLS") != 1 {
				t.Errorf("the WARN line does not name %s, or a plain client was warned about:\n%s", want, got)
			}
		})
	}
}
