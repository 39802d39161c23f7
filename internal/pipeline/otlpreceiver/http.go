package otlpreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// Content types of OTLP/HTTP.
const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// encoding is the encoding of an OTLP/HTTP request and of its answer.
type encoding uint8

const (
	encodingUnknown encoding = iota
	encodingProto
	encodingJSON
)

func (e encoding) contentType() string {
	switch e {
	case encodingProto:
		return contentTypeProto
	case encodingJSON:
		return contentTypeJSON
	}
	return "text/plain; charset=utf-8"
}

// encodingOf returns the encoding of an OTLP/HTTP Content-Type; parameters
// such as charset do not matter.
func encodingOf(contentType string) encoding {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return encodingUnknown
	}
	switch mt {
	case contentTypeProto:
		return encodingProto
	case contentTypeJSON:
		return encodingJSON
	}
	return encodingUnknown
}

// signalOf returns the signal of an OTLP/HTTP path.
func signalOf(path string) (pipeline.Signal, bool) {
	switch path {
	case "/v1/traces":
		return pipeline.Traces, true
	case "/v1/metrics":
		return pipeline.Metrics, true
	case "/v1/logs":
		return pipeline.Logs, true
	}
	return "", false
}

// InvocationEndPath prefixes the path of the end-of-invocation signal,
// POST /lambdaotel/v1/invocations/{requestId}/end: a function's
// instrumentation sends it once its flush of an invocation's telemetry has
// returned, so that the extension need not wait for the Telemetry API to
// learn that the function's data is complete.
const InvocationEndPath = "/lambdaotel/v1/invocations/"

// invocationEndOf returns the request id of an end-of-invocation path.
func invocationEndOf(path string) (string, bool) {
	id, ok := strings.CutPrefix(path, InvocationEndPath)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, "/end")
	return id, ok && id != "" && len(id) <= 128 && !strings.Contains(id, "/")
}

// serveInvocationEnd answers an end-of-invocation signal: 204 No Content.
func (r *Receiver) serveInvocationEnd(w http.ResponseWriter, req *http.Request, requestID string) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, encodingUnknown, http.StatusMethodNotAllowed, grpcwire.Unimplemented, fmt.Sprintf(
			"OTLP/HTTP receiver: method %s is not allowed on %s; use POST", req.Method, req.URL.Path))
		return
	}
	r.cfg.InvocationEnd(requestID)
	w.WriteHeader(http.StatusNoContent)
}

// serveHTTP answers one OTLP/HTTP request.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	enc := encodingOf(req.Header.Get("Content-Type"))
	signal, ok := signalOf(req.URL.Path)
	if !ok && r.cfg.InvocationEnd != nil {
		if id, end := invocationEndOf(req.URL.Path); end {
			r.serveInvocationEnd(w, req, id)
			return
		}
	}
	if !ok {
		writeError(w, enc, http.StatusNotFound, grpcwire.NotFound, fmt.Sprintf(
			"OTLP/HTTP receiver: unknown path %q; the paths are /v1/traces, /v1/metrics and /v1/logs", req.URL.Path))
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, enc, http.StatusMethodNotAllowed, grpcwire.Unimplemented, fmt.Sprintf(
			"OTLP/HTTP receiver: method %s is not allowed on %s; use POST", req.Method, req.URL.Path))
		return
	}
	if enc == encodingUnknown {
		w.Header().Set("Accept-Post", contentTypeProto+", "+contentTypeJSON)
		writeError(w, enc, http.StatusUnsupportedMediaType, grpcwire.InvalidArgument, fmt.Sprintf(
			"OTLP/HTTP receiver: unsupported Content-Type %q; supported: %s, %s",
			req.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON))
		return
	}

	body, httpStatus, err := r.readBody(w, req)
	if err != nil {
		if httpStatus == http.StatusUnsupportedMediaType {
			w.Header().Set("Accept-Encoding", "gzip, identity")
		}
		writeError(w, enc, httpStatus, codeOf(httpStatus), "OTLP/HTTP receiver: "+err.Error())
		return
	}
	ctx := req.Context()
	err = r.receive(ctx, protocolHTTP, signal, enc == encodingJSON, body.Bytes())
	size := body.Cap()
	putBuffer(body) // decoding copies what it keeps
	defer release(size)
	if err != nil {
		var rf *refusal
		switch {
		case errors.As(err, &rf):
			if rf.retry {
				w.Header().Set("Retry-After", "1")
			}
			writeError(w, enc, rf.httpStatus, rf.code, rf.msg)
		case ctx.Err() != nil:
			// The client is gone: nobody reads an answer.
		default:
			writeError(w, enc, http.StatusInternalServerError, grpcwire.Internal, err.Error())
		}
		return
	}

	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	w.Write(emptyResponseOf(enc))
}

