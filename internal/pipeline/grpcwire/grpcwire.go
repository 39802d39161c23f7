// Package grpcwire speaks the parts of gRPC over HTTP/2 that a unary call
// needs, on top of net/http: the length-prefixed message framing with gzip
// message compression, status codes, and the grpc-status, grpc-message,
// grpc-status-details-bin and grpc-timeout fields, as
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md describes
// them.
//
// It exists so that the extension can receive and send OTLP/gRPC without
// linking grpc-go and the protobuf runtime, which add about 7 MB to its
// stripped binary (9 MB without them, 16 MB with them): binary size is cold
// start. The google.rpc.Status and google.rpc.RetryInfo messages are
// encoded by hand with protowire. HTTP/2 itself (h2c with prior knowledge,
// or TLS with ALPN "h2") is net/http's.
package grpcwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Content types of gRPC. A request or response whose content type does not
// begin with ContentType is not gRPC.
const (
	ContentType      = "application/grpc"
	ContentTypeProto = "application/grpc+proto"
)

// Names of the gRPC header and trailer fields, in net/http's canonical form.
const (
	HeaderStatus         = "Grpc-Status"
	HeaderMessage        = "Grpc-Message"
	HeaderStatusDetails  = "Grpc-Status-Details-Bin"
	HeaderTimeout        = "Grpc-Timeout"
	HeaderEncoding       = "Grpc-Encoding"
	HeaderAcceptEncoding = "Grpc-Accept-Encoding"
)

// Gzip is the name of gzip compression in grpc-encoding.
const Gzip = "gzip"

// Zstd is the name of zstd compression in grpc-encoding.
const Zstd = "zstd"

// ContentSubtype returns the subtype of a gRPC content type: "" for
// "application/grpc", "proto" for "application/grpc+proto". ok is false if
// ct is not a gRPC content type at all.
func ContentSubtype(ct string) (subtype string, ok bool) {
	rest, found := strings.CutPrefix(strings.ToLower(ct), ContentType)
	if !found {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	switch rest[0] {
	case '+':
		subtype, _, _ = strings.Cut(rest[1:], ";")
		return strings.TrimSpace(subtype), true
	case ';':
		return "", true
	}
	return "", false
}

// PrefixSize is the size of the prefix of a message: the compressed flag
// (one byte, 0 or 1) and the length of the message (four bytes, big-endian).
const PrefixSize = 5

// AppendMessage appends msg to dst as a length-prefixed message, compressed
// with gzip if compress is true, and returns the extended buffer.
func AppendMessage(dst, msg []byte, compress bool) ([]byte, error) {
	start := len(dst)
	if !compress {
		dst = append(dst, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(dst[start+1:], uint32(len(msg)))
		return append(dst, msg...), nil
	}
	buf := bytes.NewBuffer(dst)
	buf.Write([]byte{1, 0, 0, 0, 0})
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(msg); err != nil {
		return dst[:start], fmt.Errorf("grpcwire: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return dst[:start], fmt.Errorf("grpcwire: gzip: %w", err)
	}
	out := buf.Bytes()
	binary.BigEndian.PutUint32(out[start+1:], uint32(len(out)-start-PrefixSize))
	return out, nil
}

// ReadMessage reads one length-prefixed message from r into buf, which it
// resets first, decompressing it if its compressed flag is set; compression
// is the grpc-encoding of the stream. max limits the message in bytes, both
// as sent and after decompression.
//
// ReadMessage returns io.EOF if r ends before the first byte of a message.
// Its other errors are a *Status when the message is at fault:
// RESOURCE_EXHAUSTED if it is larger than max; INTERNAL if r ends inside it,
// if the compressed flag is not 0 or 1, is set on a stream without
// compression, or the gzip or zstd data are corrupt; UNIMPLEMENTED if
// compression is none of gzip, zstd and identity. An error of r itself is returned as it is.
func ReadMessage(r io.Reader, buf *bytes.Buffer, max int, compression string) error {
	buf.Reset()
	var prefix [PrefixSize]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return &Status{Code: Internal, Message: "the stream ends inside a message prefix"}
		}
		return err
	}
	n := binary.BigEndian.Uint32(prefix[1:])
	if uint64(n) > uint64(max) {
		return &Status{Code: ResourceExhausted, Message: fmt.Sprintf(
			"message of %d bytes is larger than the limit of %d bytes", n, max)}
	}
	switch prefix[0] {
	case 0:
		// The buffer grows with the bytes that arrive, never from the
		// length the prefix promises.
		if _, err := io.CopyN(buf, r, int64(n)); err != nil {
			if err == io.EOF {
				return &Status{Code: Internal, Message: fmt.Sprintf(
					"the stream ends after %d of the message's %d bytes", buf.Len(), n)}
			}
			return err
		}
		return nil
	case 1:
	default:
		return &Status{Code: Internal, Message: fmt.Sprintf("compressed flag %d is neither 0 nor 1", prefix[0])}
	}

	switch strings.ToLower(compression) {
	case Gzip:
	case Zstd:
		return readZstd(r, buf, n, max)
	case "", "identity":
		return &Status{Code: Internal, Message: "a message is marked compressed but the stream has no grpc-encoding"}
	default:
		return &Status{Code: Unimplemented, Message: fmt.Sprintf(
			"message compression %q is not supported; supported: gzip, zstd, identity", compression)}
	}
	body := &readErr{r: io.LimitReader(r, int64(n))}
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(body)
	} else {
		err = zr.Reset(body)
	}
	if err == nil {
		defer gzipReaders.Put(zr)
		var m int64
		m, err = buf.ReadFrom(io.LimitReader(zr, int64(max)+1))
		if err == nil && m > int64(max) {
			return &Status{Code: ResourceExhausted, Message: fmt.Sprintf(
				"message is larger than the limit of %d bytes after gzip decompression", max)}
		}
	}
	if body.err != nil { // the stream failed, not the data
		return body.err
	}
	if err != nil {
		return &Status{Code: Internal, Message: "cannot decompress the gzip message: " + err.Error()}
	}
	// Bytes after the end of the gzip data belong to the message: skip them.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	if body.n != int64(n) {
		return &Status{Code: Internal, Message: fmt.Sprintf(
			"the stream ends after %d of the message's %d bytes", body.n, n)}
	}
	return nil
}

// readErr remembers how much was read and the error of r other than EOF,
// to tell a failing stream from corrupt data.
type readErr struct {
	r   io.Reader
	n   int64
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// gzipWriters and gzipReaders hold compressors for reuse: each holds
// hundreds of KB of state that is costly to allocate per message.
var (
	gzipWriters = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // the level is valid
		return zw
	}}
	gzipReaders sync.Pool
)

// CodeFromHTTPStatus returns the code of a response that is not gRPC (its
// content type is not application/grpc), from its HTTP status, as gRPC's
// http-grpc-status-mapping.md says: 400 INTERNAL, 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504 UNAVAILABLE,
// anything else UNKNOWN.
func CodeFromHTTPStatus(status int) Code {
	switch status {
	case http.StatusBadRequest:
		return Internal
	case http.StatusUnauthorized:
		return Unauthenticated
	case http.StatusForbidden:
		return PermissionDenied
	case http.StatusNotFound:
		return Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return Unavailable
	}
	return Unknown
}
