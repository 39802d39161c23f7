package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// Content types of OTLP/HTTP.
const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// newHTTPHandler returns the OTLP/HTTP handler of s. ServeMux answers
// unknown paths with 404 and methods other than POST with 405.
func newHTTPHandler(s *Sink) http.Handler {
	mux := http.NewServeMux()
	for path, signal := range map[string]string{
		"/v1/traces":  signalTraces,
		"/v1/metrics": signalMetrics,
		"/v1/logs":    signalLogs,
	} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			s.serveHTTP(w, r, signal)
		})
	}
	return mux
}

// serveHTTP answers one OTLP/HTTP export request for signal.
func (s *Sink) serveHTTP(w http.ResponseWriter, r *http.Request, signal string) {
	ct := r.Header.Get("Content-Type")
	encoding := encodingOf(ct)
	if encoding == "" {
		w.Header().Set("Accept-Post", contentTypeProto+", "+contentTypeJSON)
		http.Error(w, fmt.Sprintf("sink: unsupported Content-Type %q; use %s or %s", ct, contentTypeProto, contentTypeJSON),
			http.StatusUnsupportedMediaType)
		return
	}

	body, httpStatus, err := readBody(w, r, s.cfg.MaxRequestBytes)
	if err != nil {
		if httpStatus == http.StatusUnsupportedMediaType {
			w.Header().Set("Accept-Encoding", "gzip")
		}
		writeStatus(w, encoding, httpStatus, status.New(codeFromHTTPStatus(httpStatus), err.Error()))
		return
	}
	p, err := decodePayload(signal, encoding, body)
	if err != nil {
		if errors.Is(err, otlpreceiver.ErrTooDeep) {
			writeStatus(w, encoding, http.StatusBadRequest, status.New(codes.InvalidArgument, "sink: "+err.Error()))
			return
		}
		msg := fmt.Sprintf("sink: decode %s request (%s, %d bytes): %v", signal, ct, len(body), err)
		writeStatus(w, encoding, http.StatusBadRequest, status.New(codes.InvalidArgument, msg))
		return
	}

	f, err := s.admit(r.Context(), transportHTTP, encoding, p)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client is gone
		}
		writeStatus(w, encoding, http.StatusInternalServerError, status.New(codes.Internal, err.Error()))
		return
	}
	if f.fails() {
		if ra := f.retryAfterHeader(); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		writeStatus(w, encoding, f.httpStatus(), f.status(transportHTTP))
		return
	}

	resp, err := encodeResponse(signal, encoding)
	if err != nil {
		writeStatus(w, encoding, http.StatusInternalServerError, status.New(codes.Internal, "sink: encode response: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", contentTypeOf(encoding))
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}

// encodingOf returns encodingProto or encodingJSON for an OTLP/HTTP
// Content-Type, or "" if the content type is not one of OTLP's.
func encodingOf(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch mt {
	case contentTypeProto:
		return encodingProto
	case contentTypeJSON:
		return encodingJSON
	}
	return ""
}

func contentTypeOf(encoding string) string {
	if encoding == encodingProto {
		return contentTypeProto
	}
	return contentTypeJSON
}

// readBody reads r's body, decompressing it as its Content-Encoding says,
// and refuses bodies of more than limit bytes before or after
// decompression. On error it also returns the HTTP status to answer with.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, error) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			code, err := readError(err, "read gzip request body", limit)
			return nil, code, err
		}
		defer zr.Close()
		body = zr
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)+1))
		if err != nil {
			code, err := readError(err, "read zstd request body", limit)
			return nil, code, err
		}
		defer zr.Close()
		body = zr
	default:
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("sink: unsupported Content-Encoding %q; use gzip, zstd or none", r.Header.Get("Content-Encoding"))
	}

	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		what := "read request body"
		if ce != "" && ce != "identity" {
			what = "read " + ce + " request body"
		}
		code, err := readError(err, what, limit)
		return nil, code, err
	}
	if n > limit {
		return nil, http.StatusRequestEntityTooLarge,
			fmt.Errorf("sink: request body is larger than %d bytes after decompression", limit)
	}
	return buf.Bytes(), 0, nil
}

// readError returns the HTTP status and the error for err, met doing what
// while reading a request body of at most limit bytes.
func readError(err error, what string, limit int64) (int, error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("sink: request body is larger than %d bytes", limit)
	}
	return http.StatusBadRequest, fmt.Errorf("sink: %s: %w", what, err)
}

// writeStatus answers with httpStatus and st, a google.rpc.Status, in
// encoding, as OTLP/HTTP asks of failed requests.
func writeStatus(w http.ResponseWriter, encoding string, httpStatus int, st *status.Status) {
	var body []byte
	var err error
	if encoding == encodingProto {
		body, err = proto.Marshal(st.Proto())
	} else {
		body, err = protojson.Marshal(st.Proto())
	}
	if err != nil {
		http.Error(w, st.Message(), httpStatus)
		return
	}
	w.Header().Set("Content-Type", contentTypeOf(encoding))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	w.Write(body)
}
