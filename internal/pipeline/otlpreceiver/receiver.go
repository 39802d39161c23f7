// Package otlpreceiver receives OTLP over gRPC and HTTP. Its receivers
// decode each request, hand the data to a pipeline.Consumer and answer at
// once: the client never waits on a backend. A consumer that is full
// (pipeline.ErrFull) makes the receivers ask the client to retry later
// (gRPC RESOURCE_EXHAUSTED, HTTP 429 with Retry-After); one that could
// never hold the data (pipeline.ErrTooLarge) gets HTTP 413 or
// RESOURCE_EXHAUSTED without a delay.
//
// Hostile input is refused before it costs anything: Inspect checks a
// request's bytes (value nesting, UTF-8, structure) and counts its items
// before it is decoded, a consumer that is an Admitter is asked whether the
// items fit, bodies grow with the bytes that arrive, and the servers have
// timeouts and a connection limit (see MaxConns).
//
// A Receiver also knows how many requests are in flight, so that its owner
// can wait, after a function's invocation ends, until every request the
// function sent has reached the consumer (see WaitIdle).
package otlpreceiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// Default limits, as the OpenTelemetry Collector's OTLP receiver has them.
const (
	// DefaultMaxRecvMsgSizeMiB is the largest gRPC message accepted, after
	// decompression, in MiB.
	DefaultMaxRecvMsgSizeMiB = 4
	// DefaultMaxRequestBodySize is the largest HTTP request body accepted,
	// in bytes, both as sent and after decompression.
	DefaultMaxRequestBodySize = 20 << 20
)

// Config configures a Receiver. The zero value of a size means its default;
// an empty endpoint turns that protocol off.
type Config struct {
	// GRPCEndpoint is the host:port OTLP/gRPC listens on, e.g.
	// "127.0.0.1:4317". Port 0 picks a free port (see GRPCAddr).
	GRPCEndpoint string
	// HTTPEndpoint is the host:port OTLP/HTTP listens on, e.g.
	// "127.0.0.1:4318".
	HTTPEndpoint string
	// MaxRecvMsgSizeMiB limits a gRPC message, after decompression, in MiB.
	MaxRecvMsgSizeMiB int
	// MaxRequestBodySize limits an HTTP request body in bytes, both as sent
	// and after decompression.
	MaxRequestBodySize int64
	// ReadTimeout bounds the arrival of a request, body included
	// (default ReadTimeout); IdleTimeout the wait of a keep-alive connection
	// for its next request (default IdleTimeout).
	ReadTimeout, IdleTimeout time.Duration
	// MaxConns is how many connections each protocol keeps open at most
	// (default MaxConns).
	MaxConns int
	// InvocationEnd, if set, is called with the request id of
	// POST /lambdaotel/v1/invocations/{requestId}/end on the OTLP/HTTP
	// endpoint: the function's instrumentation saying that it flushed and
	// will send nothing more for that invocation (see InvocationEndPath).
	InvocationEnd func(requestID string)
}

// Receiver receives OTLP over gRPC and HTTP and hands the data to a
// pipeline.Consumer. Create it with New, then call Start and, at the end,
// Shutdown.
type Receiver struct {
	cfg    Config
	next   pipeline.Consumer
	logger *slog.Logger

	mu       sync.Mutex // guards started and the servers below
	started  bool
	grpcLn   net.Listener
	grpcSrv  *http.Server
	httpLn   net.Listener
	httpSrv  *http.Server
	serving  sync.WaitGroup // the Serve goroutines
	inflight tracker
	grpcBusy tracker       // gRPC connections with a stream open
	full     atomic.Bool   // the consumer's last answer was ErrFull
	decoding chan struct{} // a token per request being decoded
}

