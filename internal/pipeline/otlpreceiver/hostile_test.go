package otlpreceiver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/buffer"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// TestHostileDepth checks that values nested deeper than MaxValueDepth are
// refused with 400/INVALID_ARGUMENT naming the limit, on both receivers, in
// protobuf and JSON, however deep: 2 million levels used to overflow the
// stack (a fatal error no recover catches), 100,000 to hold 120 MB.
func TestHostileDepth(t *testing.T) {
	buf := buffer.New(0)
	r := start(t, otlpreceiver.Config{}, buf)
	limit := otlpreceiver.MaxValueDepth
	for _, tc := range []struct {
		name   string
		path   string
		ct     string
		body   []byte
		refuse bool
	}{
		{"protobuf at the limit", "/v1/traces", ctProto, hostile.DeepSpan("ok", limit), false},
		{"protobuf one over", "/v1/traces", ctProto, hostile.DeepSpan("deep", limit+1), true},
		{"protobuf 6,000 levels", "/v1/traces", ctProto, hostile.DeepSpan("deep", 6000), true},
		{"protobuf 100,000 levels", "/v1/traces", ctProto, hostile.DeepSpan("deep", 100_000), true},
		{"protobuf 2 million levels", "/v1/traces", ctProto, hostile.DeepSpan("deep", 2_000_000), true},
		{"log body one over", "/v1/logs", ctProto, hostile.DeepLog(limit + 1), true},
		{"JSON arrays at the limit", "/v1/traces", ctJSON, hostile.DeepSpanJSON(limit, false), false},
		{"JSON kvlists at the limit", "/v1/traces", ctJSON, hostile.DeepSpanJSON(limit, true), false},
		{"JSON arrays one over", "/v1/traces", ctJSON, hostile.DeepSpanJSON(limit+1, false), true},
		{"JSON kvlists one over", "/v1/traces", ctJSON, hostile.DeepSpanJSON(limit+1, true), true},
		{"JSON 500,000 levels", "/v1/traces", ctJSON, hostile.DeepSpanJSON(500_000, false), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, r, rawRequest{path: tc.path, contentType: tc.ct, body: tc.body})
			if !tc.refuse {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d %s, want 200", resp.StatusCode, body)
				}
				return
			}
			code, msg := errorMessage(t, resp, body)
			if resp.StatusCode != http.StatusBadRequest || codes.Code(code) != codes.InvalidArgument ||
				!strings.Contains(msg, fmt.Sprintf("more than %d levels", limit)) {
				t.Errorf("status %d, %v %q; want 400 INVALID_ARGUMENT naming the limit", resp.StatusCode, codes.Code(code), msg)
			}
		})
	}
	if n := buf.Stats().Accepted.Spans; n != 3 {
		t.Errorf("%d spans accepted, want the 3 at the limit", n)
	}

	// gRPC: the same check, on the 4 MiB a gRPC message may hold.
	client := h2c(t)
	for _, levels := range []int{limit + 1, 400_000} {
		resp, _ := call(t, client, r, rawCall{body: bytes.NewReader(frame(0, hostile.DeepSpan("deep", levels)))})
		if got := resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status"); got != fmt.Sprint(int(codes.InvalidArgument)) {
			t.Errorf("gRPC, %d levels: grpc-status %q, want INVALID_ARGUMENT", levels, got)
		}
		if msg := resp.Header.Get("Grpc-Message"); !strings.Contains(msg, fmt.Sprintf("more than %d levels", limit)) {
			t.Errorf("gRPC, %d levels: grpc-message %q does not name the limit", levels, msg)
		}
	}
}

// TestHostileUTF8 checks that a string protobuf decoders refuse (not
// UTF-8) is refused at the receiver, not merged with innocent spans into
// a request the backend refuses whole.
func TestHostileUTF8(t *testing.T) {
	r := start(t, otlpreceiver.Config{}, buffer.New(0))
	resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: hostile.InvalidUTF8Span()})
	code, msg := errorMessage(t, resp, body)
	if resp.StatusCode != 400 || codes.Code(code) != codes.InvalidArgument || !strings.Contains(msg, "not valid UTF-8") {
		t.Errorf("status %d %v %q, want 400 INVALID_ARGUMENT: not valid UTF-8", resp.StatusCode, codes.Code(code), msg)
	}
}

// heapGrowth returns how much the heap in use grew while f ran, after a
// collection on both sides.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapInuse) - int64(before.HeapInuse)
}

