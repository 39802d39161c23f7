// Package sink is an OTLP backend for tests, benchmarks and demos: it
// receives traces, metrics and logs over OTLP/gRPC and OTLP/HTTP (protobuf or
// JSON, optionally gzip-compressed), keeps every accepted request in memory,
// and can append each one to a JSON-lines file.
//
// A test starts a sink on free ports, points the code under test at it, waits
// for what it expects and asserts on it:
//
//	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
//	if err != nil {
//		t.Fatal(err)
//	}
//	defer s.Close()
//	// ... export to s.HTTPAddr() or s.GRPCAddr() ...
//	if err := s.WaitForSpans(ctx, 2); err != nil {
//		t.Fatal(err)
//	}
//	for _, span := range s.Spans() {
//		t.Log(span.Name, span.Attributes["faas.invocation_id"])
//	}
//
// Config.Respond lets a test make the sink fail or delay requests, to see how
// an exporter copes with a backend that is down, throttling or slow.
//
// The data the sink returns is marked read-only (see ptrace.Traces.MarkReadOnly):
// it may be read from several goroutines at once; copy it with CopyTo to
// change it.
package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed gRPC requests
)

// Default addresses of a sink. They differ from the OTLP defaults (4317 and
// 4318) so that a sink and a Lambda extension can listen on one machine.
const (
	DefaultGRPCAddr = "127.0.0.1:4327"
	DefaultHTTPAddr = "127.0.0.1:4328"
)

// DefaultMaxRequestBytes is the default for Config.MaxRequestBytes: 20 MiB,
// the same as the OpenTelemetry Collector's OTLP receiver.
const DefaultMaxRequestBytes = 20 << 20

// closeTimeout bounds how long Close waits for requests in flight before it
// drops their connections.
const closeTimeout = 5 * time.Second

// Config configures a sink. The zero Config is valid: it listens on the
// default addresses and writes no file.
type Config struct {
	// GRPCAddr is the TCP address ("host:port") that OTLP/gRPC is served on.
	// Empty means DefaultGRPCAddr; port 0 picks a free port (see Sink.GRPCAddr).
	GRPCAddr string

	// HTTPAddr is the TCP address ("host:port") that OTLP/HTTP is served on,
	// at the paths /v1/traces, /v1/metrics and /v1/logs. Empty means
	// DefaultHTTPAddr; port 0 picks a free port (see Sink.HTTPAddr).
	HTTPAddr string

	// Out, if not empty, is the path of a file that every accepted request is
	// appended to as one line of JSON (created if missing):
	//
	//	{"signal":"traces","transport":"grpc","received":"2006-01-02T15:04:05.999999999Z","data":{...}}
	//
	// signal is "traces", "metrics" or "logs"; transport is "grpc" or "http";
	// data is the request in OTLP/JSON. Each line is written with a single
	// write as the request is accepted, so a reader sees it at once.
	// ReadFile reads such a file back.
	Out string

	// MaxRequestBytes is the largest request the sink accepts, in bytes: an
	// OTLP/HTTP body after decompression, or an OTLP/gRPC message. Larger
	// requests are rejected with HTTP 413 or gRPC RESOURCE_EXHAUSTED.
	// Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64

	// Respond, if set, is called for every well-formed request before it is
	// stored, and decides how the sink answers it: the zero Fault accepts the
	// request; see Fault for failing or delaying it. It is called from the
	// servers' goroutines, possibly for several requests at once.
	Respond func(Request) Fault

	// Latency holds every well-formed request back for this long before
	// the sink answers it (and, unless it fails, stores it), on both
	// transports: a backend that is not on loopback, for benchmarks. It
	// adds to a Fault's Delay.
	Latency time.Duration

	// Jitter varies Latency per request: each request waits Latency plus a
	// uniformly random duration in [-Jitter, +Jitter], never less than
	// zero. It must not be negative.
	Jitter time.Duration

	// OnAccept, if set, is called after a request has been stored, for
	// example to log it. It is called from the servers' goroutines, possibly
	// for several requests at once.
	OnAccept func(Request)
}

// Request describes one export request that reached the sink.
type Request struct {
	Signal    string    // "traces", "metrics" or "logs"
	Transport string    // "grpc" or "http"
	Encoding  string    // "protobuf" or "json"
	Received  time.Time // when the request was decoded
	Items     int       // spans, metric data points or log records in the request
}

