package otlpexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lambdaotel/lambdaotel/internal/awake"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// GRPCConfig configures an OTLP/gRPC exporter.
type GRPCConfig struct {
	// Endpoint is "host:port", or "http://host[:port]" for plaintext, or
	// "https://host[:port]" (ports 80 and 443 by default).
	Endpoint string
	// Headers are sent as metadata with every request. Keys are sent in
	// lower case; the values of keys ending in "-bin" are sent in base64.
	// Keys that gRPC reserves (content-type, user-agent, te, grpc-*) are
	// dropped, as grpc-go drops them.
	Headers map[string]string
	// Compression is "gzip", "zstd", or "none" or "" for no compression.
	Compression string
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// TLS configures the connection; TLS.Insecure (or an http:// endpoint)
	// means plaintext.
	TLS TLSConfig
	// MaxRequestBytes is the largest request message; larger batches are
	// split. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// NoSplit means the caller has cut the data into requests already
	// (the engine does, once, before delivery): each Export call is sent
	// as one request, and its size is not computed again.
	NoSplit bool
	// Wrap, if set, wraps the transport, e.g. to authenticate each request
	// (internal/pipeline/auth); it sees each request as sent.
	Wrap func(http.RoundTripper) http.RoundTripper
}

// GRPCExporter exports over OTLP/gRPC: unary gRPC calls over net/http's
// HTTP/2, without TLS (h2c with prior knowledge) for a plaintext endpoint,
// over TLS with ALPN "h2" otherwise. It connects at the first export and
// keeps the connection until Shutdown; a connection that fails is dialled
// again by the next export. Its methods may be called from several
// goroutines at once.
type GRPCExporter struct {
	name      string
	endpoint  string      // host:port
	baseURL   string      // http://host:port or https://host:port
	header    http.Header // the same for every call
	gzip      bool
	zstd      bool
	timeout   time.Duration
	maxBytes  int
	transport *http.Transport
	client    *http.Client
	mu        sync.Mutex
	shutDown  bool
}

var _ pipeline.Exporter = (*GRPCExporter)(nil)

// The gRPC methods of OTLP: the Export method of each signal's service.
const (
	traceExportMethod   = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	metricsExportMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
	logsExportMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
)

// maxResponseMessage limits an Export*ServiceResponse, after
// decompression: grpc-go's default limit of a received message.
const maxResponseMessage = 4 << 20