// totalAlloc returns how many bytes were allocated while f ran.
func totalAlloc(f func()) int64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestHostileItems checks that a request of more items than the buffer
// could ever hold is refused with 413/RESOURCE_EXHAUSTED (never 429: it
// cannot succeed later) before it is decoded: 9 million empty spans are
// 18 MB, 19 KB gzipped, and 1.9 GB decoded.
func TestHostileItems(t *testing.T) {
	buf := buffer.New(12 << 20)
	r := start(t, otlpreceiver.Config{}, buf)
	for _, tc := range []struct {
		name, ct, ce string
		body         []byte
	}{
		{"protobuf, gzip", ctProto, "gzip", hostile.Gzip(hostile.EmptySpans(9_000_000))},
		{"JSON, gzip", ctJSON, "gzip", hostile.Gzip(hostile.EmptySpansJSON(6_000_000))},
		{"protobuf, more bytes than the buffer", ctProto, "", hostile.DeepSpan("x", 1)[:0:0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.body) == 0 {
				big := strings.Repeat("x", 1<<20)
				tc.body = encode(t, false, newTraces("svc", big, big, big, big, big, big, big, big, big, big, big, big, big)) // 13 MB > 12 MB
			}
			var resp *http.Response
			var body []byte
			alloc := totalAlloc(func() {
				resp, body = do(t, r, rawRequest{path: "/v1/traces", contentType: tc.ct, contentEncoding: tc.ce, body: tc.body})
			})
			code, msg := errorMessage(t, resp, body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || codes.Code(code) != codes.ResourceExhausted ||
				resp.Header.Get("Retry-After") != "" || !strings.Contains(msg, "more than the whole buffer holds") {
				t.Errorf("status %d, Retry-After %q, %v %q; want 413 RESOURCE_EXHAUSTED without Retry-After",
					resp.StatusCode, resp.Header.Get("Retry-After"), codes.Code(code), msg)
			}
			// Reading the body costs its size (twice, as the buffer grows);
			// decoding it would cost about 200 bytes per span.
			if alloc > 200<<20 {
				t.Errorf("refusing the request allocated %d MB: it was decoded", alloc>>20)
			}
			t.Logf("%d bytes sent, %d MB allocated", len(tc.body), alloc>>20)
		})
	}
	if s := buf.Stats(); s.Accepted.Spans != 0 || s.RejectedRequests != 3 {
		t.Errorf("buffer stats %+v", s)
	}

	// gRPC: RESOURCE_EXHAUSTED without RetryInfo, so that clients do not
	// retry.
	small := buffer.New(64 << 10)
	r2 := start(t, otlpreceiver.Config{}, small)
	_, err := ptraceotlp.NewGRPCClient(dial(t, r2)).Export(testContext(t), ptraceotlp.NewExportRequestFromTraces(newTraces("svc", make([]string, 2000)...)))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || len(st.Details()) != 0 || !strings.Contains(st.Message(), "more than the whole buffer") {
		t.Errorf("gRPC: %v %q details %v; want RESOURCE_EXHAUSTED without RetryInfo", st.Code(), st.Message(), st.Details())
	}
}

// TestHostilePromise checks that memory is reserved as bytes arrive, not
// as a request promises them: requests that announce 20 MB (HTTP
// Content-Length) or 4 MiB (gRPC message prefix) and send nothing more
// used to take 1.2-1.7 GB between them.
func TestHostilePromise(t *testing.T) {
	r := start(t, otlpreceiver.Config{}, buffer.New(0))
	const n = 30
	growth := heapGrowth(func() {
		var conns []net.Conn
		for range n {
			c, err := net.Dial("tcp", r.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctProto, 20<<20-1)
		}
		// gRPC: one connection, n streams of a 5-byte prefix each.
		client := h2c(t)
		var bodies []*io.PipeWriter
		for range n {
			pr, pw := io.Pipe()
			bodies = append(bodies, pw)
			req, _ := http.NewRequestWithContext(testContext(t), "POST", "http://"+r.GRPCAddr()+traceMethod, pr)
			req.Header.Set("Content-Type", "application/grpc")
			go func() {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			go pw.Write([]byte{0, 0, 0x40, 0, 0}) // 4 MiB promised
		}
		waitFor(t, func() bool { return r.InFlight() >= 2*n })
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
			for _, pw := range bodies {
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}
		})
	})
	// Before: 30*20 MB + 30*4 MiB = 720 MB.
	if growth > 64<<20 {
		t.Errorf("%d requests that promised bodies hold %d MB", 2*n, growth>>20)
	}
	t.Logf("%d requests that promised 720 MB hold %d KB", 2*n, growth>>10)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnLimit checks that the receivers keep at most MaxConns