// codeOf returns the gRPC code of a status readBody answers with.
func codeOf(httpStatus int) grpcwire.Code {
	if httpStatus == http.StatusRequestEntityTooLarge {
		return grpcwire.ResourceExhausted
	}
	return grpcwire.InvalidArgument
}

// bufferPool holds buffers for request bodies; maxPooled keeps a few large
// requests from pinning memory.
var bufferPool sync.Pool

const maxPooled = 1 << 20

func getBuffer() *bytes.Buffer {
	if b, ok := bufferPool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}

var gzipPool sync.Pool

// readBody reads req's body into a pooled buffer, decompressing it as its
// Content-Encoding says. It refuses bodies larger than the limit, as sent
// or decompressed. On error it also returns the HTTP status to answer with.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) (*bytes.Buffer, int, error) {
	limit := r.cfg.MaxRequestBodySize
	if req.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf(
			"request body of %d bytes is larger than the limit of %d bytes (max_request_body_size)", req.ContentLength, limit)
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, limit)
	ce := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
	switch ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			code, err := readError(err, "gzip", limit)
			return nil, code, err
		}
		defer gzipPool.Put(zr)
		body = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf(
			"unsupported Content-Encoding %q; supported: gzip, identity", req.Header.Get("Content-Encoding"))
	}

	// The buffer grows with the bytes that arrive, never from what
	// Content-Length promises.
	buf := getBuffer()
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		putBuffer(buf)
		code, err := readError(err, ce, limit)
		return nil, code, err
	}
	if n > limit {
		putBuffer(buf)
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf(
			"request body is larger than the limit of %d bytes (max_request_body_size) after %s decompression", limit, ce)
	}
	return buf, 0, nil
}

// readError returns the HTTP status and the error for err, met while
// reading a body in content encoding ce that may hold limit bytes.
func readError(err error, ce string, limit int64) (int, error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, fmt.Errorf(
			"request body is larger than the limit of %d bytes (max_request_body_size)", limit)
	}
	if ce == "" || ce == "identity" {
		return http.StatusBadRequest, fmt.Errorf("cannot read the request body: %w", err)
	}
	return http.StatusBadRequest, fmt.Errorf("cannot decompress the %s request body: %w", ce, err)
}

// writeError answers with httpStatus and, as OTLP/HTTP asks, a
// google.rpc.Status in the request's encoding; with plain text if the
// request's encoding is not one of OTLP's.
func writeError(w http.ResponseWriter, enc encoding, httpStatus int, code grpcwire.Code, msg string) {
	var body []byte
	switch enc {
	case encodingProto:
		body = grpcwire.MarshalStatus(&grpcwire.Status{Code: code, Message: msg})
	case encodingJSON:
		body = grpcwire.MarshalStatusJSON(&grpcwire.Status{Code: code, Message: msg})
	default:
		body = []byte(msg + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", enc.contentType())
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	w.Write(body)
}

// payload is one request's data.
type payload struct {
	signal  pipeline.Signal
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs
	items   int // spans, data points or log records
}

// decode decodes an OTLP export request of signal in enc. An
// Export*ServiceRequest has the same fields as the signal's *Data message
// (TracesData, MetricsData, LogsData), in protobuf and in JSON, so pdata's
// unmarshalers of those decode it. decode never panics: a panic of a
// decoder on hostile input becomes an error.
func decode(signal pipeline.Signal, enc encoding, body []byte) (p payload, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = payload{}, fmt.Errorf("malformed request: %v", v)
		}
	}()
	p.signal = signal
	json := enc == encodingJSON
	switch signal {
	case pipeline.Traces:
		if json {
			p.traces, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
		} else {
			p.traces, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
		}
		if err == nil {
			p.items = p.traces.SpanCount()
		}
	case pipeline.Metrics:
		if json {
			p.metrics, err = (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(body)
		} else {
			p.metrics, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(body)
		}
		if err == nil {
			p.items = p.metrics.DataPointCount()
		}
	case pipeline.Logs:
		if json {
			p.logs, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(body)
		} else {
			p.logs, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(body)
		}
		if err == nil {
			p.items = p.logs.LogRecordCount()
		}
	}
	if err != nil {
		return payload{}, err
	}
	return p, nil
}

// emptyResponseOf returns the export response of every signal when all was
// accepted, in enc: an Export*ServiceResponse without partial_success,
// which OTLP lets a server leave out when nothing was rejected. In
// protobuf that is zero bytes, in JSON an empty object.
func emptyResponseOf(enc encoding) []byte {
	if enc == encodingJSON {
		return []byte("{}")
	}
	return nil
}
