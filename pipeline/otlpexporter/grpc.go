package otlpexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // registers the "gzip" compressor
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/pipeline"
)

// GRPCConfig configures an OTLP/gRPC exporter.
type GRPCConfig struct {
	// Endpoint is "host:port", or "http://host[:port]" for plaintext, or
	// "https://host[:port]" (ports 80 and 443 by default).
	Endpoint string
	// Headers are sent as metadata with every request.
	Headers map[string]string
	// Compression is "gzip", or "none" or "" for no compression.
	Compression string
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// TLS configures the connection; TLS.Insecure (or an http:// endpoint)
	// means plaintext.
	TLS TLSConfig
	// MaxRequestBytes is the largest request message; larger batches are
	// split. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int
}

// GRPCExporter exports over OTLP/gRPC. It connects at the first export and
// keeps the connection until Shutdown. Its methods may be called from
// several goroutines at once.
type GRPCExporter struct {
	name       string
	endpoint   string // host:port
	dialOpts   []grpc.DialOption
	callOpts   []grpc.CallOption
	md         metadata.MD
	timeout    time.Duration
	maxBytes   int
	mu         sync.Mutex
	conn       *grpc.ClientConn // nil until the first export
	clients    clients          // of conn
	shutDown   bool
	connectErr error
}

// clients are the OTLP clients of one connection.
type clients struct {
	traces  ptraceotlp.GRPCClient
	metrics pmetricotlp.GRPCClient
	logs    plogotlp.GRPCClient
}

var _ pipeline.Exporter = (*GRPCExporter)(nil)

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
		md:       metadata.New(cfg.Headers),
	}
	switch cfg.Compression {
	case "gzip":
		e.callOpts = append(e.callOpts, grpc.UseCompressor("gzip"))
	case "", "none":
	default:
		return fail("compression %q is not supported: use gzip or none", cfg.Compression)
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
	creds := insecure.NewCredentials()
	if !plaintext && !cfg.TLS.Insecure {
		tlsCfg, err := cfg.TLS.Load()
		if err != nil {
			return fail("%v", err)
		}
		creds = credentials.NewTLS(tlsCfg)
	}
	e.dialOpts = []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent(userAgent()),
	}
	return e, nil
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
			return "", false, fmt.Errorf("endpoint: %v", err)
		}
		switch u.Scheme {
		case "http":
			plaintext = true
		case "https":
		default:
			return "", false, fmt.Errorf("endpoint %q: scheme %q is not supported: use host:port, http:// or https://", endpoint, u.Scheme)
		}
		if u.Path != "" && u.Path != "/" {
			return "", false, fmt.Errorf("endpoint %q: OTLP/gRPC takes no path (%q)", endpoint, u.Path)
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
		return "", false, fmt.Errorf("endpoint %q is not host:port", endpoint)
	}
	return hostport, plaintext, nil
}

// Name returns the exporter's name.
func (e *GRPCExporter) Name() string { return e.name }

// connect makes the connection ready for a request: it creates it at the
// first call (gRPC dials at the first request), and again when the last
// attempt to connect failed. A gRPC channel whose connection failed fails
// requests at once, with the old error, until its reconnection backoff (up
// to 2 minutes) has passed; a new channel makes each export after a failure
// try the backend again, as "one attempt per request" promises.
func (e *GRPCExporter) connect() (clients, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutDown {
		return clients{}, errors.New("exporter is shut down")
	}
	if e.connectErr != nil {
		return clients{}, e.connectErr
	}
	if e.conn != nil && e.conn.GetState() == connectivity.TransientFailure {
		e.conn.Close()
		e.conn = nil
	}
	if e.conn != nil {
		return e.clients, nil
	}
	// passthrough: the target is dialled as given; no resolver goroutine.
	conn, err := grpc.NewClient("passthrough:///"+e.endpoint, e.dialOpts...)
	if err != nil {
		e.connectErr = fmt.Errorf("gRPC %s: %w", e.endpoint, err)
		return clients{}, e.connectErr
	}
	e.conn = conn
	e.clients = clients{
		traces:  ptraceotlp.NewGRPCClient(conn),
		metrics: pmetricotlp.NewGRPCClient(conn),
		logs:    plogotlp.NewGRPCClient(conn),
	}
	return e.clients, nil
}

