package otlpexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/awake"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/grpcwire"
)

// HTTPConfig configures an OTLP/HTTP exporter.
type HTTPConfig struct {
	// TracesURL, MetricsURL and LogsURL are the full URLs that each signal
	// is posted to, e.g. "https://otlp.example.com/v1/traces". A signal
	// without a URL cannot be exported; at least one must be set.
	TracesURL, MetricsURL, LogsURL string
	// Headers are added to every request (e.g. an API key). A "Host"
	// header sets the request's host.
	Headers map[string]string
	// Compression is "gzip", "zstd", or "none" or "" for no compression.
	Compression string
	// Encoding is "proto" (application/x-protobuf; "" means proto too) or
	// "json" (application/json).
	Encoding string
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// TLS configures https URLs.
	TLS TLSConfig
	// MaxRequestBytes is the largest request body before compression, as
	// protobuf; larger batches are split. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// NoSplit means the caller has cut the data into requests already
	// (the engine does, once, before delivery): each Export call is sent
	// as one request, and its size is not computed again.
	NoSplit bool
	// Wrap, if set, wraps the transport, e.g. to authenticate each request
	// (internal/pipeline/auth); it sees each request as sent, body compressed.
	Wrap func(http.RoundTripper) http.RoundTripper
}

// HTTPExporter exports over OTLP/HTTP. Its methods may be called from
// several goroutines at once.
type HTTPExporter struct {
	name     string
	urls     map[pipeline.Signal]string
	headers  http.Header
	host     string
	gzip     bool
	zstd     bool
	json     bool
	timeout  time.Duration
	maxBytes int
	client   *http.Client
}

var _ pipeline.Exporter = (*HTTPExporter)(nil)

// NewHTTP returns an OTLP/HTTP exporter named name (its id in the
// configuration, used in errors). It checks cfg and reads the TLS files;
// it does not connect.
func NewHTTP(name string, cfg HTTPConfig) (*HTTPExporter, error) {
	e := &HTTPExporter{
		name:     name,
		urls:     map[pipeline.Signal]string{},
		headers:  http.Header{},
		timeout:  cfg.Timeout,
		maxBytes: cfg.MaxRequestBytes,
	}
	fail := func(format string, args ...any) (*HTTPExporter, error) {
		return nil, fmt.Errorf("exporter %s: "+format, append([]any{name}, args...)...)
	}
	for sig, u := range map[pipeline.Signal]string{pipeline.Traces: cfg.TracesURL, pipeline.Metrics: cfg.MetricsURL, pipeline.Logs: cfg.LogsURL} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL, which may hold a password
			}
			return fail("%s URL %q: %v", sig, pipeline.RedactURL(u), err)
		}
		if (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fail("%s URL %q must be an absolute http:// or https:// URL", sig, pipeline.RedactURL(u))
		}
		e.urls[sig] = u
	}
	if len(e.urls) == 0 {
		return fail("no URL: set at least one of the traces, metrics and logs URLs")
	}
	switch cfg.Compression {
	case "gzip":
		e.gzip = true
	case "zstd":
		e.zstd = true
	case "", "none":
	default:
		return fail("compression %q is not supported: use gzip, zstd or none", cfg.Compression)
	}
	switch cfg.Encoding {
	case "json":
		e.json = true
	case "", "proto":
	default:
		return fail("encoding %q is not supported: use proto or json", cfg.Encoding)
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
		if strings.EqualFold(k, "Host") {
			e.host = v
			continue
		}
		e.headers.Set(k, v)
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return fail("%v", err)
	}
	e.client = &http.Client{CheckRedirect: checkRedirect, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          8,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
	if cfg.Wrap != nil {
		e.client.Transport = cfg.Wrap(e.client.Transport)
	}
	return e, nil
}

// Name returns the exporter's name.
func (e *HTTPExporter) Name() string { return e.name }

// ExportTraces sends td, split into requests of at most MaxRequestBytes.
func (e *HTTPExporter) ExportTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	u, err := e.url(pipeline.Traces)
	if err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Traces, "POST "+pipeline.RedactURL(u), traceParts(td, e.maxBytes), ptrace.Traces.SpanCount, traceHalves,
		func(ctx context.Context, td ptrace.Traces) (result, error) {
			// Export*ServiceRequest has the fields of the signal's *Data
			// message, in protobuf and in JSON.
			return e.post(ctx, u, pipeline.Traces, func() ([]byte, error) {
				if e.json {
					return (&ptrace.JSONMarshaler{}).MarshalTraces(td)
				}
				return (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			})
		})
}

