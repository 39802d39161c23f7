package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// PrometheusRemoteWriteExporter configures the prometheusremotewrite
// exporter: metrics as Prometheus remote write 1.0 requests
// (snappy-compressed protobuf WriteRequest).
type PrometheusRemoteWriteExporter struct {
	// Endpoint is the remote write URL, e.g.
	// https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-.../api/v1/remote_write.
	Endpoint string
	Headers  map[string]string
	Timeout  time.Duration // per request; the collector's default is 5s
	TLS      TLS
	// Namespace prefixes every metric name (namespace_name).
	Namespace string
	// ExternalLabels are added to every series that has no label of the
	// same name.
	ExternalLabels map[string]string
	// ResourceToTelemetry copies every resource attribute onto the labels
	// of each series (resource_to_telemetry_conversion.enabled).
	ResourceToTelemetry bool
	// AddMetricSuffixes adds unit and type suffixes (_seconds, _total,
	// _ratio) to metric names (default true).
	AddMetricSuffixes bool
	// SendMetadata sends each metric family's type, unit and help.
	SendMetadata bool
	// MaxBatchSizeBytes bounds one request's protobuf before compression
	// (default DefaultMaxBatchSizeBytes).
	MaxBatchSizeBytes int
	// TargetInfo sends a target_info series per resource (default true).
	TargetInfo bool
	// CreatedMetric sends NAME_created for counters, histograms and
	// summaries with a start time (export_created_metric.enabled).
	CreatedMetric bool
}

// DefaultMaxBatchSizeBytes is the collector's default max_batch_size_bytes.
const DefaultMaxBatchSizeBytes = 3_000_000

// DefaultPrometheusRemoteWriteTimeout is the collector's default timeout.
const DefaultPrometheusRemoteWriteTimeout = 5 * time.Second

// prometheusRemoteWriteKeys are the keys the exporter reads.
var prometheusRemoteWriteKeys = []string{
	"endpoint", "headers", "auth", "tls", "timeout", "compression", "namespace", "external_labels",
	"resource_to_telemetry_conversion", "add_metric_suffixes", "send_metadata", "max_batch_size_bytes",
	"target_info", "export_created_metric", "protobuf_message", "translation_strategy",
}

// ignoredPrometheusRemoteWriteKeys are accepted with a warning.
var ignoredPrometheusRemoteWriteKeys = map[string]string{
	"remote_write_queue": "lambdaotel sends each flush's requests itself, one after the other, within the flush budget; there is no queue to size",
	"retry_on_failure":   "failed requests are retried with backoff within each flush's budget (lambdaotel.flush.budget), then kept in the spill queue",
	"sending_queue":      "lambdaotel buffers data itself (lambdaotel.buffer.max_bytes)",
	"wal":                "requests that could not be sent within the flush budget are kept in lambdaotel's spill queue on /tmp (lambdaotel.spill)",
}