// NewGRPC returns an OTLP/gRPC exporter named name (its id in the
// configuration, used in errors). It checks cfg and reads the TLS files; it
// does not connect.
func NewGRPC(name string, cfg GRPCConfig) (*GRPCExporter, error) {
	fail := func(format string, args ...any) (*GRPCExporter, error) {
		return nil, fmt.Errorf("exporter %s: "+format, append([]any{name}, args...)...)
	}
	hostport, plaintext, err := parseGRPCEndpoint(cfg.Endpoint)
	if err != nil {
		return fail("%v", err)
	}
	e := &GRPCExporter{
		name:     name,
		endpoint: hostport,
		timeout:  cfg.Timeout,
		maxBytes: cfg.MaxRequestBytes,
		header: http.Header{
			"Content-Type":                {grpcwire.ContentType},
			"Te":                          {"trailers"},
			"User-Agent":                  {userAgent()},
			grpcwire.HeaderAcceptEncoding: {grpcwire.Gzip},
		},
	}
	switch cfg.Compression {
	case "gzip":
		e.gzip = true
		e.header[grpcwire.HeaderEncoding] = []string{grpcwire.Gzip}
	case "zstd":
		e.zstd = true
		e.header[grpcwire.HeaderEncoding] = []string{grpcwire.Zstd}
	case "", "none":
	default:
		return fail("compression %q is not supported: use gzip, zstd or none", cfg.Compression)
	}
	if cfg.Timeout < 0 || cfg.MaxRequestBytes < 0 {
		return fail("timeout and max request bytes must not be negative")
	}
	if e.timeout == 0 {
		e.timeout = DefaultTimeout
	}
	if e.maxBytes == 0 {
		e.maxBytes = DefaultMaxRequestBytes
	}
	if cfg.NoSplit {
		e.maxBytes = 0 // the parts functions return the batch as it is
	}
	for k, v := range cfg.Headers {
		key := strings.ToLower(k)
		if err := checkMetadata(key, v); err != nil {
			return fail("header %q: %v", k, err)
		}
		if reservedMetadata(key) {
			continue
		}
		if strings.HasSuffix(key, "-bin") {
			v = grpcwire.EncodeBinaryHeader([]byte(v))
		}
		e.header[key] = append(e.header[key], v)
	}

	var protocols http.Protocols
	e.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		Protocols:           &protocols,
		DisableCompression:  true, // gRPC compresses messages, not the HTTP body
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	if plaintext || cfg.TLS.Insecure {
		// h2c with prior knowledge, as gRPC speaks to a plaintext endpoint.
		// No proxy: an HTTP proxy cannot carry it.
		protocols.SetUnencryptedHTTP2(true)
		e.baseURL = "http://" + hostport
	} else {
		tlsCfg, err := cfg.TLS.Load()
		if err != nil {
			return fail("%v", err)
		}
		protocols.SetHTTP2(true) // ALPN h2 only: gRPC needs HTTP/2
		e.transport.TLSClientConfig = tlsCfg
		e.transport.Proxy = http.ProxyFromEnvironment // HTTPS_PROXY, through CONNECT
		e.baseURL = "https://" + hostport
	}
	var rt http.RoundTripper = e.transport
	if cfg.Wrap != nil {
		rt = cfg.Wrap(rt)
	}
	e.client = &http.Client{
		Transport: rt,
		// A gRPC server never redirects; following one would lose the body.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e, nil
}

// checkMetadata checks a metadata key (in lower case) and value as gRPC
// asks: the key of 0-9 a-z - _ . only, the value of printable ASCII unless
// the key ends in "-bin" (binary values are sent in base64).
func checkMetadata(key, value string) error {
	if key == "" {
		return errors.New("empty key")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("gRPC metadata keys may hold only 0-9, a-z, '-', '_' and '.', not %q", c)
		}
	}
	if strings.HasSuffix(key, "-bin") {
		return nil
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7E {
			return fmt.Errorf("value has byte %#x; gRPC metadata values are printable ASCII (or name the key *-bin)", c)
		}
	}
	return nil
}

// reservedMetadata reports whether key is a header gRPC itself sets, which
// grpc-go does not send as metadata.
func reservedMetadata(key string) bool {
	switch key {
	case "content-type", "user-agent", "te", "grpc-message-type", "grpc-encoding",
		"grpc-message", "grpc-status", "grpc-timeout", "grpc-accept-encoding", "grpc-status-details-bin":
		return true
	}
	return false
}

// parseGRPCEndpoint returns the host:port of endpoint and whether it asks
// for plaintext (http://).
func parseGRPCEndpoint(endpoint string) (string, bool, error) {
	if endpoint == "" {
		return "", false, errors.New("no endpoint: set host:port")
	}
	plaintext := false
	hostport := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL, which may hold a password
			}
			return "", false, fmt.Errorf("endpoint %q: %v", pipeline.RedactURL(endpoint), err)
		}
		switch u.Scheme {
		case "http":
			plaintext = true
		case "https":
		default:
			return "", false, fmt.Errorf("endpoint %q: scheme %q is not supported: use host:port, http:// or https://", pipeline.RedactURL(endpoint), u.Scheme)
		}
		if u.Path != "" && u.Path != "/" {
			return "", false, fmt.Errorf("endpoint %q: OTLP/gRPC takes no path (%q)", pipeline.RedactURL(endpoint), u.Path)
		}
		hostport = u.Host
		if u.Port() == "" {
			port := "443"
			if plaintext {
				port = "80"
			}
			hostport = net.JoinHostPort(u.Hostname(), port)
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return "", false, fmt.Errorf("endpoint %q is not host:port", pipeline.RedactURL(endpoint))
	}
	return hostport, plaintext, nil
}