// Sink is a running OTLP receiver. Create one with Start and stop it with
// Close. Its methods may be called from several goroutines at once.
type Sink struct {
	cfg      Config
	grpcLn   net.Listener
	httpLn   net.Listener
	grpcSrv  *grpc.Server
	httpSrv  *http.Server
	served   sync.WaitGroup
	serveErr [2]error // of the gRPC and the HTTP server

	done      chan struct{} // closed when Close starts
	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	out      *os.File // nil without Config.Out
	traces   []ptrace.Traces
	stored   []time.Time // when each element of traces was stored
	metrics  []pmetric.Metrics
	logs     []plog.Logs
	spans    int
	points   int
	records  int
	changed  chan struct{} // closed and replaced whenever the stored data changes
	isClosed bool
}

// Start starts a sink with cfg: it opens cfg.Out, listens on both addresses
// and serves until Close. The servers are ready when Start returns.
func Start(cfg Config) (*Sink, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.MaxRequestBytes < 0 {
		return nil, fmt.Errorf("sink: MaxRequestBytes is %d; it must be positive, or zero for the default", cfg.MaxRequestBytes)
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Latency < 0 || cfg.Jitter < 0 {
		return nil, fmt.Errorf("sink: Latency is %s and Jitter %s; neither may be negative", cfg.Latency, cfg.Jitter)
	}
	s := &Sink{cfg: cfg, done: make(chan struct{}), changed: make(chan struct{})}

	var err error
	if cfg.Out != "" {
		s.out, err = os.OpenFile(cfg.Out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("sink: open output file: %w", err)
		}
	}
	s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		s.closeFile()
		return nil, fmt.Errorf("sink: listen for OTLP/gRPC on %q: %w", cfg.GRPCAddr, err)
	}
	s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		s.grpcLn.Close()
		s.closeFile()
		return nil, fmt.Errorf("sink: listen for OTLP/HTTP on %q: %w", cfg.HTTPAddr, err)
	}

	s.grpcSrv = newGRPCServer(s)
	s.httpSrv = &http.Server{
		Handler:           newHTTPHandler(s),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.served.Add(2)
	go func() {
		defer s.served.Done()
		// Serve reports ErrServerStopped when Close came first.
		if err := s.grpcSrv.Serve(s.grpcLn); !errors.Is(err, grpc.ErrServerStopped) {
			s.serveErr[0] = err
		}
	}()
	go func() {
		defer s.served.Done()
		if err := s.httpSrv.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr[1] = err
		}
	}()
	return s, nil
}

// GRPCAddr returns the address ("host:port") that OTLP/gRPC is served on,
// with the port that was picked if Config.GRPCAddr had port 0.
func (s *Sink) GRPCAddr() string { return s.grpcLn.Addr().String() }

// HTTPAddr returns the address ("host:port") that OTLP/HTTP is served on,
// with the port that was picked if Config.HTTPAddr had port 0. The endpoint
// URLs are "http://" + HTTPAddr() + "/v1/traces" and so on.
func (s *Sink) HTTPAddr() string { return s.httpLn.Addr().String() }

// Close stops both servers: it stops accepting connections, lets requests in
// flight finish (for up to 5 seconds, after which their connections are
// dropped, as are HTTP connections that never carried a request; requests
// held back by a Fault's Delay are answered at once), and
// closes the output file. Waits in progress return an error. The data
// received stays readable. Close returns every error it met, joined;
// calling it again returns the same.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)

		stopped := make(chan struct{})
		go func() {
			s.grpcSrv.GracefulStop()
			close(stopped)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			// What is left is cut: requests still running, and connections
			// a client opened but never sent a request on (net/http waits
			// 5 s for those before it counts them idle).
			s.httpSrv.Close()
		}
		select {
		case <-stopped:
		default:
			select {
			case <-stopped:
			case <-ctx.Done():
				s.grpcSrv.Stop()
				<-stopped
				errs = append(errs, fmt.Errorf("sink: stop OTLP/gRPC server on %s: requests still in flight after %v", s.GRPCAddr(), closeTimeout))
			}
		}
		s.served.Wait()
		if err := s.serveErr[0]; err != nil {
			errs = append(errs, fmt.Errorf("sink: serve OTLP/gRPC on %s: %w", s.GRPCAddr(), err))
		}
		if err := s.serveErr[1]; err != nil {
			errs = append(errs, fmt.Errorf("sink: serve OTLP/HTTP on %s: %w", s.HTTPAddr(), err))
		}

		s.mu.Lock()
		s.isClosed = true
		close(s.changed) // wake up waiters
		s.mu.Unlock()
		if err := s.closeFile(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Sink) closeFile() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return nil
	}
	err := s.out.Close()
	s.out = nil
	if err != nil {
		return fmt.Errorf("sink: close output file: %w", err)
	}
	return nil
}