// New returns a Receiver that hands what it receives to next. It does not
// listen yet: see Start. A nil logger discards the log.
func New(cfg Config, next pipeline.Consumer, logger *slog.Logger) *Receiver {
	if cfg.MaxRecvMsgSizeMiB <= 0 {
		cfg.MaxRecvMsgSizeMiB = DefaultMaxRecvMsgSizeMiB
	}
	if cfg.MaxRequestBodySize <= 0 {
		cfg.MaxRequestBodySize = DefaultMaxRequestBodySize
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = ReadTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = IdleTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = MaxConns
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{cfg: cfg, next: next, logger: logger, decoding: make(chan struct{}, runtime.GOMAXPROCS(0))}
	r.inflight.init()
	r.grpcBusy.init()
	return r
}

// Start binds the listeners of the configured endpoints, so that when it
// returns without error the ports are open, and serves them in the
// background. If a listener cannot be bound, none is left open.
func (r *Receiver) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("otlpreceiver: Start called twice")
	}

	var grpcLn, httpLn net.Listener
	var err error
	if r.cfg.GRPCEndpoint != "" {
		if grpcLn, err = listen(r.cfg.GRPCEndpoint, "OTLP/gRPC", "grpc"); err != nil {
			return err
		}
	}
	if r.cfg.HTTPEndpoint != "" {
		if httpLn, err = listen(r.cfg.HTTPEndpoint, "OTLP/HTTP", "http"); err != nil {
			if grpcLn != nil {
				grpcLn.Close()
			}
			return err
		}
	}
	r.started = true

	if grpcLn != nil {
		grpcLn = newTLSHintListener(grpcLn, r.logger, "its data cannot be read; point the function's SDK at http://localhost:4317 "+
			"(OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 with OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or OTEL_EXPORTER_OTLP_INSECURE=true), or use lambdaotel.Start")
		r.grpcLn = grpcLn
		r.grpcSrv = r.newGRPCServer()
		lim := newConnLimit(grpcLn, r.cfg.MaxConns, r.logger, r.grpcSrv.ConnState)
		r.grpcSrv.ConnState = lim.connState
		r.serving.Go(func() {
			if err := r.grpcSrv.Serve(lim); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.logger.Error("OTLP/gRPC receiver stopped", "address", grpcLn.Addr().String(), "error", err)
			}
		})
	}
	if httpLn != nil {
		httpLn = newTLSHintListener(httpLn, r.logger, "its data cannot be read; set OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 "+
			"in the function (the OpenTelemetry Go SDK's default is https://localhost:4318), or use lambdaotel.Start, which does")
		r.httpLn = httpLn
		lim := newConnLimit(httpLn, r.cfg.MaxConns, r.logger, r.inflight.connState)
		r.httpSrv = &http.Server{
			Handler:           http.HandlerFunc(r.serveHTTP),
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       r.cfg.ReadTimeout,
			IdleTimeout:       r.cfg.IdleTimeout,
			MaxHeaderBytes:    MaxHeaderBytes,
			ConnState:         lim.connState,
			ErrorLog:          slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn),
		}
		r.serving.Go(func() {
			if err := r.httpSrv.Serve(lim); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.logger.Error("OTLP/HTTP receiver stopped", "address", httpLn.Addr().String(), "error", err)
			}
		})
	}
	return nil
}

// listen binds endpoint for protocol (as people name it, and as the
// collector's configuration names it).
func listen(endpoint, protocol, configName string) (net.Listener, error) {
	ln, err := net.Listen("tcp", endpoint)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s receiver: cannot listen on %s: the address is already in use "+
			"(is another OpenTelemetry extension or collector running?); free the port or set another "+
			"endpoint in receivers: otlp: protocols: %s: endpoint: %w",
			protocol, endpoint, configName, err)
	}
	return nil, fmt.Errorf("%s receiver: cannot listen on %q (want host:port, e.g. 127.0.0.1:%s): %w",
		protocol, endpoint, map[string]string{"grpc": "4317", "http": "4318"}[configName], err)
}

// GRPCAddr returns the address OTLP/gRPC listens on, or "" if it is off or
// not started.
func (r *Receiver) GRPCAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grpcLn == nil {
		return ""
	}
	return r.grpcLn.Addr().String()
}

// HTTPAddr returns the address OTLP/HTTP listens on, or "" if it is off or
// not started.
func (r *Receiver) HTTPAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.httpLn == nil {
		return ""
	}
	return r.httpLn.Addr().String()
}

