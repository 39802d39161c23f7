package otlpexporter

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// GRPCFactory is the otlp exporter type (also read as otlp_grpc): OTLP over
// gRPC. Its Decode returns *GRPCOptions.
var GRPCFactory = exporter.Factory{
	Type:    "otlp",
	Aliases: []exporter.Alias{{Name: "otlp_grpc"}},
	Decode:  decodeGRPC,
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		g := cfg.(*GRPCOptions)
		return exporter.Made(NewGRPC(id, GRPCConfig{
			Endpoint: g.Endpoint, Headers: g.Headers, Compression: g.Compression, Timeout: g.Timeout, TLS: g.TLS, Wrap: s.Wrap, NoSplit: true,
		}))
	},
}

// HTTPFactory is the otlphttp exporter type (also read as otlp_http):
// OTLP over HTTP. Its Decode returns *HTTPOptions.
var HTTPFactory = exporter.Factory{
	Type:    "otlphttp",
	Aliases: []exporter.Alias{{Name: "otlp_http"}},
	Decode:  decodeHTTP,
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		h := cfg.(*HTTPOptions)
		return exporter.Made(NewHTTP(id, HTTPConfig{
			TracesURL: h.URL(pipeline.Traces), MetricsURL: h.URL(pipeline.Metrics), LogsURL: h.URL(pipeline.Logs),
			Headers: h.Headers, Compression: h.Compression, Encoding: h.Encoding, Timeout: h.Timeout, TLS: h.TLS, Wrap: s.Wrap, NoSplit: true,
		}))
	},
}

// GRPCOptions configure the OTLP/gRPC exporter (type otlp), as the
// configuration gives them.
type GRPCOptions struct {
	// Endpoint is host:port or a URL (http://host:port is plaintext,
	// https://host:port is TLS).
	Endpoint    string
	Headers     map[string]string
	Compression string        // "gzip" (the collector's default), "zstd" or "none"
	Timeout     time.Duration // per export; 0 means bounded only by the flush budget
	TLS         TLSConfig
}

// DefaultGRPCTimeout is the otlp exporter's timeout when none is given (the
// collector's default).
const DefaultGRPCTimeout = 5 * time.Second

