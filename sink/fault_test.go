package sink_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestFaultStatus checks how a failing Fault is answered on both transports.
func TestFaultStatus(t *testing.T) {
	tests := []struct {
		name           string
		fault          sink.Fault
		wantHTTP       int
		wantRetryAfter string
		wantCode       codes.Code
		wantRetryInfo  time.Duration
		wantMessage    string
	}{
		{"503 with Retry-After", sink.Fault{HTTPStatus: 503, RetryAfter: 2 * time.Second},
			503, "2", codes.Unavailable, 2 * time.Second, "injected fault"},
		{"Retry-After rounds up", sink.Fault{HTTPStatus: 429, RetryAfter: 1500 * time.Millisecond},
			429, "2", codes.ResourceExhausted, 1500 * time.Millisecond, "injected fault"},
		{"gRPC code only", sink.Fault{GRPCCode: codes.ResourceExhausted},
			429, "", codes.ResourceExhausted, 0, "injected fault"},
		{"both, with a message", sink.Fault{HTTPStatus: 400, GRPCCode: codes.PermissionDenied, Message: "no such tenant"},
			400, "", codes.PermissionDenied, 0, "no such tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			s := startSink(t, sink.Config{Respond: func(r sink.Request) sink.Fault {
				calls.Add(1)
				if r.Signal != "traces" || r.Items != 1 {
					t.Errorf("Respond got %+v, want traces with 1 item", r)
				}
				return tt.fault
			}})
			ctx := testContext(t)
			td := newTraces("svc", "a")

			// OTLP/HTTP with a raw client.
			for _, enc := range []string{"protobuf", "json"} {
				ct := map[string]string{"protobuf": "application/x-protobuf", "json": "application/json"}[enc]
				resp, body := post(t, s, "/v1/traces", ct, "", encode(t, enc, td))
				if resp.StatusCode != tt.wantHTTP {
					t.Errorf("%s: status %d, want %d", enc, resp.StatusCode, tt.wantHTTP)
				}
				if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
					t.Errorf("%s: Retry-After %q, want %q", enc, got, tt.wantRetryAfter)
				}
				st := decodeStatus(t, resp, body)
				if codes.Code(st.Code) != tt.wantCode || !strings.Contains(st.Message, tt.wantMessage) {
					t.Errorf("%s: body status %v %q, want %v with %q", enc, codes.Code(st.Code), st.Message, tt.wantCode, tt.wantMessage)
				}
			}

			// OTLP/gRPC with pdata's client.
			conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
			st := status.Convert(err)
			if st.Code() != tt.wantCode || !strings.Contains(st.Message(), tt.wantMessage) {
				t.Errorf("gRPC: %v, want %v with %q", err, tt.wantCode, tt.wantMessage)
			}
			var retry time.Duration
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					retry = ri.GetRetryDelay().AsDuration()
				}
			}
			if retry != tt.wantRetryInfo {
				t.Errorf("gRPC RetryInfo delay %v, want %v", retry, tt.wantRetryInfo)
			}

			if calls.Load() != 3 {
				t.Errorf("Respond called %d times, want 3", calls.Load())
			}
			if s.SpanCount() != 0 || len(s.Traces()) != 0 {
				t.Errorf("stored %d spans of failed requests", s.SpanCount())
			}
		})
	}
}

// TestFaultRetriedBySDK fails the first export with 503 and checks that the
// SDK's OTLP/HTTP exporter retries and the span arrives once.
func TestFaultRetriedBySDK(t *testing.T) {
	var calls atomic.Int32
	s := startSink(t, sink.Config{Respond: func(sink.Request) sink.Fault {
		if calls.Add(1) == 1 {
			return sink.Fault{HTTPStatus: http.StatusServiceUnavailable}
		}
		return sink.Fault{}
	}})
	ctx := testContext(t)
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.HTTPAddr()), otlptracehttp.WithInsecure(),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled:         true,
			InitialInterval: time.Millisecond,
			MaxInterval:     time.Millisecond,
			MaxElapsedTime:  time.Minute,
		}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, span := tp.Tracer("t").Start(ctx, "retried")
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitForSpans(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || s.SpanCount() != 1 || s.Spans()[0].Name != "retried" {
		t.Errorf("Respond called %d times, %d spans stored; want 2 calls and the span \"retried\" once", calls.Load(), s.SpanCount())
	}
}

