// Package prometheusremotewriteexporter sends metrics to a Prometheus
// remote write endpoint (Amazon Managed Service for Prometheus, Mimir,
// Cortex, Thanos, a Prometheus server with its receiver on): remote write
// 1.0, a snappy-compressed protobuf WriteRequest per request.
//
// Names and labels follow the OpenTelemetry specification's Prometheus
// compatibility rules as the collector's prometheusremotewrite exporter
// applies them: names normalized with unit and type suffixes, attributes
// as sanitized labels, job and instance from service.name,
// service.namespace and service.instance.id, resource attributes on a
// target_info series, histograms as _bucket/_sum/_count, summaries with
// quantile, exponential histograms as native histograms.
//
// Unlike the collector's exporter, delta sums and delta histograms
// (explicit and exponential) are not dropped: a Lambda function's SDK often reports delta, and so does the
// telemetryapi receiver by default. They are made cumulative for the life
// of the execution environment: a running total per stream, starting at
// its first point's start time. A resource without service.instance.id
// gets faas.instance as its instance label, or else an identifier of the
// execution environment, so that the series of environments running at
// once never mix.
//
// Each Export call makes exactly one attempt per request; retrying is the
// caller's, guided by the *pipeline.ExportError returned.
package prometheusremotewriteexporter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/snappy"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
)

// Config configures an exporter.
type Config struct {
	// Endpoint is the remote write URL.
	Endpoint string
	// Headers are added to every request. Content-Encoding, Content-Type
	// and X-Prometheus-Remote-Write-Version are the protocol's.
	Headers map[string]string
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// TLS configures an https endpoint.
	TLS otlpexporter.TLSConfig
	// Namespace prefixes metric names.
	Namespace string
	// ExternalLabels are added to series that have no label of that name.
	ExternalLabels map[string]string
	// ResourceToTelemetry puts every resource attribute on every series.
	ResourceToTelemetry bool
	// AddMetricSuffixes adds unit and type suffixes to names.
	AddMetricSuffixes bool
	// TargetInfo adds a target_info series per resource.
	TargetInfo bool
	// CreatedMetric adds NAME_created series (the start time, in seconds).
	CreatedMetric bool
	// SendMetadata sends each metric family's type, help and unit.
	SendMetadata bool
	// MaxBatchSizeBytes bounds a request's protobuf before compression;
	// zero means DefaultMaxBatchSizeBytes.
	MaxBatchSizeBytes int
	// Instance is the instance label of resources without
	// service.instance.id or faas.instance; empty means a random
	// identifier made once.
	Instance string
	// Wrap, if set, wraps the transport, e.g. to sign each request
	// (internal/pipeline/auth); it sees each request as sent, body compressed.
	Wrap func(http.RoundTripper) http.RoundTripper
}

// DefaultTimeout bounds a request when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultMaxBatchSizeBytes is the request size when
// Config.MaxBatchSizeBytes is zero (the collector's default).
const DefaultMaxBatchSizeBytes = 3_000_000

// Exporter sends metrics over remote write. Its methods may be called from
// several goroutines at once.
type Exporter struct {
	name     string
	endpoint string
	shown    string
	headers  http.Header
	host     string
	timeout  time.Duration
	maxBytes int
	client   *http.Client
	tr       *translator
	// sending is held by an export from translation to its last request:
	// remote write needs each series' samples in time order, and exports
	// may be called side by side (the extension's early exports).
	sending sync.Mutex
}

var _ pipeline.Exporter = (*Exporter)(nil)

// New returns an exporter named name (its id in the configuration). It
// checks cfg and reads the TLS files; it does not connect.
func New(name string, cfg Config) (*Exporter, error) {
	fail := func(format string, args ...any) (*Exporter, error) {
		return nil, fmt.Errorf("exporter %s: "+format, append([]any{name}, args...)...)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("endpoint %q must be an absolute http:// or https:// URL", pipeline.RedactURL(cfg.Endpoint))
	}
	if cfg.Timeout < 0 || cfg.MaxBatchSizeBytes < 0 {
		return fail("timeout and max_batch_size_bytes must not be negative")
	}
	e := &Exporter{
		name: name, endpoint: cfg.Endpoint, shown: pipeline.RedactURL(cfg.Endpoint),
		headers: http.Header{}, timeout: cfg.Timeout, maxBytes: cfg.MaxBatchSizeBytes,
	}
	if e.timeout == 0 {
		e.timeout = DefaultTimeout
	}
	if e.maxBytes == 0 {
		e.maxBytes = DefaultMaxBatchSizeBytes
	}
	for k, v := range cfg.Headers {
		if strings.EqualFold(k, "Host") {
			e.host = v
			continue
		}
		e.headers.Set(k, v)
	}
	labels := map[string]string{}
	for k, v := range cfg.ExternalLabels {
		labels[labelName(k)] = v
	}
	instance := cfg.Instance
	if instance == "" {
		b := make([]byte, 8)
		rand.Read(b)
		instance = hex.EncodeToString(b)
	}
	e.tr = newTranslator(settings{
		namespace: cfg.Namespace, externalLabels: labels, resourceToTelemetry: cfg.ResourceToTelemetry,
		suffixes: cfg.AddMetricSuffixes, targetInfo: cfg.TargetInfo, created: cfg.CreatedMetric,
		metadata: cfg.SendMetadata, instance: instance,
	})
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return fail("%v", err)
	}
	e.client = &http.Client{
		// A redirect would turn the POST into a GET: answered as a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tlsCfg,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        4,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		},
	}
	if cfg.Wrap != nil {
		e.client.Transport = cfg.Wrap(e.client.Transport)
	}
	return e, nil
}