// Shutdown stops accepting requests and waits until the requests in flight
// are answered, or until ctx ends; then it closes every connection at once
// and returns ctx's error.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	grpcSrv, httpSrv := r.grpcSrv, r.httpSrv
	r.mu.Unlock()

	// Both servers drain at once, within the same deadline.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []struct {
		srv      *http.Server
		protocol string
	}{{httpSrv, "OTLP/HTTP"}, {grpcSrv, "OTLP/gRPC"}} {
		if s.srv == nil {
			continue
		}
		shutdown := s.srv.Shutdown
		if s.srv == grpcSrv {
			shutdown = func(ctx context.Context) error { return r.shutdownGRPC(ctx, grpcSrv) }
		}
		wg.Go(func() {
			if err := shutdown(ctx); err != nil {
				s.srv.Close()
				errs[i] = fmt.Errorf("%s receiver: shutdown: %w", s.protocol, err)
			}
		})
	}
	wg.Wait()
	r.serving.Wait()
	return errors.Join(errs...)
}

// InFlight returns how many requests are being read, decoded or consumed.
func (r *Receiver) InFlight() int { return r.inflight.count() }

// WaitIdle returns when no request is being read, decoded or consumed, so
// that every request that had begun to arrive has been handed to the
// consumer (or refused). It returns ctx's error, wrapped, if ctx ends first.
func (r *Receiver) WaitIdle(ctx context.Context) error {
	return r.inflight.wait(ctx)
}

// Admitter is a Consumer that can tell, before a request is decoded,
// whether its items could be consumed: nil, an error wrapping
// pipeline.ErrTooLarge if they never could, or one wrapping
// pipeline.ErrFull if not now. size is the request's size in bytes as
// sent (protobuf), 0 if unknown. A Receiver asks it so that it decodes
// nothing it would then refuse.
type Admitter interface {
	Admit(signal pipeline.Signal, size, items int64) error
}

// Names of the protocols in messages.
const (
	protocolHTTP = "OTLP/HTTP"
	protocolGRPC = "OTLP/gRPC"
)

// refusal is a request the receivers answer with an error status.
type refusal struct {
	httpStatus int
	code       grpcwire.Code
	retry      bool // the client may send it again later
	msg        string
}

func (r *refusal) Error() string { return r.msg }

// receive inspects, admits, decodes and consumes one request's body. Its
// errors are a *refusal when the request is at fault or does not fit.
// Decoding is where a request's memory multiplies, so at most GOMAXPROCS
// requests are past admission at once, and admission is asked again once
// a request's turn has come.
func (r *Receiver) receive(ctx context.Context, protocol string, signal pipeline.Signal, json bool, body []byte) error {
	enc := encodingProto
	if json {
		enc = encodingJSON
	}
	malformed := func(err error) error {
		what := fmt.Sprintf("%s, %d bytes", enc.contentType(), len(body))
		if protocol == protocolGRPC {
			what = fmt.Sprintf("%d bytes", len(body))
		}
		return &refusal{http.StatusBadRequest, grpcwire.InvalidArgument, false, fmt.Sprintf(
			"%s receiver: cannot decode %s request (%s): %v", protocol, signal, what, err)}
	}
	in, err := Inspect(signal, body, json)
	if err != nil {
		return malformed(err)
	}
	if in.Items == 0 {
		// Nothing to enqueue, as the collector does; decoding still
		// checks the request.
		if _, err := decode(signal, enc, body); err != nil {
			return malformed(err)
		}
		return nil
	}
	size := int64(len(body))
	if json {
		size = 0 // OTLP/JSON is larger than the protobuf the buffer counts
	}
	admit := func() error {
		a, ok := r.next.(Admitter)
		if !ok {
			return nil
		}
		return r.refusalOf(signal, in.Items, a.Admit(signal, size, int64(in.Items)))
	}
	if err := admit(); err != nil {
		return err
	}
	select {
	case r.decoding <- struct{}{}:
		defer func() { <-r.decoding }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := admit(); err != nil {
		return err
	}
	p, err := decode(signal, enc, body)
	if err != nil {
		return malformed(err)
	}
	return r.refusalOf(signal, p.items, r.consume(ctx, p))
}

// largeRequest is the size of a request body above which, once it is
// answered, the memory it took goes back to the system at once: a
// function that sends one large request should not keep its memory.
const largeRequest = 4 << 20

// releasing is set while a release runs.
var releasing atomic.Bool

// release returns the memory a large request took to the system, once at
// a time.
func release(size int) {
	if size < largeRequest || !releasing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		debug.FreeOSMemory()
		releasing.Store(false)
	}()
}