// ExportMetrics sends md, split into requests of at most MaxRequestBytes.
func (e *HTTPExporter) ExportMetrics(ctx context.Context, md pmetric.Metrics) error {
	if md.DataPointCount() == 0 {
		return nil
	}
	u, err := e.url(pipeline.Metrics)
	if err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Metrics, "POST "+pipeline.RedactURL(u), metricParts(md, e.maxBytes), pmetric.Metrics.DataPointCount, metricHalves,
		func(ctx context.Context, md pmetric.Metrics) (result, error) {
			return e.post(ctx, u, pipeline.Metrics, func() ([]byte, error) {
				if e.json {
					return (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
				}
				return (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
			})
		})
}

// ExportLogs sends ld, split into requests of at most MaxRequestBytes.
func (e *HTTPExporter) ExportLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	u, err := e.url(pipeline.Logs)
	if err != nil {
		return err
	}
	return exportParts(ctx, e.name, pipeline.Logs, "POST "+pipeline.RedactURL(u), logParts(ld, e.maxBytes), plog.Logs.LogRecordCount, logHalves,
		func(ctx context.Context, ld plog.Logs) (result, error) {
			return e.post(ctx, u, pipeline.Logs, func() ([]byte, error) {
				if e.json {
					return (&plog.JSONMarshaler{}).MarshalLogs(ld)
				}
				return (&plog.ProtoMarshaler{}).MarshalLogs(ld)
			})
		})
}

// Shutdown closes idle connections. Requests in flight are not waited for.
func (e *HTTPExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

func (e *HTTPExporter) url(sig pipeline.Signal) (string, error) {
	u, ok := e.urls[sig]
	if !ok {
		return "", &pipeline.ExportError{Exporter: e.name, Signal: sig,
			Err: fmt.Errorf("no URL is configured for %s", sig)}
	}
	return u, nil
}

// Limits on what is read of a response body.
const (
	maxResponseBytes = 1 << 20  // a success: an Export*ServiceResponse
	maxErrorBytes    = 64 << 10 // a failure: a google.rpc.Status or text
)

// post makes one OTLP/HTTP request to u of the export request of sig that
// marshal encodes. If the backend accepts it, post returns the partial
// success of its answer (none if the body does not decode). Its errors are
// *pipeline.ExportError with Retryable, RetryAfter and Err set.
func (e *HTTPExporter) post(ctx context.Context, u string, sig pipeline.Signal, marshal func() ([]byte, error)) (result, error) {
	shown := pipeline.RedactURL(u) // messages show no secret
	body, contentType, err := e.encode(marshal)
	if err != nil {
		return result{}, &pipeline.ExportError{Err: fmt.Errorf("POST %s: encode request: %w", shown, err)}
	}
	parent := ctx
	// Awake time: a request the environment's freeze caught, answered
	// meanwhile, is not cut by its timer at the thaw and sent twice.
	ctx, cancel := awake.WithTimeout(ctx, e.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return result{}, &pipeline.ExportError{Err: fmt.Errorf("POST %s: %w", shown, err)}
	}
	for k, v := range e.headers {
		hreq.Header[k] = v
	}
	if e.host != "" {
		hreq.Host = e.host
	}
	hreq.Header.Set("Content-Type", contentType)
	if e.gzip {
		hreq.Header.Set("Content-Encoding", "gzip")
	} else if e.zstd {
		hreq.Header.Set("Content-Encoding", "zstd")
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", userAgent())
	}

	hresp, err := e.client.Do(hreq)
	if err != nil {
		// Connection refused or reset, DNS, TLS, timeouts: the request may
		// succeed later, unless the server's certificate is not trusted.
		err = unwrapURLError(err)
		if ended(ctx) != nil && ended(parent) == nil {
			err = fmt.Errorf("no answer within the timeout of %v: %w", e.timeout, err)
		}
		return result{}, &pipeline.ExportError{Retryable: !isCertificateError(err), Err: fmt.Errorf("POST %s: %w", shown, err)}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(hresp.Body, 64<<10)) // let the connection be reused
		hresp.Body.Close()
	}()

	status := fmt.Sprintf("%d %s", hresp.StatusCode, http.StatusText(hresp.StatusCode))
	if hresp.StatusCode >= 200 && hresp.StatusCode < 300 {
		// The backend accepted the data. A body that cannot be read or
		// decoded only means there is no partial success to report.
		data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
		if err != nil || len(data) == 0 {
			return result{}, nil
		}
		ct := hresp.Header.Get("Content-Type")
		var res result
		if isJSON(ct) || (ct == "" && e.json) {
			res, err = partialSuccessJSON(data, sig)
		} else {
			res, err = partialSuccess(data)
		}
		if err != nil {
			return result{}, nil
		}
		return res, nil
	}

	data, _ := io.ReadAll(io.LimitReader(hresp.Body, maxErrorBytes))
	msg, retryInfo := errorMessage(hresp.Header.Get("Content-Type"), data)
	if loc := hresp.Header.Get("Location"); loc != "" && hresp.StatusCode >= 300 && hresp.StatusCode < 400 {
		status += " to " + pipeline.RedactURL(loc)
	}
	xerr := &pipeline.ExportError{}
	switch hresp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		xerr.Retryable = true
		xerr.RetryAfter = retryAfter(hresp.Header.Get("Retry-After"), time.Now())
		if xerr.RetryAfter == 0 {
			xerr.RetryAfter = retryInfo
		}
	}
	if msg != "" {
		xerr.Err = fmt.Errorf("POST %s: %s: %s", shown, status, msg)
	} else {
		xerr.Err = fmt.Errorf("POST %s: %s", shown, status)
	}
	if hresp.StatusCode == http.StatusBadRequest {
		xerr.Err = malformed{xerr.Err}
	}
	return result{}, xerr
}