// Name returns the exporter's name.
func (e *GRPCExporter) Name() string { return e.name }

// open returns an error once the exporter is shut down.
func (e *GRPCExporter) open(sig pipeline.Signal) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutDown {
		return &pipeline.ExportError{Exporter: e.name, Signal: sig, Err: errors.New("exporter is shut down")}
	}
	return nil
}

// ExportTraces sends td, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	if err := e.open(pipeline.Traces); err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Traces, "gRPC "+e.endpoint, traceParts(td, e.maxBytes), ptrace.Traces.SpanCount, traceHalves,
		func(ctx context.Context, td ptrace.Traces) (result, error) {
			// ExportTraceServiceRequest has TracesData's fields.
			msg, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			if err != nil {
				return result{}, &pipeline.ExportError{Err: fmt.Errorf("gRPC %s: encode request: %w", e.endpoint, err)}
			}
			return e.call(ctx, traceExportMethod, msg)
		})
}

// ExportMetrics sends md, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportMetrics(ctx context.Context, md pmetric.Metrics) error {
	if md.DataPointCount() == 0 {
		return nil
	}
	if err := e.open(pipeline.Metrics); err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Metrics, "gRPC "+e.endpoint, metricParts(md, e.maxBytes), pmetric.Metrics.DataPointCount, metricHalves,
		func(ctx context.Context, md pmetric.Metrics) (result, error) {
			msg, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
			if err != nil {
				return result{}, &pipeline.ExportError{Err: fmt.Errorf("gRPC %s: encode request: %w", e.endpoint, err)}
			}
			return e.call(ctx, metricsExportMethod, msg)
		})
}

// ExportLogs sends ld, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	if err := e.open(pipeline.Logs); err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Logs, "gRPC "+e.endpoint, logParts(ld, e.maxBytes), plog.Logs.LogRecordCount, logHalves,
		func(ctx context.Context, ld plog.Logs) (result, error) {
			msg, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
			if err != nil {
				return result{}, &pipeline.ExportError{Err: fmt.Errorf("gRPC %s: encode request: %w", e.endpoint, err)}
			}
			return e.call(ctx, logsExportMethod, msg)
		})
}

// Shutdown closes the connection, if one was made. Later exports fail.
func (e *GRPCExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	e.shutDown = true
	e.mu.Unlock()
	e.transport.CloseIdleConnections()
	return nil
}