// TestFaultDelay holds requests back with a Delay: the client of one may
// give up, and one held when the sink closes is answered and stored.
func TestFaultDelay(t *testing.T) {
	ctx := testContext(t)
	start := func(t *testing.T) (*sink.Sink, ptraceotlp.GRPCClient, <-chan sink.Request) {
		held := make(chan sink.Request, 1)
		s, err := sink.Start(sink.Config{
			GRPCAddr: "127.0.0.1:0",
			HTTPAddr: "127.0.0.1:0",
			Respond: func(r sink.Request) sink.Fault {
				held <- r
				return sink.Fault{Delay: time.Hour}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return s, ptraceotlp.NewGRPCClient(conn), held
	}

	t.Run("client gives up", func(t *testing.T) {
		s, client, held := start(t)
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := client.Export(cctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "abandoned")))
			errc <- err
		}()
		<-held
		cancel()
		if err := <-errc; status.Code(err) != codes.Canceled {
			t.Errorf("abandoned export: %v, want Canceled", err)
		}
		if n := s.SpanCount(); n != 0 {
			t.Errorf("stored %d spans of an abandoned request", n)
		}
	})

	t.Run("sink closes", func(t *testing.T) {
		s, client, held := start(t)
		errc := make(chan error, 1)
		go func() {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "held")))
			errc <- err
		}()
		<-held
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("export held across Close: %v", err)
		}
		spans := s.Spans()
		if len(spans) != 1 || spans[0].Name != "held" {
			t.Errorf("stored %+v, want the span \"held\"", spans)
		}
	})
}

// TestLatency checks that Config.Latency and Config.Jitter hold every
// request back, on both transports, before it is answered and stored: no
// answer comes sooner than Latency-Jitter, and a latency longer than the
// client waits stores nothing.
func TestLatency(t *testing.T) {
	ctx := testContext(t)
	tests := []struct {
		name             string
		latency, jitter  time.Duration
		wantAtLeast      time.Duration
		clientGivesUpFor bool
	}{
		{"latency", 40 * time.Millisecond, 0, 40 * time.Millisecond, false},
		{"latency with jitter", 60 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, false},
		{"longer than the client waits", time.Hour, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, sink.Config{Latency: tt.latency, Jitter: tt.jitter})
			conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := ptraceotlp.NewGRPCClient(conn)
			body := encode(t, "protobuf", newTraces("svc", "a"))
			send := map[string]func(context.Context) error{
				"grpc": func(ctx context.Context) error {
					_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "a")))
					return err
				},
				"http": func(ctx context.Context) error {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.HTTPAddr()+"/v1/traces", strings.NewReader(string(body)))
					req.Header.Set("Content-Type", "application/x-protobuf")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return err
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("HTTP status %d", resp.StatusCode)
					}
					return nil
				},
			}
			for _, transport := range []string{"grpc", "http"} {
				before := s.SpanCount()
				if tt.clientGivesUpFor {
					cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
					err := send[transport](cctx)
					cancel()
					if err == nil {
						t.Errorf("%s: answered although the latency is %s", transport, tt.latency)
					}
					if n := s.SpanCount(); n != before {
						t.Errorf("%s: stored %d spans of a request the client gave up on", transport, n-before)
					}
					continue
				}
				start := time.Now()
				if err := send[transport](ctx); err != nil {
					t.Fatalf("%s: %v", transport, err)
				}
				if took := time.Since(start); took < tt.wantAtLeast {
					t.Errorf("%s: answered after %s, want at least %s", transport, took, tt.wantAtLeast)
				}
				stored := s.TracesStored()
				if len(stored) != len(s.Traces()) || stored[len(stored)-1].Sub(start) < tt.wantAtLeast {
					t.Errorf("%s: stored at %v, %s after the request was sent; want at least %s", transport, stored, stored[len(stored)-1].Sub(start), tt.wantAtLeast)
				}
			}
		})
	}
	if _, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Jitter: -time.Millisecond}); err == nil || !strings.Contains(err.Error(), "Jitter -1ms") {
		t.Errorf("a negative jitter: %v, want an error naming it", err)
	}
}