// prometheusRemoteWrite decodes the prometheusremotewrite exporter's options.
func (p *parser) prometheusRemoteWrite(ex *Exporter, e entry, path string) {
	f := p.fields(e.val, path, prometheusRemoteWriteKeys, ignoredPrometheusRemoteWriteKeys)
	p.auth(ex, f["auth"], path+".auth")
	o := &PrometheusRemoteWriteExporter{
		Endpoint:          p.httpURL(f["endpoint"], path+".endpoint"),
		Headers:           p.headers(f["headers"].val, path+".headers"),
		Timeout:           DefaultPrometheusRemoteWriteTimeout,
		TLS:               p.tls(f["tls"].val, path+".tls"),
		AddMetricSuffixes: true,
		TargetInfo:        true,
		MaxBatchSizeBytes: DefaultMaxBatchSizeBytes,
	}
	if u, err := url.Parse(o.Endpoint); err == nil && ex.Auth == "" && strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		p.warnf("exporters.%s sends to %s, which accepts only SigV4-signed requests: add auth: {authenticator: sigv4auth} and declare extensions: {sigv4auth: {}}", ex.ID, u.Hostname())
	}
	if _, ok := f["endpoint"]; !ok {
		p.errorf(e.key, "%s: endpoint is required: the remote write URL, e.g. https://aps-workspaces.REGION.amazonaws.com/workspaces/WORKSPACE_ID/api/v1/remote_write", path)
	}
	for _, h := range []string{"Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version"} {
		for k := range o.Headers {
			if strings.EqualFold(k, h) {
				p.errorf(findKey(f["headers"].val, k), "%s.headers: %s is set by the remote write protocol and cannot be changed", path, k)
			}
		}
	}
	if t, ok := f["timeout"]; ok {
		o.Timeout = p.duration(t.val, path+".timeout")
	}
	if c, ok := f["compression"]; ok {
		// Remote write 1.0 is snappy's block format, always.
		if s, ok := p.scalar(c.val, path+".compression"); ok && s != "" && !strings.EqualFold(s, "snappy") {
			p.errorf(deref(c.val), "%s.compression: unsupported value %q; remote write 1.0 requests are always snappy-compressed: remove the key or set snappy", path, s)
		}
	}
	if m, ok := f["protobuf_message"]; ok {
		if s, ok := p.scalar(m.val, path+".protobuf_message"); ok && s != "" && s != "prometheus.WriteRequest" {
			p.errorf(deref(m.val), "%s.protobuf_message: unsupported value %q; lambdaotel sends remote write 1.0 (prometheus.WriteRequest), which every remote write receiver accepts", path, s)
		}
	}
	o.Namespace, _ = p.scalar(f["namespace"].val, path+".namespace")
	if el, ok := f["external_labels"]; ok {
		o.ExternalLabels = map[string]string{}
		for _, x := range p.entries(el.val, path+".external_labels") {
			name := x.key.Value
			if !validLabelName(name) {
				p.errorf(x.key, "%s.external_labels: invalid label name %q: use letters, digits and _, not starting with a digit", path, name)
				continue
			}
			if v, ok := p.scalar(x.val, path+".external_labels."+name); ok {
				if v == "" {
					p.errorf(deref(x.val), "%s.external_labels.%s: empty value; Prometheus drops labels with empty values", path, name)
					continue
				}
				o.ExternalLabels[name] = v
			}
		}
	}
	o.ResourceToTelemetry = p.enabled(f, "resource_to_telemetry_conversion", path, false)
	o.TargetInfo = p.enabled(f, "target_info", path, true)
	o.CreatedMetric = p.enabled(f, "export_created_metric", path, false)
	if v, ok := f["add_metric_suffixes"]; ok && !isNull(v.val) {
		o.AddMetricSuffixes = p.boolean(v.val, path+".add_metric_suffixes")
	}
	if v, ok := f["translation_strategy"]; ok && !isNull(v.val) {
		// The collector's newer spelling of add_metric_suffixes; the
		// strategies that keep UTF-8 names are not implemented.
		switch st, _ := p.scalar(v.val, path+".translation_strategy"); st {
		case "UnderscoreEscapingWithSuffixes":
			o.AddMetricSuffixes = true
		case "UnderscoreEscapingWithoutSuffixes":
			o.AddMetricSuffixes = false
		case "NoUTF8EscapingWithSuffixes", "NoTranslation":
			p.errorf(deref(v.val), "%s.translation_strategy: %q keeps UTF-8 names, which lambdaotel does not send; supported: UnderscoreEscapingWithSuffixes (default), UnderscoreEscapingWithoutSuffixes", path, st)
		default:
			p.errorf(deref(v.val), "%s.translation_strategy: unsupported value %q; supported: UnderscoreEscapingWithSuffixes (default), UnderscoreEscapingWithoutSuffixes", path, st)
		}
		if _, both := f["add_metric_suffixes"]; both {
			p.warnf("%s: add_metric_suffixes is ignored: translation_strategy is set", path)
		}
	}
	o.SendMetadata = p.boolean(f["send_metadata"].val, path+".send_metadata")
	if v, ok := f["max_batch_size_bytes"]; ok && !isNull(v.val) {
		if n := p.integer(v.val, path+".max_batch_size_bytes", 1024, 1<<30); n > 0 {
			o.MaxBatchSizeBytes = int(n)
		}
	}
	ex.PrometheusRemoteWrite = o
}

// enabled reads a {enabled: BOOL} block; def when it is absent.
func (p *parser) enabled(f map[string]entry, key, path string, def bool) bool {
	e, ok := f[key]
	if !ok || isNull(e.val) {
		return def
	}
	sub := p.fields(e.val, path+"."+key, []string{"enabled"}, nil)
	v, ok := sub["enabled"]
	if !ok || isNull(v.val) {
		return def
	}
	return p.boolean(v.val, path+"."+key+".enabled")
}

// validLabelName reports whether s is a Prometheus label name.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// checkSignal reports a pipeline naming an exporter that does not export
// the pipeline's signal.
func (p *parser) checkSignal(cfg *Config, pl *Pipeline, id string, n *yaml.Node) {
	ex := cfg.Exporters[id]
	if ex == nil {
		return
	}
	f, ok := exporter.Lookup(ex.Type)
	if !ok {
		return
	}
	if exports, only := f.Exports(pl.Signal); !exports {
		p.errorf(n, "service.pipelines.%s: exporter %q (%s) exports %s only; remove it from this %s pipeline", pl.ID, id, ex.Type, only, pl.Signal)
	}
}

// Describe is the Summary's line of the exporter.
func (o *PrometheusRemoteWriteExporter) Describe([]pipeline.Signal) string {
	parts := []string{"Prometheus remote write 1.0 to " + pipeline.RedactURL(o.Endpoint)}
	if o.Namespace != "" {
		parts = append(parts, "namespace "+o.Namespace)
	}
	if len(o.ExternalLabels) > 0 {
		names := make([]string, 0, len(o.ExternalLabels))
		for k := range o.ExternalLabels {
			names = append(names, k)
		}
		sort.Strings(names)
		parts = append(parts, "external labels "+strings.Join(names, ", "))
	}
	if o.ResourceToTelemetry {
		parts = append(parts, "resource attributes as labels")
	}
	if !o.AddMetricSuffixes {
		parts = append(parts, "no unit and type suffixes")
	}
	if !o.TargetInfo {
		parts = append(parts, "no target_info")
	}
	if o.SendMetadata {
		parts = append(parts, "metadata")
	}
	if o.CreatedMetric {
		parts = append(parts, "_created series")
	}
	parts = append(parts, fmt.Sprintf("requests of at most %d bytes", o.MaxBatchSizeBytes))
	return strings.Join(parts, ", ") + ", " + clientOptions("snappy", o.Timeout, o.Headers, o.TLS)
}
