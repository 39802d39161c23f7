package otlpreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// The gRPC methods of OTLP: the Export method of each signal's service.
const (
	traceExportMethod   = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	metricsExportMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
	logsExportMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
)

// signalOfMethod returns the signal of an OTLP gRPC method path.
func signalOfMethod(path string) (pipeline.Signal, bool) {
	switch path {
	case traceExportMethod:
		return pipeline.Traces, true
	case metricsExportMethod:
		return pipeline.Metrics, true
	case logsExportMethod:
		return pipeline.Logs, true
	}
	return "", false
}

// newGRPCServer returns the server of OTLP/gRPC: net/http's HTTP/2 without
// TLS (h2c with prior knowledge, which is how gRPC clients speak to an
// insecure endpoint) and a handler for the three Export methods. The
// server also speaks HTTP/1, only to tell a client that sent OTLP/HTTP to
// the gRPC port where to send it.
func (r *Receiver) newGRPCServer() *http.Server {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	protocols.SetHTTP1(true)
	return &http.Server{
		Handler:           http.HandlerFunc(r.serveGRPC),
		Protocols:         &protocols,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       r.cfg.ReadTimeout,
		IdleTimeout:       r.cfg.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnState:         r.grpcBusy.connState,
		ErrorLog:          slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn),
	}
}

// lingerAfterIdle is how long shutdownGRPC leaves connections open once
// every call has been answered: time for the last frames to leave and for
// clients to close their side after the GOAWAY.
const lingerAfterIdle = 100 * time.Millisecond

// shutdownGRPC stops the gRPC server gracefully: it stops accepting
// connections, sends GOAWAY, and waits until every call is answered. net/http
// would then keep each idle HTTP/2 connection open for a second more unless
// its client closes it; gRPC clients do close it at once, other HTTP/2
// clients do not, and a second is half of Lambda's shutdown budget. So once
// no stream is open, the connections get lingerAfterIdle to go, then are
// closed.
func (r *Receiver) shutdownGRPC(ctx context.Context, srv *http.Server) error {
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		return err
	case <-r.grpcBusy.idleChan():
	}
	linger := time.NewTimer(lingerAfterIdle)
	defer linger.Stop()
	select {
	case err := <-done:
		return err
	case <-linger.C:
	}
	if r.grpcBusy.count() > 0 { // a stream opened before the GOAWAY arrived
		return <-done
	}
	srv.Close()
	return <-done
}

// emptyResponse is an Export*ServiceResponse with nothing in it (no
// partial success) as a gRPC message: a prefix and zero bytes.
var emptyResponse = []byte{0, 0, 0, 0, 0}