// store keeps p in memory and appends it to the output file. After store,
// p must not be changed.
func (s *Sink) store(req Request, p payload) error {
	var line []byte
	if s.cfg.Out != "" {
		var err error
		line, err = encodeRecord(req, p)
		if err != nil {
			return err
		}
	}
	p.markReadOnly()

	s.mu.Lock()
	defer s.mu.Unlock()
	if line != nil && s.out != nil {
		if _, err := s.out.Write(line); err != nil {
			return fmt.Errorf("sink: append %s request to output file: %w", req.Signal, err)
		}
	}
	switch req.Signal {
	case signalTraces:
		s.traces = append(s.traces, p.traces)
		s.stored = append(s.stored, time.Now())
		s.spans += req.Items
	case signalMetrics:
		s.metrics = append(s.metrics, p.metrics)
		s.points += req.Items
	case signalLogs:
		s.logs = append(s.logs, p.logs)
		s.records += req.Items
	}
	s.notifyLocked()
	return nil
}

// notifyLocked wakes up every Wait. s.mu must be held.
func (s *Sink) notifyLocked() {
	if s.isClosed {
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Traces returns the traces received so far, one element per accepted
// request, in the order they were accepted. The values are read-only.
func (s *Sink) Traces() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.traces...)
}

// TracesStored returns when each element of Traces was stored, in the
// same order: after the request's delay (Config.Latency, a Fault's Delay),
// as its answer leaves.
func (s *Sink) TracesStored() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.stored...)
}

// Metrics returns the metrics received so far, one element per accepted
// request, in the order they were accepted. The values are read-only.
func (s *Sink) Metrics() []pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pmetric.Metrics(nil), s.metrics...)
}

// Logs returns the logs received so far, one element per accepted request,
// in the order they were accepted. The values are read-only.
func (s *Sink) Logs() []plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.Logs(nil), s.logs...)
}

// SpanCount returns the number of spans received so far.
func (s *Sink) SpanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans
}

// DataPointCount returns the number of metric data points received so far.
func (s *Sink) DataPointCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.points
}

// LogRecordCount returns the number of log records received so far.
func (s *Sink) LogRecordCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// Reset forgets everything received so far. It does not change the output
// file.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traces, s.stored, s.metrics, s.logs = nil, nil, nil, nil
	s.spans, s.points, s.records = 0, 0, 0
	s.notifyLocked()
}

// Wait calls cond now and again each time the sink stores a request or is
// Reset, until cond returns true, ctx ends or the sink is closed. It returns
// nil once cond has returned true, and otherwise an error that wraps
// ctx.Err() or says that the sink is closed. cond may call the sink's
// methods, for example:
//
//	err := s.Wait(ctx, func() bool { return s.LogRecordCount() >= 3 })
func (s *Sink) Wait(ctx context.Context, cond func() bool) error {
	if err := s.wait(ctx, cond); err != nil {
		return fmt.Errorf("sink: condition not met: %w", err)
	}
	return nil
}

// WaitForSpans waits until at least n spans have been received in total, ctx
// ends or the sink is closed. Its error says how many spans there were.
func (s *Sink) WaitForSpans(ctx context.Context, n int) error {
	if err := s.wait(ctx, func() bool { return s.SpanCount() >= n }); err != nil {
		return fmt.Errorf("sink: waiting for %d spans, received %d: %w", n, s.SpanCount(), err)
	}
	return nil
}

var errClosed = errors.New("sink closed")

func (s *Sink) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed, closed := s.changed, s.isClosed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if closed {
			return errClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// latency is the delay of one request: Config.Latency with its jitter.
func (s *Sink) latency() time.Duration {
	d := s.cfg.Latency
	if j := s.cfg.Jitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// admit handles a decoded request: it asks Config.Respond how to answer,
// waits out the fault's delay and, unless the fault fails the request,
// stores p. It returns the fault to fail the request with (zero if the
// request was stored), or an error if the client went away during the
// delay (ctx.Err()) or p could not be stored.
func (s *Sink) admit(ctx context.Context, transport, encoding string, p payload) (Fault, error) {
	req := Request{
		Signal:    p.signal,
		Transport: transport,
		Encoding:  encoding,
		Received:  time.Now(),
		Items:     p.items(),
	}
	var f Fault
	if s.cfg.Respond != nil {
		f = s.cfg.Respond(req)
	}
	if d := f.Delay + s.latency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return Fault{}, ctx.Err()
		}
	}
	if f.fails() {
		return f, nil
	}
	if err := s.store(req, p); err != nil {
		return Fault{}, err
	}
	if s.cfg.OnAccept != nil {
		s.cfg.OnAccept(req)
	}
	return Fault{}, nil
}