// call makes one unary call of method with the request message msg and
// returns the partial success of the response. Its errors are
// *pipeline.ExportError with Retryable, RetryAfter and Err set.
func (e *GRPCExporter) call(ctx context.Context, method string, msg []byte) (result, error) {
	// Awake time, as the HTTP exporter's: a call the environment's freeze
	// caught, answered meanwhile, is not cut at the thaw and made twice.
	callCtx, cancel := awake.WithTimeout(ctx, e.timeout)
	defer cancel()
	began := time.Now()
	var body []byte
	var err error
	if e.zstd {
		// A length-prefixed message whose compressed flag is set, compressed
		// with the stream's grpc-encoding.
		body, err = grpcwire.AppendMessage(nil, zstdCompress(msg), false)
		body[0] = 1
	} else {
		body, err = grpcwire.AppendMessage(make([]byte, 0, grpcwire.PrefixSize+len(msg)), msg, e.gzip)
	}
	if err != nil {
		return result{}, &pipeline.ExportError{Err: fmt.Errorf("gRPC %s: %w", e.endpoint, err)}
	}
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, e.baseURL+method, bytes.NewReader(body))
	if err != nil {
		return result{}, &pipeline.ExportError{Err: fmt.Errorf("gRPC %s: %w", e.endpoint, err)}
	}
	req.Header = e.header.Clone()
	timeout := e.timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	req.Header[grpcwire.HeaderTimeout] = []string{grpcwire.EncodeTimeout(timeout)}

	resp, err := e.client.Do(req)
	if err != nil {
		return result{}, e.classify(ctx, e.callEnded(callCtx, began), transportStatus(err), err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	st, respMsg, err := readResponse(resp)
	if err != nil {
		return result{}, e.classify(ctx, e.callEnded(callCtx, began), transportStatus(err), err)
	}
	if st.Code != grpcwire.OK {
		return result{}, e.classify(ctx, e.callEnded(callCtx, began), st, nil)
	}
	// A response that does not decode only means there is no partial
	// success to report: the server has accepted the data.
	res, _ := partialSuccess(respMsg)
	return res, nil
}

// readResponse reads a unary call's response: its message, then its
// status from the trailers, or from the headers of a Trailers-Only
// response. A response that is not gRPC gets a status from its HTTP
// status. The error is one of reading the stream.
func readResponse(resp *http.Response) (st *grpcwire.Status, msg []byte, err error) {
	if resp.ProtoMajor != 2 {
		return &grpcwire.Status{Code: grpcwire.Unavailable, Message: fmt.Sprintf(
			"the server does not speak HTTP/2: it answered %s %s", resp.Proto, resp.Status)}, nil, nil
	}
	ct := resp.Header.Get("Content-Type")
	if _, ok := grpcwire.ContentSubtype(ct); !ok {
		code := grpcwire.CodeFromHTTPStatus(resp.StatusCode)
		text := fmt.Sprintf("not a gRPC response: HTTP status %s, content-type %q", resp.Status, ct)
		if b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes)); len(b) > 0 {
			text += ": " + truncate(string(b), maxMessageBytes)
		}
		return &grpcwire.Status{Code: code, Message: text}, nil, nil
	}
	if st, ok := grpcwire.StatusFromHeader(resp.Header); ok { // Trailers-Only
		return st, nil, nil
	}
	// One message is expected; a server that sends none or more has still
	// said, with its status, whether it accepted the data.
	var buf bytes.Buffer
	n := 0
	for {
		err := grpcwire.ReadMessage(resp.Body, &buf, maxResponseMessage, resp.Header.Get(grpcwire.HeaderEncoding))
		if err == io.EOF {
			break
		}
		var bad *grpcwire.Status
		if errors.As(err, &bad) {
			return &grpcwire.Status{Code: bad.Code, Message: "response: " + bad.Message}, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if n++; n == 1 {
			msg = bytes.Clone(buf.Bytes())
		}
	}
	st, ok := grpcwire.StatusFromHeader(resp.Trailer)
	if !ok {
		return &grpcwire.Status{Code: grpcwire.Internal, Message: "the server ended the call without a grpc-status"}, nil, nil
	}
	return st, msg, nil
}

// partialSuccess decodes the partial_success (field 1) of an
// Export*ServiceResponse: the number of items rejected (field 1 of every
// signal's Export*PartialSuccess) and the error message (field 2).
func partialSuccess(msg []byte) (result, error) {
	var res result
	errMalformed := errors.New("malformed export response")
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return result{}, errMalformed
		}
		msg = msg[n:]
		if num != 1 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, msg); n < 0 {
				return result{}, errMalformed
			}
			msg = msg[n:]
			continue
		}
		ps, n := protowire.ConsumeBytes(msg)
		if n < 0 {
			return result{}, errMalformed
		}
		msg = msg[n:]
		for len(ps) > 0 {
			num, typ, n := protowire.ConsumeTag(ps)
			if n < 0 {
				return result{}, errMalformed
			}
			ps = ps[n:]
			switch {
			case num == 1 && typ == protowire.VarintType:
				v, n := protowire.ConsumeVarint(ps)
				if n < 0 {
					return result{}, errMalformed
				}
				res.rejected = int64(v)
				ps = ps[n:]
			case num == 2 && typ == protowire.BytesType:
				s, n := protowire.ConsumeBytes(ps)
				if n < 0 {
					return result{}, errMalformed
				}
				res.message = string(s)
				ps = ps[n:]
			default:
				if n = protowire.ConsumeFieldValue(num, typ, ps); n < 0 {
					return result{}, errMalformed
				}
				ps = ps[n:]
			}
		}
	}
	return res, nil
}