// serveGRPC answers one unary OTLP/gRPC call. The call counts as in flight
// from the moment its headers have arrived, before its message is read and
// decoded, until it is answered.
func (r *Receiver) serveGRPC(w http.ResponseWriter, req *http.Request) {
	r.inflight.begin()
	defer r.inflight.end()

	// Failures of HTTP itself are HTTP statuses, so that a client that is
	// not speaking gRPC does not take the answer for a success.
	if req.ProtoMajor != 2 {
		httpError(w, http.StatusHTTPVersionNotSupported, fmt.Sprintf(
			"OTLP/gRPC receiver: %s %s over %s: gRPC needs HTTP/2; send OTLP/HTTP to the OTLP/HTTP receiver (port 4318 by default)",
			req.Method, req.URL.Path, req.Proto))
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf(
			"OTLP/gRPC receiver: method %s is not allowed; gRPC calls are POST", req.Method))
		return
	}
	ct := req.Header.Get("Content-Type")
	subtype, ok := grpcwire.ContentSubtype(ct)
	if !ok {
		w.Header().Set("Accept-Post", grpcwire.ContentType)
		httpError(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"OTLP/gRPC receiver: unsupported Content-Type %q; gRPC calls have %s", ct, grpcwire.ContentType))
		return
	}
	respCT := grpcwire.ContentType
	if subtype != "" {
		respCT += "+" + subtype
	}
	fail := func(st *grpcwire.Status) { writeStatus(w, respCT, st) }

	if subtype != "" && subtype != "proto" {
		fail(&grpcwire.Status{Code: grpcwire.Unimplemented, Message: fmt.Sprintf(
			"OTLP/gRPC receiver: content-subtype %q is not supported; use %s or %s", subtype, grpcwire.ContentType, grpcwire.ContentTypeProto)})
		return
	}
	signal, ok := signalOfMethod(req.URL.Path)
	if !ok {
		fail(&grpcwire.Status{Code: grpcwire.Unimplemented, Message: fmt.Sprintf(
			"OTLP/gRPC receiver: unknown method %s; the methods are %s, %s and %s",
			req.URL.Path, traceExportMethod, metricsExportMethod, logsExportMethod)})
		return
	}

	ctx := req.Context()
	if v := req.Header.Get(grpcwire.HeaderTimeout); v != "" {
		timeout, err := grpcwire.ParseTimeout(v)
		if err != nil {
			fail(&grpcwire.Status{Code: grpcwire.Internal, Message: "OTLP/gRPC receiver: malformed " + err.Error()})
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		// A message that stops arriving must not hold the call past its
		// deadline; HTTP/2 supports a read deadline per stream.
		deadline, _ := ctx.Deadline()
		_ = http.NewResponseController(w).SetReadDeadline(deadline)
	}
	compression := req.Header.Get(grpcwire.HeaderEncoding)
	switch compression {
	case "", "identity", grpcwire.Gzip:
	default:
		w.Header().Set(grpcwire.HeaderAcceptEncoding, "gzip,identity")
		fail(&grpcwire.Status{Code: grpcwire.Unimplemented, Message: fmt.Sprintf(
			"OTLP/gRPC receiver: grpc-encoding %q is not supported; supported: gzip, identity", compression)})
		return
	}

	max := r.cfg.MaxRecvMsgSizeMiB << 20
	body := getBuffer()
	defer func() {
		size := body.Cap()
		putBuffer(body) // decoding copies what it keeps
		release(size)
	}()
	if err := readUnaryMessage(req.Body, body, max, compression); err != nil {
		var st *grpcwire.Status
		switch {
		case errors.As(err, &st):
			msg := "OTLP/gRPC receiver: " + st.Message
			if st.Code == grpcwire.ResourceExhausted {
				msg += " (max_recv_msg_size_mib)"
			}
			fail(&grpcwire.Status{Code: st.Code, Message: msg})
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			fail(contextStatus(ctx))
		default:
			// The client reset the stream or the connection failed: nobody
			// reads an answer, but give one anyway.
			fail(&grpcwire.Status{Code: grpcwire.Canceled, Message: "OTLP/gRPC receiver: cannot read the request: " + err.Error()})
		}
		return
	}

	if err := r.receive(ctx, protocolGRPC, signal, false, body.Bytes()); err != nil {
		var rf *refusal
		switch {
		case errors.As(err, &rf):
			// RetryInfo is where OTLP exporters look for the delay; without
			// it they must not retry RESOURCE_EXHAUSTED, which is right for
			// a request that can never fit.
			fail(&grpcwire.Status{Code: rf.code, Message: rf.msg, RetryInfo: rf.retry, RetryDelay: time.Second})
		case ctx.Err() != nil:
			fail(contextStatus(ctx))
		default:
			fail(&grpcwire.Status{Code: grpcwire.Internal, Message: err.Error()})
		}
		return
	}

	h := w.Header()
	h.Set("Content-Type", respCT)
	w.WriteHeader(http.StatusOK)
	w.Write(emptyResponse)
	(&grpcwire.Status{Code: grpcwire.OK}).SetHeader(h, http.TrailerPrefix)
}

// readUnaryMessage reads the one message of a unary call into buf and
// checks that the client sent no other.
func readUnaryMessage(body io.Reader, buf *bytes.Buffer, max int, compression string) error {
	err := grpcwire.ReadMessage(body, buf, max, compression)
	if err == io.EOF {
		return &grpcwire.Status{Code: grpcwire.Internal, Message: "the call ended without a request message"}
	}
	if err != nil {
		return err
	}
	var one [1]byte
	switch n, err := io.ReadFull(body, one[:]); {
	case n > 0:
		return &grpcwire.Status{Code: grpcwire.Internal, Message: "more than one request message for a unary method"}
	case err != io.EOF:
		return err
	}
	return nil
}

// writeStatus answers a call with st alone: a Trailers-Only response, whose
// one HEADERS frame carries the status.
func writeStatus(w http.ResponseWriter, contentType string, st *grpcwire.Status) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	st.SetHeader(h, "")
	w.WriteHeader(http.StatusOK)
}

// httpError answers a request that is not a gRPC call with an HTTP status
// and a text message.
func httpError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// contextStatus returns the status of a call whose context ended.
func contextStatus(ctx context.Context) *grpcwire.Status {
	if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) { // nil: the read deadline came first
		return &grpcwire.Status{Code: grpcwire.DeadlineExceeded, Message: "OTLP/gRPC receiver: the call's deadline (grpc-timeout) passed"}
	}
	return &grpcwire.Status{Code: grpcwire.Canceled, Message: "OTLP/gRPC receiver: the call was canceled"}
}
