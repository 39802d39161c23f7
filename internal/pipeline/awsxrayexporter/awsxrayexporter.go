// Package awsxrayexporter is the awsxray exporter of ADOT and the
// collector, mapped onto AWS X-Ray's OTLP endpoint
// (https://xray.REGION.amazonaws.com/v1/traces): spans go as OTLP/HTTP
// protobuf, gzip-compressed, each request signed with SigV4 (service
// xray) with the function's credentials or those of a role from STS
// AssumeRole. Upstream converts spans to segment documents for
// PutTraceSegments; the OTLP endpoint takes the spans as they are.
//
// Before a request is sent, the spans the endpoint would refuse — and with
// them the whole request — are fixed or taken out and counted (see
// Sanitize): the endpoint's documented limits are 200 KB per span, start
// times from 14 days in the past to 2 hours in the future, at most 24
// hours between the spans of one request, besides the request limits (5
// MB, 10,000 spans) that the engine's splitting keeps.
package awsxrayexporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
)

// Config configures an Exporter.
type Config struct {
	// TracesURL is where spans are posted, e.g.
	// https://xray.us-east-1.amazonaws.com/v1/traces.
	TracesURL string
	// Region signs the requests; "" means the region of TracesURL's host,
	// else AWS_REGION.
	Region string
	// RoleARN, when set, signs with that role's credentials from STS
	// (in STSRegion, default Region), presenting ExternalID if set.
	RoleARN, ExternalID, STSRegion string
	// Timeout bounds each request.
	Timeout time.Duration
	// InsecureSkipVerify and CAFile configure the server's verification.
	InsecureSkipVerify bool
	CAFile             string
	// ProxyAddress, when set, is the proxy every request goes through;
	// otherwise HTTPS_PROXY is used, if set.
	ProxyAddress string
	// Marks are the log groups and annotations to add (see Marks).
	Marks Marks
	// Getenv reads the credentials and region (os.Getenv if nil).
	Getenv func(string) string
	// Logger receives a warning when spans are fixed (nil: none).
	Logger *slog.Logger
	// Now is the clock the time limits are checked against (time.Now if nil).
	Now func() time.Time
}

// Exporter sends traces to X-Ray's OTLP endpoint. Its methods may be
// called from several goroutines at once.
type Exporter struct {
	name   string
	next   pipeline.Exporter
	limits Limits
	marks  Marks
	log    *slog.Logger
	now    func() time.Time
}

var _ pipeline.Exporter = (*Exporter)(nil)

// New returns the exporter named name. It reads the environment's
// credentials (nothing is fetched before the first request) and the CA
// file.
func New(name string, cfg Config) (*Exporter, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if cfg.TracesURL == "" {
		return nil, fmt.Errorf("exporter %s: no region for X-Ray's endpoint: set region or endpoint, or %s (Lambda sets it)", name, sigv4auth.EnvRegion)
	}
	u, err := url.Parse(cfg.TracesURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("exporter %s: invalid traces URL %q", name, pipeline.RedactURL(cfg.TracesURL))
	}
	region := cfg.Region
	if region == "" {
		_, region = sigv4auth.Infer(u.Host)
	}
	if region == "" {
		region = firstNonEmpty(getenv(sigv4auth.EnvRegion), getenv(sigv4auth.EnvDefaultRegion))
	}
	if region == "" {
		return nil, fmt.Errorf("exporter %s: no region to sign requests to %s for: set region, or %s (Lambda sets it)", name, pipeline.RedactURL(cfg.TracesURL), sigv4auth.EnvRegion)
	}
	signer, err := sigv4auth.New(sigv4auth.Config{
		Region: region, Service: "xray",
		AssumeRole: sigv4auth.AssumeRole{RoleARN: cfg.RoleARN, ExternalID: cfg.ExternalID, STSRegion: cfg.STSRegion},
	}, getenv)
	if err != nil {
		return nil, fmt.Errorf("exporter %s: %w", name, err)
	}
	var proxy *url.URL
	if cfg.ProxyAddress != "" {
		if proxy, err = url.Parse(cfg.ProxyAddress); err != nil || proxy.Host == "" {
			return nil, fmt.Errorf("exporter %s: invalid proxy_address %q", name, pipeline.RedactURL(cfg.ProxyAddress))
		}
	}
	wrap := func(rt http.RoundTripper) http.RoundTripper {
		if t, ok := rt.(*http.Transport); ok && proxy != nil {
			t = t.Clone()
			t.Proxy = http.ProxyURL(proxy)
			rt = t
		}
		return signer.RoundTripper(rt)
	}
	next, err := otlpexporter.NewHTTP(name, otlpexporter.HTTPConfig{
		TracesURL: cfg.TracesURL, Compression: "gzip", Encoding: "proto", Timeout: cfg.Timeout,
		TLS:  otlpexporter.TLSConfig{InsecureSkipVerify: cfg.InsecureSkipVerify, CAFile: cfg.CAFile},
		Wrap: wrap, NoSplit: true,
	})
	if err != nil {
		return nil, err
	}
	e := &Exporter{name: name, next: next, limits: DefaultLimits, marks: cfg.Marks, log: cfg.Logger, now: cfg.Now}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Name returns the exporter's name.
func (e *Exporter) Name() string { return e.name }

// ExportTraces fixes what it can of the spans X-Ray would refuse, takes
// the others out, and sends the rest, one request per 24 hours of span
// start times. Spans taken out are reported as a permanent *ExportError
// with Rejected set, after the rest was sent: the engine counts them as
// rejected, not the whole request as failed.
func (e *Exporter) ExportTraces(ctx context.Context, td ptrace.Traces) error {
	out, rep := Sanitize(td, e.marks, e.limits, e.now())
	if rep.Fixed() > 0 && e.log != nil {
		e.log.Warn("spans fixed to fit X-Ray's limits", "exporter", e.name, "truncatedValues", rep.TruncatedValues, "droppedEvents", rep.DroppedEvents, "droppedLinks", rep.DroppedLinks)
	}
	var rejected int64
	for _, part := range out {
		if err := e.next.ExportTraces(ctx, part); err != nil {
			var ee *pipeline.ExportError
			if errors.As(err, &ee) && !ee.Retryable && ee.Rejected > 0 {
				rejected += ee.Rejected
				continue
			}
			return err
		}
	}
	if n := rep.Dropped(); n > 0 || rejected > 0 {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Traces, Rejected: n + rejected,
			Err: fmt.Errorf("%d spans that X-Ray's OTLP endpoint would refuse were taken out before export (%s); %d refused by the endpoint", n, rep, rejected)}
	}
	return nil
}

// ExportMetrics refuses: the exporter takes traces only (the configuration
// does not let a metrics pipeline use it).
func (e *Exporter) ExportMetrics(context.Context, pmetric.Metrics) error {
	return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Metrics, Err: errors.New("awsxray exports traces only")}
}

// ExportLogs refuses: the exporter takes traces only.
func (e *Exporter) ExportLogs(context.Context, plog.Logs) error {
	return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Logs, Err: errors.New("awsxray exports traces only")}
}

// Shutdown releases the connections.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
