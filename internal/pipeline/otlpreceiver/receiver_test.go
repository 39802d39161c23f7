package otlpreceiver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// canceled is a context that has already ended: WaitIdle with it reports
// whether requests are in flight without waiting.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestWaitIdle holds a request in a slow consumer and checks that WaitIdle
// returns only once the consumer has finished with it.
func TestWaitIdle(t *testing.T) {
	tests := []struct {
		name string
		send func(t *testing.T, r *otlpreceiver.Receiver) error
	}{
		{"http", func(t *testing.T, r *otlpreceiver.Receiver) error {
			resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, false, newTraces("svc", "slow"))})
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d: %s", resp.StatusCode, body)
			}
			return nil
		}},
		{"grpc", func(t *testing.T, r *otlpreceiver.Receiver) error {
			_, err := ptraceotlp.NewGRPCClient(dial(t, r)).Export(testContext(t), ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "slow")))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			c := newBlocking()
			r := start(t, otlpreceiver.Config{}, c)
			if err := r.WaitIdle(canceled()); err != nil {
				t.Fatalf("WaitIdle before any request: %v", err)
			}

			sent := make(chan error, 1)
			go func() { sent <- tt.send(t, r) }()
			<-c.entered // the request is in the consumer now
			if n := r.InFlight(); n != 1 {
				t.Errorf("InFlight = %d while the consumer holds a request, want 1", n)
			}
			err := r.WaitIdle(canceled())
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 OTLP requests still in flight") {
				t.Errorf("WaitIdle with a request in flight: %v", err)
			}

			idle := make(chan error, 1)
			go func() { idle <- r.WaitIdle(ctx) }()
			close(c.release)
			if err := <-idle; err != nil {
				t.Fatal(err)
			}
			if c.finished.Load() != 1 {
				t.Error("WaitIdle returned before the consumer finished")
			}
			if n := r.InFlight(); n != 0 {
				t.Errorf("InFlight = %d after WaitIdle", n)
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if n := c.buf.Take().Traces.SpanCount(); n != 1 {
				t.Errorf("%d spans buffered, want 1", n)
			}
		})
	}
}

// TestWaitIdleWhileReading checks that a request counts as in flight from
// its first bytes, before its body has arrived.
func TestWaitIdleWhileReading(t *testing.T) {
	ctx := testContext(t)
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	body := encode(t, false, newTraces("svc", "late"))

	conn, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := conn.Write(append([]byte(head), body[:len(body)/2]...)); err != nil {
		t.Fatal(err)
	}
	// The server reads the bytes in its own time; wait until it has.
	for r.InFlight() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the receiver never saw the request")
		}
		time.Sleep(time.Millisecond)
	}
	if err := r.WaitIdle(canceled()); err == nil {
		t.Fatal("WaitIdle returned nil while a request body was still arriving")
	}

	idle := make(chan error, 1)
	go func() { idle <- r.WaitIdle(ctx) }()
	if _, err := conn.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := <-idle; err != nil {
		t.Fatal(err)
	}
	if n := buf.Take().Traces.SpanCount(); n != 1 {
		t.Errorf("after WaitIdle, %d spans buffered, want 1", n)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestShutdownIsGraceful shuts the receiver down while a request is in the
// consumer and checks that the request is still answered.
func TestShutdownIsGraceful(t *testing.T) {
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			ctx := testContext(t)
			c := newBlocking()
			r := otlpreceiver.New(otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0", HTTPEndpoint: "127.0.0.1:0"}, c, nil)
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			sent := make(chan error, 1)
			go func() {
				if transport == "grpc" {
					_, err := ptraceotlp.NewGRPCClient(dial(t, r)).Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "last")))
					sent <- err
					return
				}
				resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, false, newTraces("svc", "last"))})
				if resp.StatusCode != 200 {
					sent <- fmt.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				sent <- nil
			}()
			<-c.entered
			stopped := make(chan error, 1)
			go func() { stopped <- r.Shutdown(ctx) }()
			close(c.release)
			if err := <-sent; err != nil {
				t.Errorf("request in flight during Shutdown: %v", err)
			}
			if err := <-stopped; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if n := c.buf.Take().Traces.SpanCount(); n != 1 {
				t.Errorf("%d spans buffered, want 1", n)
			}
			if _, err := net.Dial("tcp", r.HTTPAddr()); err == nil {
				t.Error("OTLP/HTTP still accepts connections after Shutdown")
			}
		})
	}
}