// Name returns the exporter's name.
func (e *Exporter) Name() string { return e.name }

// ExportMetrics translates md and sends it in requests of at most
// MaxBatchSizeBytes, one after the other. Points that cannot be sent
// (see the package documentation) are counted in a permanent
// *pipeline.ExportError's Rejected once the rest is sent. Exports run one
// at a time, so that a series' samples reach the backend in order.
func (e *Exporter) ExportMetrics(ctx context.Context, md pmetric.Metrics) error {
	if md.DataPointCount() == 0 {
		return nil
	}
	e.sending.Lock()
	defer e.sending.Unlock()
	res := e.tr.translate(md)
	reqs := encodeRequests(res.series, res.metadata, e.maxBytes)
	for i, r := range reqs {
		if err := e.post(ctx, r); err != nil {
			if len(reqs) > 1 {
				err.Err = fmt.Errorf("%w (request %d of %d)", err.Err, i+1, len(reqs))
			}
			return err
		}
	}
	if len(res.dropped) == 0 {
		return nil
	}
	n := 0
	reasons := make([]string, 0, len(res.dropped))
	for r, c := range res.dropped {
		n += c
		reasons = append(reasons, fmt.Sprintf("%d %s", c, r))
	}
	sort.Strings(reasons)
	return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Metrics, Rejected: int64(n),
		Err: fmt.Errorf("%d data points not sent to %s: %s", n, e.shown, strings.Join(reasons, "; "))}
}

// ExportTraces refuses: remote write carries metrics only.
func (e *Exporter) ExportTraces(_ context.Context, td ptrace.Traces) error {
	return e.only(pipeline.Traces, td.SpanCount())
}

// ExportLogs refuses: remote write carries metrics only.
func (e *Exporter) ExportLogs(_ context.Context, ld plog.Logs) error {
	return e.only(pipeline.Logs, ld.LogRecordCount())
}

func (e *Exporter) only(s pipeline.Signal, n int) error {
	if n == 0 {
		return nil
	}
	return &pipeline.ExportError{Exporter: e.name, Signal: s, Err: fmt.Errorf("remote write carries metrics only, not %s", s)}
}

// Shutdown closes idle connections.
func (e *Exporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// Limits on what is read of an answer.
const maxErrorBytes = 64 << 10

// post sends one WriteRequest.
func (e *Exporter) post(ctx context.Context, r request) *pipeline.ExportError {
	fail := func(retryable bool, after time.Duration, format string, args ...any) *pipeline.ExportError {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Metrics, Retryable: retryable, RetryAfter: after,
			Err: fmt.Errorf("POST %s: "+format, append([]any{e.shown}, args...)...)}
	}
	body := snappy.Encode(nil, r.body)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return fail(false, 0, "%v", err)
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	if e.host != "" {
		req.Host = e.host
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "lambdaotel/"+otlpexporter.Version)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if ctx.Err() != nil && parent.Err() == nil {
			err = fmt.Errorf("no answer within the timeout of %v: %w", e.timeout, err)
		}
		return fail(!certificateError(err), 0, "%v", err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	msg := strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD"))
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if msg != "" {
		status += ": " + msg
	}
	// The remote write specification: 5xx and 429 may be retried, other
	// answers may not.
	retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	var after time.Duration
	if retryable {
		after = retryAfter(resp.Header.Get("Retry-After"))
	}
	return fail(retryable, after, "%s (request of %d series samples, %d bytes)", status, r.samples, len(body))
}

// retryAfter parses a Retry-After of seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if secs, err := strconv.Atoi(h); err == nil && secs > 0 {
		return min(time.Duration(secs)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(h); err == nil && time.Until(t) > 0 {
		return min(time.Until(t), time.Hour)
	}
	return 0
}

// certificateError reports a server certificate that is not trusted:
// retrying will not help.
func certificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr)
}