// refusalOf turns a consumer's ErrFull and ErrTooLarge into refusals:
// 429/RESOURCE_EXHAUSTED with a delay to retry after, and
// 413/RESOURCE_EXHAUSTED without one (retrying cannot succeed).
func (r *Receiver) refusalOf(signal pipeline.Signal, items int, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrTooLarge):
		r.logger.Warn("OTLP receiver: refused a request larger than the whole buffer; it can never be accepted",
			"signal", signal, "items", items, "error", err)
		return &refusal{http.StatusRequestEntityTooLarge, grpcwire.ResourceExhausted, false, err.Error()}
	case errors.Is(err, pipeline.ErrFull):
		if r.full.CompareAndSwap(false, true) {
			r.logger.Warn("OTLP receiver: buffer full; asking clients to retry later until it is flushed",
				"signal", signal, "items", items, "error", err)
		}
		return &refusal{http.StatusTooManyRequests, grpcwire.ResourceExhausted, true, err.Error()}
	}
	return err
}

// consume hands p to the consumer. A panic in the consumer becomes an error.
func (r *Receiver) consume(ctx context.Context, p payload) (err error) {
	if p.items == 0 {
		return nil // nothing to enqueue, as the collector does
	}
	defer func() {
		if v := recover(); v != nil {
			r.logger.Error("OTLP receiver: consumer panicked", "signal", p.signal, "panic", v)
			err = fmt.Errorf("otlpreceiver: consumer of %s panicked: %v", p.signal, v)
		}
	}()
	switch p.signal {
	case pipeline.Traces:
		err = r.next.ConsumeTraces(ctx, p.traces)
	case pipeline.Metrics:
		err = r.next.ConsumeMetrics(ctx, p.metrics)
	case pipeline.Logs:
		err = r.next.ConsumeLogs(ctx, p.logs)
	}
	switch {
	case err == nil:
		if r.full.Load() {
			r.full.Store(false)
			r.logger.Info("OTLP receiver: buffer accepts data again")
		}
	case errors.Is(err, pipeline.ErrFull), errors.Is(err, pipeline.ErrTooLarge):
		// refusalOf logs these, once per stretch of refusals.
	default:
		r.logger.Error("OTLP receiver: consumer failed", "signal", p.signal, "items", p.items, "error", err)
	}
	return err
}

// tracker counts requests in flight and lets callers wait until there are
// none.
type tracker struct {
	mu     sync.Mutex
	n      int
	idle   chan struct{}         // closed while n == 0
	active map[net.Conn]struct{} // HTTP connections reading or handling a request
}

func (t *tracker) init() {
	t.idle = make(chan struct{})
	close(t.idle)
	t.active = make(map[net.Conn]struct{})
}

func (t *tracker) begin() {
	t.mu.Lock()
	t.beginLocked()
	t.mu.Unlock()
}

func (t *tracker) beginLocked() {
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

func (t *tracker) end() {
	t.mu.Lock()
	t.endLocked()
	t.mu.Unlock()
}

func (t *tracker) endLocked() {
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

// connState is the http.Server's ConnState hook: a connection is active
// from the first byte of a request until its answer is written, which
// covers reading the body, decoding and consuming.
func (t *tracker) connState(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, was := t.active[c]
	switch state {
	case http.StateActive:
		if !was {
			t.active[c] = struct{}{}
			t.beginLocked()
		}
	case http.StateIdle, http.StateHijacked, http.StateClosed:
		if was {
			delete(t.active, c)
			t.endLocked()
		}
	}
}

// idleChan returns a channel that is closed while nothing is in flight.
func (t *tracker) idleChan() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idle
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		select {
		case <-idle: // both were ready: idle wins
			return nil
		default:
		}
		return fmt.Errorf("otlpreceiver: %d OTLP requests still in flight: %w", t.count(), ctx.Err())
	}
}