// TestShutdownDeadline checks that Shutdown gives up when its context ends
// while a request is stuck in the consumer.
func TestShutdownDeadline(t *testing.T) {
	c := newBlocking()
	defer close(c.release)
	r := otlpreceiver.New(otlpreceiver.Config{HTTPEndpoint: "127.0.0.1:0"}, c, nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		req, _ := http.NewRequest("POST", "http://"+r.HTTPAddr()+"/v1/traces", strings.NewReader(string(encode(t, false, newTraces("svc", "stuck")))))
		req.Header.Set("Content-Type", ctProto)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-c.entered
	if err := r.Shutdown(canceled()); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with an ended context: %v, want context.Canceled", err)
	}
}

// TestStart checks the listeners and the errors of Start.
func TestStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := busy.Addr().String()

	tests := []struct {
		name    string
		cfg     otlpreceiver.Config
		wantErr string
	}{
		{"both", otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0", HTTPEndpoint: "127.0.0.1:0"}, ""},
		{"grpc only", otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0"}, ""},
		{"http only", otlpreceiver.Config{HTTPEndpoint: "127.0.0.1:0"}, ""},
		{"neither", otlpreceiver.Config{}, ""},
		{"grpc port in use", otlpreceiver.Config{GRPCEndpoint: busyAddr, HTTPEndpoint: "127.0.0.1:0"},
			"OTLP/gRPC receiver: cannot listen on " + busyAddr + ": the address is already in use " +
				"(is another OpenTelemetry extension or collector running?); free the port or set another endpoint in " +
				"receivers: otlp: protocols: grpc: endpoint"},
		{"http port in use", otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0", HTTPEndpoint: busyAddr},
			"OTLP/HTTP receiver: cannot listen on " + busyAddr + ": the address is already in use"},
		{"no port", otlpreceiver.Config{HTTPEndpoint: "127.0.0.1"},
			`OTLP/HTTP receiver: cannot listen on "127.0.0.1" (want host:port, e.g. 127.0.0.1:4318)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := otlpreceiver.New(tt.cfg, buffer.New(0), nil)
			err := r.Start()
			defer r.Shutdown(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Start: %v\nwant %q", err, tt.wantErr)
				}
				if r.GRPCAddr() != "" || r.HTTPAddr() != "" {
					t.Errorf("a failed Start left a listener open: %q %q", r.GRPCAddr(), r.HTTPAddr())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, addr := range []struct{ configured, actual string }{
				{tt.cfg.GRPCEndpoint, r.GRPCAddr()}, {tt.cfg.HTTPEndpoint, r.HTTPAddr()},
			} {
				if addr.configured == "" {
					if addr.actual != "" {
						t.Errorf("address %q for a protocol that is off", addr.actual)
					}
					continue
				}
				if strings.HasSuffix(addr.actual, ":0") || !strings.HasPrefix(addr.actual, "127.0.0.1:") {
					t.Errorf("address %q, want 127.0.0.1 and the port picked", addr.actual)
				}
				// The port is open as soon as Start returns.
				c, err := net.Dial("tcp", addr.actual)
				if err != nil {
					t.Errorf("dial %s after Start: %v", addr.actual, err)
					continue
				}
				c.Close()
			}
			if err := r.Start(); err == nil {
				t.Error("a second Start succeeded")
			}
		})
	}
}

// TestStartReleasesGRPCPort checks that when OTLP/HTTP cannot listen, the
// gRPC port bound a moment before is released.
func TestStartReleasesGRPCPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcAddr := free.Addr().String()
	free.Close()

	r := otlpreceiver.New(otlpreceiver.Config{GRPCEndpoint: grpcAddr, HTTPEndpoint: busy.Addr().String()}, buffer.New(0), nil)
	if err := r.Start(); err == nil {
		r.Shutdown(context.Background())
		t.Fatal("Start succeeded with the HTTP port in use")
	}
	ln, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		t.Fatalf("gRPC port %s still held after a failed Start: %v", grpcAddr, err)
	}
	ln.Close()
}

// BenchmarkStartShutdown measures what the receiver adds to the
// extension's start: binding both listeners and creating the servers.
func BenchmarkStartShutdown(b *testing.B) {
	buf := buffer.New(0)
	for b.Loop() {
		r := otlpreceiver.New(otlpreceiver.Config{GRPCEndpoint: "127.0.0.1:0", HTTPEndpoint: "127.0.0.1:0"}, buf, nil)
		if err := r.Start(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		r.Shutdown(context.Background())
		b.StartTimer()
	}
}

// BenchmarkHTTPExport measures one OTLP/HTTP protobuf request of 100 spans
// on a kept-alive connection.
func BenchmarkHTTPExport(b *testing.B) {
	buf := buffer.New(0)
	r := otlpreceiver.New(otlpreceiver.Config{HTTPEndpoint: "127.0.0.1:0"}, buf, nil)
	if err := r.Start(); err != nil {
		b.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprint("span", i)
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(newTraces("svc", names...)).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		resp, err := http.Post(url, ctProto, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
		if i%100 == 99 {
			buf.Take()
		}
	}
}