// connections: at the limit, an idle keep-alive connection is closed to
// make room for a new one, so a function's request does not wait for
// connections that do nothing; a body that stops arriving is cut after
// ReadTimeout.
func TestConnLimit(t *testing.T) {
	const limit = 8
	r := start(t, otlpreceiver.Config{MaxConns: limit, ReadTimeout: 300 * time.Millisecond}, buffer.New(0))
	var idle []net.Conn
	for range 2 * limit {
		c, err := net.Dial("tcp", r.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
		fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 0\r\n\r\n", ctProto)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("keep-alive request: %v", err)
		}
		resp.Body.Close()
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// The function's own request gets through at once.
	resp, body := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, false, newTraces("svc", "canary"))})
	if resp.StatusCode != 200 {
		t.Fatalf("request at the connection limit: %d %s", resp.StatusCode, body)
	}
	// The oldest idle connections were closed.
	closed := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed < limit {
		t.Errorf("%d of %d idle connections closed, want at least %d", closed, len(idle), limit)
	}

	// A body that stops arriving is cut after ReadTimeout.
	c, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\nabc", ctProto)
	ctx, cancel := context.WithTimeout(testContext(t), 10*time.Second)
	defer cancel()
	if err := r.WaitIdle(ctx); err != nil {
		t.Errorf("a stalled body is still in flight: %v", err)
	}
}

// TestConnLimitKeepsUsed checks that the connections closed to make room
// are those that served the fewest requests: a function's keep-alive
// connection, which serves a request per invocation, outlives a flood of
// connections that each sent one request and went idle, even though it
// has been idle longer than all of them (the function was frozen).
func TestConnLimitKeepsUsed(t *testing.T) {
	const limit = 4
	r := start(t, otlpreceiver.Config{MaxConns: limit}, buffer.New(0))
	request := func(c net.Conn) error {
		fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 0\r\n\r\n", ctProto)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	used, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer used.Close()
	for range 3 {
		if err := request(used); err != nil {
			t.Fatalf("the function's request: %v", err)
		}
	}
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 3 * limit {
		c, err := net.Dial("tcp", r.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
		if err := request(c); err != nil {
			t.Fatalf("a flood connection's request: %v", err)
		}
	}
	if err := request(used); err != nil {
		t.Errorf("the function's keep-alive connection was closed for the flood: %v", err)
	}
}

// TestConnLimitBurst checks that a connection arriving while every
// connection is busy waits for one to become idle instead of being closed:
// a burst of connections must not shut out the function's own.
func TestConnLimitBurst(t *testing.T) {
	const limit = 4
	r := start(t, otlpreceiver.Config{MaxConns: limit}, buffer.New(0))
	body := encode(t, false, newTraces("svc", "busy"))
	var busy []net.Conn
	for range limit {
		c, err := net.Dial("tcp", r.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Headers and half the body: the connection is busy.
		fmt.Fprintf(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctProto, len(body))
		c.Write(body[:len(body)/2])
		busy = append(busy, c)
	}
	waitFor(t, func() bool { return r.InFlight() == limit })
	// One busy request ends a moment later; its connection becomes idle.
	go func() {
		time.Sleep(300 * time.Millisecond)
		busy[0].Write(body[len(body)/2:])
	}()
	resp, b := do(t, r, rawRequest{path: "/v1/traces", contentType: ctProto, body: encode(t, false, newTraces("svc", "canary"))})
	if resp.StatusCode != 200 {
		t.Fatalf("request while every connection was busy: %d %s", resp.StatusCode, b)
	}
}

// TestInspect checks Inspect's item counts and refusals, in protobuf and
// JSON.
func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal pipeline.Signal
		json   bool
		body   []byte
		items  int
		err    string
	}{
		{"spans", pipeline.Traces, false, encode(t, false, newTraces("svc", "a", "b", "c")), 3, ""},
		{"spans JSON", pipeline.Traces, true, encode(t, true, newTraces("svc", "a", "b", "c")), 3, ""},
		{"data points", pipeline.Metrics, false, encode(t, false, newMetrics(5)), 5, ""},
		{"data points JSON", pipeline.Metrics, true, encode(t, true, newMetrics(5)), 5, ""},
		{"log records", pipeline.Logs, false, encode(t, false, newLogs("a", "b")), 2, ""},
		{"log records JSON", pipeline.Logs, true, encode(t, true, newLogs("a", "b")), 2, ""},
		{"empty spans", pipeline.Traces, false, hostile.EmptySpans(1000), 1000, ""},
		{"empty spans JSON", pipeline.Traces, true, hostile.EmptySpansJSON(1000), 1000, ""},
		{"truncated", pipeline.Traces, false, []byte{0x0a, 0x05, 0x12}, 0, "malformed field 1"},
		{"group", pipeline.Traces, false, []byte{0x0b, 0x0c}, 0, "group"},
		{"unbalanced JSON", pipeline.Traces, true, []byte(`{"resourceSpans":[}`), 0, "unbalanced"},
		{"unterminated JSON string", pipeline.Traces, true, []byte(`{"resourceSpans`), 0, "unterminated"},
		{"too deep", pipeline.Traces, false, hostile.DeepSpan("d", 17), 0, "more than 16 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := otlpreceiver.Inspect(tc.signal, tc.body, tc.json)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one with %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.err == "" && in.Items != tc.items:
				t.Errorf("%d items, want %d", in.Items, tc.items)
			}
		})
	}
}