// checkRedirect follows 307 and 308 redirects, which repeat the POST with
// its body, up to 3 times. Other redirects would turn the POST into a GET
// and lose the data: they are answered as failures.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > 3 || (req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect) {
		return http.ErrUseLastResponse
	}
	return nil
}

// encode returns the body that marshal encodes, compressed if configured,
// and its content type.
func (e *HTTPExporter) encode(marshal func() ([]byte, error)) ([]byte, string, error) {
	contentType := "application/x-protobuf"
	if e.json {
		contentType = "application/json"
	}
	raw, err := marshal()
	if err == nil && e.zstd {
		return zstdCompress(raw), contentType, nil
	}
	if err != nil || !e.gzip {
		return raw, contentType, err
	}
	var buf bytes.Buffer
	buf.Grow(len(raw)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), contentType, nil
}

// gzipWriters holds gzip writers for reuse: each holds several hundred KB
// of state that is costly to allocate per request.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // the level is valid
	return zw
}}

func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json"
}

// errorMessage returns the message of a failed request's body, a
// google.rpc.Status as OTLP asks (protobuf or JSON) or else text, and the
// delay of a RetryInfo in the status, if any.
func errorMessage(contentType string, body []byte) (string, time.Duration) {
	if len(body) == 0 {
		return "", 0
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	var st *grpcwire.Status
	var err error
	switch mt {
	case "application/x-protobuf":
		st, err = grpcwire.UnmarshalStatus(body)
	case "application/json":
		st, err = grpcwire.UnmarshalStatusJSON(body)
	default:
		err = errors.New("not a status")
	}
	if err != nil || st.Message == "" {
		return truncate(string(body), maxMessageBytes), 0
	}
	var delay time.Duration
	if st.RetryInfo {
		delay = st.RetryDelay
	}
	return truncate(st.Message, maxMessageBytes), delay
}

// partialSuccessJSON decodes the partialSuccess of an Export*ServiceResponse
// of sig in JSON. int64 fields may be strings or numbers, and field names
// lowerCamelCase or as in the .proto, as the protobuf JSON mapping allows.
func partialSuccessJSON(data []byte, sig pipeline.Signal) (result, error) {
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(data, &resp); err != nil {
		return result{}, err
	}
	raw := field(resp, "partialSuccess", "partial_success")
	if raw == nil {
		return result{}, nil
	}
	var ps map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ps); err != nil {
		return result{}, err
	}
	var res result
	rejected := map[pipeline.Signal][2]string{
		pipeline.Traces:  {"rejectedSpans", "rejected_spans"},
		pipeline.Metrics: {"rejectedDataPoints", "rejected_data_points"},
		pipeline.Logs:    {"rejectedLogRecords", "rejected_log_records"},
	}[sig]
	if v := field(ps, rejected[0], rejected[1]); v != nil {
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return result{}, err
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return result{}, err
		}
		res.rejected = i
	}
	if v := field(ps, "errorMessage", "error_message"); v != nil {
		if err := json.Unmarshal(v, &res.message); err != nil {
			return result{}, err
		}
	}
	return res, nil
}

// field returns the value of the first of names in m, or nil.
func field(m map[string]json.RawMessage, names ...string) json.RawMessage {
	for _, n := range names {
		if v, ok := m[n]; ok && string(v) != "null" {
			return v
		}
	}
	return nil
}

// retryAfter parses a Retry-After header: a number of seconds or an HTTP
// date. It returns 0 for an empty, invalid or past value.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// unwrapURLError drops the *url.Error around err: our message names the
// method and URL already.
func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