// h2StreamError has the fields of net/http's HTTP/2 stream error, which
// converts itself to any struct with the same fields (errors.As): the
// error of a stream the server reset with RST_STREAM.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string {
	return fmt.Sprintf("HTTP/2 stream %d reset with error code %#x", e.StreamID, e.Code)
}

// transportStatus returns the status of a call that failed below gRPC:
// connection refused or reset, DNS, TLS, an HTTP/2 stream reset. These are
// UNAVAILABLE, as grpc-go has them, except the stream resets that the gRPC
// protocol maps to other codes.
func transportStatus(err error) *grpcwire.Status {
	err = unwrapURLError(err)
	var se h2StreamError
	if errors.As(err, &se) {
		code := grpcwire.Internal
		switch se.Code {
		case 0x7: // REFUSED_STREAM: not processed, may be retried
			code = grpcwire.Unavailable
		case 0x8: // CANCEL
			code = grpcwire.Canceled
		case 0xb: // ENHANCE_YOUR_CALM
			code = grpcwire.ResourceExhausted
		case 0xc: // INADEQUATE_SECURITY
			code = grpcwire.PermissionDenied
		}
		return &grpcwire.Status{Code: code, Message: err.Error()}
	}
	return &grpcwire.Status{Code: grpcwire.Unavailable, Message: err.Error()}
}

// callEnded returns why a call that began at began has ended on the
// client's side: its context's cause, or context.DeadlineExceeded once the
// timeout has passed. The server enforces the timeout too (grpc-timeout)
// and may end the call a moment before the client's timer, which counts
// awake time in steps, does.
func (e *GRPCExporter) callEnded(callCtx context.Context, began time.Time) error {
	if err := ended(callCtx); err != nil {
		return err
	}
	if time.Since(began) >= e.timeout {
		return context.DeadlineExceeded
	}
	return nil
}

// classify turns the status of one call made by call from ctx, which
// ended on the client's side for callEnded (nil if it did not), into a
// *pipeline.ExportError, retryable as the OTLP specification's table of
// gRPC codes says: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
// UNAVAILABLE and DATA_LOSS are; RESOURCE_EXHAUSTED only with a RetryInfo
// (the server says it can recover); the others are not. A RetryInfo's
// delay becomes RetryAfter. cause is the error of a call that failed below
// gRPC, or nil.
func (e *GRPCExporter) classify(ctx context.Context, callEnded error, st *grpcwire.Status, cause error) error {
	if err := callEnded; err != nil && cause != nil {
		st = &grpcwire.Status{Code: grpcwire.DeadlineExceeded, Message: err.Error()}
		if errors.Is(err, context.Canceled) {
			st.Code = grpcwire.Canceled
		}
	}
	xerr := &pipeline.ExportError{}
	if st.RetryInfo {
		xerr.RetryAfter = st.RetryDelay
	}
	switch st.Code {
	case grpcwire.Canceled, grpcwire.DeadlineExceeded, grpcwire.Aborted, grpcwire.OutOfRange, grpcwire.Unavailable, grpcwire.DataLoss:
		xerr.Retryable = true
	case grpcwire.ResourceExhausted:
		xerr.Retryable = st.RetryInfo
	}
	if cause != nil && isCertificateError(cause) {
		// A server certificate that is not trusted is a configuration
		// problem that retrying will not fix.
		xerr.Retryable = false
	}
	msg := fmt.Sprintf("gRPC %s: %s", e.endpoint, st.Code)
	switch {
	case ended(ctx) != nil:
		xerr.Err = fmt.Errorf("%s: %w", msg, ended(ctx))
	case callEnded != nil:
		xerr.Err = fmt.Errorf("%s: no answer within the timeout of %v: %w", msg, e.timeout, callEnded)
	case st.Message == "":
		xerr.Err = errors.New(msg)
	default:
		xerr.Err = fmt.Errorf("%s: %s", msg, truncate(st.Message, maxMessageBytes))
	}
	if st.Code == grpcwire.InvalidArgument {
		xerr.Err = malformed{xerr.Err}
	}
	return xerr
}