// ExportTraces sends td, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	c, err := e.connect()
	if err != nil {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Traces, Err: err}
	}
	return exportParts(ctx, e.name, pipeline.Traces, "gRPC "+e.endpoint, splitTraces(td, e.maxBytes), ptrace.Traces.SpanCount,
		func(ctx context.Context, td ptrace.Traces) (result, error) {
			callCtx, cancel := e.callContext(ctx)
			defer cancel()
			resp, err := c.traces.Export(callCtx, ptraceotlp.NewExportRequestFromTraces(td), e.callOpts...)
			if err != nil {
				return result{}, e.classify(ctx, callCtx, err)
			}
			return result{resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage()}, nil
		})
}

// ExportMetrics sends md, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportMetrics(ctx context.Context, md pmetric.Metrics) error {
	if md.DataPointCount() == 0 {
		return nil
	}
	c, err := e.connect()
	if err != nil {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Metrics, Err: err}
	}
	return exportParts(ctx, e.name, pipeline.Metrics, "gRPC "+e.endpoint, splitMetrics(md, e.maxBytes), pmetric.Metrics.DataPointCount,
		func(ctx context.Context, md pmetric.Metrics) (result, error) {
			callCtx, cancel := e.callContext(ctx)
			defer cancel()
			resp, err := c.metrics.Export(callCtx, pmetricotlp.NewExportRequestFromMetrics(md), e.callOpts...)
			if err != nil {
				return result{}, e.classify(ctx, callCtx, err)
			}
			return result{resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage()}, nil
		})
}

// ExportLogs sends ld, split into requests of at most MaxRequestBytes.
func (e *GRPCExporter) ExportLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	c, err := e.connect()
	if err != nil {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Logs, Err: err}
	}
	return exportParts(ctx, e.name, pipeline.Logs, "gRPC "+e.endpoint, splitLogs(ld, e.maxBytes), plog.Logs.LogRecordCount,
		func(ctx context.Context, ld plog.Logs) (result, error) {
			callCtx, cancel := e.callContext(ctx)
			defer cancel()
			resp, err := c.logs.Export(callCtx, plogotlp.NewExportRequestFromLogs(ld), e.callOpts...)
			if err != nil {
				return result{}, e.classify(ctx, callCtx, err)
			}
			return result{resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage()}, nil
		})
}

// Shutdown closes the connection, if one was made. Later exports fail.
func (e *GRPCExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutDown = true
	if e.conn == nil {
		return nil
	}
	err := e.conn.Close()
	e.conn = nil
	if err != nil {
		return fmt.Errorf("exporter %s: close gRPC connection to %s: %w", e.name, e.endpoint, err)
	}
	return nil
}

// callContext returns the context of one request: ctx bounded by the
// timeout, with the configured metadata.
func (e *GRPCExporter) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if len(e.md) > 0 {
		md := e.md
		if old, ok := metadata.FromOutgoingContext(ctx); ok {
			md = metadata.Join(old, e.md)
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	return context.WithTimeout(ctx, e.timeout)
}

// classify turns the error of one request made with callCtx, made by
// callContext from ctx, into a *pipeline.ExportError, retryable as the OTLP
// specification's table of gRPC codes says: CANCELLED, DEADLINE_EXCEEDED,
// ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are; RESOURCE_EXHAUSTED
// only with a RetryInfo (the server says it can recover); the others are
// not. A RetryInfo's delay becomes RetryAfter.
func (e *GRPCExporter) classify(ctx, callCtx context.Context, err error) error {
	st := status.Convert(err)
	var delay time.Duration
	hasRetryInfo := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			hasRetryInfo = true
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	xerr := &pipeline.ExportError{RetryAfter: delay}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		xerr.Retryable = true
	case codes.ResourceExhausted:
		xerr.Retryable = hasRetryInfo
	}
	if xerr.Retryable && isGRPCCertificateError(st) {
		xerr.Retryable = false
	}
	msg := fmt.Sprintf("gRPC %s: %s", e.endpoint, st.Code())
	// The server enforces the deadline too and may end the call a moment
	// before the client's timer does: hence ended rather than ctx.Err.
	switch {
	case ended(ctx) != nil:
		xerr.Err = fmt.Errorf("%s: %w", msg, ended(ctx))
	case ended(callCtx) != nil:
		xerr.Err = fmt.Errorf("%s: no answer within the timeout of %v: %w", msg, e.timeout, ended(callCtx))
	default:
		xerr.Err = fmt.Errorf("%s: %s", msg, truncate(st.Message(), maxMessageBytes))
	}
	return xerr
}

// isGRPCCertificateError reports whether st is a failure to verify the
// server's certificate. gRPC keeps only the text of the handshake error;
// "tls: failed to verify certificate" is how crypto/tls words it.
func isGRPCCertificateError(st *status.Status) bool {
	return st.Code() == codes.Unavailable && strings.Contains(st.Message(), "tls: failed to verify certificate")
}