// Target returns the gRPC dial target (host:port) and whether the
// connection is plaintext. A URL's scheme decides plaintext; without a
// scheme, TLS.Insecure does. A URL without a port gets its scheme's port.
func (e *GRPCOptions) Target() (target string, plaintext bool) {
	if !strings.Contains(e.Endpoint, "://") {
		return e.Endpoint, e.TLS.Insecure
	}
	u, err := url.Parse(e.Endpoint)
	if err != nil {
		return e.Endpoint, e.TLS.Insecure
	}
	plaintext = u.Scheme == "http"
	port := u.Port()
	if port == "" {
		port = "443"
		if plaintext {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), plaintext
}

// HTTPOptions configure the OTLP/HTTP exporter (type otlphttp), as the
// configuration gives them.
type HTTPOptions struct {
	// Endpoint is the base URL; "/v1/traces", "/v1/metrics" or "/v1/logs"
	// is appended per signal.
	Endpoint string
	// TracesEndpoint, MetricsEndpoint and LogsEndpoint, when set, are used
	// as they are for their signal.
	TracesEndpoint  string
	MetricsEndpoint string
	LogsEndpoint    string
	Headers         map[string]string
	Compression     string        // "gzip" (the collector's default), "zstd" or "none"
	Timeout         time.Duration // per request; 0 means bounded only by the flush budget
	TLS             TLSConfig
	Encoding        string // "proto" (default) or "json"
}

// DefaultHTTPTimeout is the otlphttp exporter's timeout when none is
// given (the collector's default).
const DefaultHTTPTimeout = 30 * time.Second

// URL returns the URL to send signal s to: the signal's own endpoint if
// set, else Endpoint with "v1/<signal>" appended (after a "/"), else "".
func (e *HTTPOptions) URL(s pipeline.Signal) string {
	var own string
	switch s {
	case pipeline.Traces:
		own = e.TracesEndpoint
	case pipeline.Metrics:
		own = e.MetricsEndpoint
	case pipeline.Logs:
		own = e.LogsEndpoint
	}
	if own != "" {
		return own
	}
	if e.Endpoint == "" {
		return ""
	}
	if strings.HasSuffix(e.Endpoint, "/") {
		return e.Endpoint + "v1/" + string(s)
	}
	return e.Endpoint + "/v1/" + string(s)
}

// HasEndpoint reports whether any endpoint is set.
func (e *HTTPOptions) HasEndpoint() bool {
	return e.Endpoint != "" || e.TracesEndpoint != "" || e.MetricsEndpoint != "" || e.LogsEndpoint != ""
}

// Describe is the Summary's line of an otlp exporter.
func (o *GRPCOptions) Describe([]pipeline.Signal) string {
	target, plaintext := o.Target()
	security := "TLS"
	if plaintext {
		security = "plaintext"
	}
	return fmt.Sprintf("OTLP/gRPC to %s (%s), %s", pipeline.RedactURL(target), security, DescribeClient(o.Compression, o.Timeout, o.Headers, o.TLS))
}

// Describe is the Summary's line of an otlphttp exporter used by
// pipelines of signals.
func (o *HTTPOptions) Describe(signals []pipeline.Signal) string {
	var urls []string
	for _, s := range signals {
		urls = append(urls, fmt.Sprintf("%s to %s", s, pipeline.RedactURL(o.URL(s))))
	}
	dest := strings.Join(urls, ", ")
	if dest == "" {
		dest = "to " + pipeline.RedactURL(o.Endpoint)
	}
	return fmt.Sprintf("OTLP/HTTP (%s) %s, %s", o.Encoding, dest, DescribeClient(o.Compression, o.Timeout, o.Headers, o.TLS))
}

// decodeGRPC reads an otlp (gRPC) exporter's options.
func decodeGRPC(d exporter.Decoder, key, value *yaml.Node, path string) any {
	f := d.Options(value, path, []string{"endpoint", "headers", "compression", "timeout", "tls", "auth", "~insecure"}, exporter.IgnoredKeys)
	d.Auth(f["auth"], path+".auth")
	o := &GRPCOptions{
		Headers:     d.Headers(f["headers"].Value, path+".headers"),
		Compression: compression(d, f["compression"], path+".compression"),
		Timeout:     DefaultGRPCTimeout,
		TLS:         DecodeTLS(d, f["tls"].Value, path+".tls"),
	}
	oldInsecure(d, f, path, &o.TLS)
	if t, ok := f["timeout"]; ok {
		o.Timeout = d.Duration(t.Value, path+".timeout")
	}
	ep, ok := f["endpoint"]
	o.Endpoint, _ = d.Scalar(ep.Value, path+".endpoint")
	if !ok || o.Endpoint == "" {
		d.Errorf(key, "%s: endpoint is required: the backend's host:port or URL, e.g. https://otlp.example.com:4317", path)
	} else if err := CheckGRPCEndpoint(o.Endpoint); err != "" {
		d.Errorf(processor.Deref(ep.Value), "%s.endpoint: invalid endpoint %q: %s", path, pipeline.RedactURL(o.Endpoint), err)
	}
	return o
}

// decodeHTTP reads an otlphttp exporter's options.
func decodeHTTP(d exporter.Decoder, key, value *yaml.Node, path string) any {
	f := d.Options(value, path, []string{"endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint", "headers", "compression", "timeout", "tls", "encoding", "auth", "~insecure"}, exporter.IgnoredKeys)
	d.Auth(f["auth"], path+".auth")
	o := &HTTPOptions{
		Endpoint:        d.HTTPURL(f["endpoint"], path+".endpoint"),
		TracesEndpoint:  d.HTTPURL(f["traces_endpoint"], path+".traces_endpoint"),
		MetricsEndpoint: d.HTTPURL(f["metrics_endpoint"], path+".metrics_endpoint"),
		LogsEndpoint:    d.HTTPURL(f["logs_endpoint"], path+".logs_endpoint"),
		Headers:         d.Headers(f["headers"].Value, path+".headers"),
		Compression:     compression(d, f["compression"], path+".compression"),
		Timeout:         DefaultHTTPTimeout,
		TLS:             DecodeTLS(d, f["tls"].Value, path+".tls"),
		Encoding:        d.OneOf(f["encoding"].Value, path+".encoding", "proto", "json"),
	}
	oldInsecure(d, f, path, &o.TLS)
	if o.Encoding == "" {
		o.Encoding = "proto"
	}
	if t, ok := f["timeout"]; ok {
		o.Timeout = d.Duration(t.Value, path+".timeout")
	}
	_, a := f["endpoint"]
	_, b := f["traces_endpoint"]
	_, c := f["metrics_endpoint"]
	_, e := f["logs_endpoint"]
	if !a && !b && !c && !e {
		d.Errorf(key, "%s: endpoint is required: the backend's base URL, e.g. https://otlp.example.com:4318 (/v1/traces, /v1/metrics and /v1/logs are appended)", path)
	}
	return o
}

// oldInsecure reads an exporter's top-level insecure, where collectors
// before tls settings had their own section (and ADOT's Lambda samples
// still have it), as tls.insecure, with a warning; both at once is an
// error.
func oldInsecure(d exporter.Decoder, f map[string]processor.Entry, path string, t *TLSConfig) {
	e, ok := f["insecure"]
	if !ok {
		return
	}
	if _, both := f["tls"]; both {
		d.Errorf(e.Key, "%s.insecure: set tls.insecure instead, not both", path)
		return
	}
	t.Insecure = d.Bool(e.Value, path+".insecure")
	d.Warnf("%s.insecure: the collector's old place of tls.insecure; read as tls.insecure (move it there: the collector refuses it today)", path)
}

// compression normalises a compression setting. Absent means gzip (the
// collector's default); "" and "none" mean none.
func compression(d exporter.Decoder, e processor.Entry, path string) string {
	if processor.IsNull(e.Value) {
		return "gzip"
	}
	s, ok := d.Scalar(e.Value, path)
	if !ok {
		return "gzip"
	}
	switch strings.ToLower(s) {
	case "", "none":
		return "none"
	case "gzip":
		return "gzip"
	case "zstd":
		return "zstd"
	}
	d.Errorf(processor.Deref(e.Value), "%s: unsupported value %q; supported: gzip, zstd, none", path, s)
	return "gzip"
}

// DecodeTLS reads a client's tls section.
func DecodeTLS(d exporter.Decoder, n *yaml.Node, path string) TLSConfig {
	f := d.Fields(n, path, []string{"insecure", "insecure_skip_verify", "ca_file", "cert_file", "key_file"})
	var t TLSConfig
	t.Insecure = d.Bool(f["insecure"].Value, path+".insecure")
	t.InsecureSkipVerify = d.Bool(f["insecure_skip_verify"].Value, path+".insecure_skip_verify")
	t.CAFile, _ = d.Scalar(f["ca_file"].Value, path+".ca_file")
	t.CertFile, _ = d.Scalar(f["cert_file"].Value, path+".cert_file")
	t.KeyFile, _ = d.Scalar(f["key_file"].Value, path+".key_file")
	if (t.CertFile == "") != (t.KeyFile == "") {
		d.Errorf(processor.Deref(n), "%s: cert_file and key_file go together: set both for mutual TLS, or neither", path)
	}
	return t
}

// CheckHTTPURL says what is wrong with an OTLP/HTTP URL, or "".
func CheckHTTPURL(s string) string {
	if s == "" {
		return "empty; use a URL such as https://otlp.example.com:4318"
	}
	u, err := url.Parse(s)
	if err != nil {
		return strings.TrimPrefix(err.Error(), fmt.Sprintf("parse %q: ", s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "the scheme must be http or https, e.g. https://otlp.example.com:4318"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "no host; use a URL such as https://otlp.example.com:4318"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("invalid port %q", port)
		}
	}
	return ""
}

// CheckGRPCEndpoint says what is wrong with an OTLP/gRPC endpoint, or "".
func CheckGRPCEndpoint(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return strings.TrimPrefix(err.Error(), fmt.Sprintf("parse %q: ", s))
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "the scheme must be http or https; or use host:port"
		}
		if u.Hostname() == "" {
			return "no host; use host:port or https://host:port"
		}
		if u.Path != "" && u.Path != "/" {
			return "a gRPC endpoint has no path; use host:port or https://host:port"
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Sprintf("invalid port %q", port)
			}
		}
		return ""
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "use host:port (e.g. otlp.example.com:4317) or https://host:port"
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "no host; use host:port (e.g. otlp.example.com:4317) or https://host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("invalid port %q", port)
	}
	return ""
}
