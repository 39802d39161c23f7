package prometheusremotewriteexporter

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory is the prometheusremotewrite exporter type: metrics only. What
// its Decode returns is a *Config without Wrap and Instance, which New
// sets.
var Factory = exporter.Factory{
	Type:    "prometheusremotewrite",
	Signals: []pipeline.Signal{pipeline.Metrics},
	Decode:  decodeConfig,
	// The instance label, for resources without service.instance.id or
	// faas.instance, is the execution environment's log stream when
	// Lambda gives it.
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		c := *cfg.(*Config)
		c.Wrap = s.Wrap
		c.Instance = os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME")
		return exporter.Made(New(id, c))
	},
}

// knownKeys are the keys the exporter reads.
var knownKeys = []string{
	"endpoint", "headers", "auth", "tls", "timeout", "compression", "namespace", "external_labels",
	"resource_to_telemetry_conversion", "add_metric_suffixes", "send_metadata", "max_batch_size_bytes",
	"target_info", "export_created_metric", "protobuf_message", "translation_strategy",
}

// ignoredKeys are accepted with a warning.
var ignoredKeys = map[string]string{
	"remote_write_queue": "lambdaotel sends each flush's requests itself, one after the other, within the flush budget; there is no queue to size",
	"retry_on_failure":   "failed requests are retried with backoff within each flush's budget (lambdaotel.flush.budget), then kept in the spill queue",
	"sending_queue":      "lambdaotel buffers data itself (lambdaotel.buffer.max_bytes)",
	"wal":                "requests that could not be sent within the flush budget are kept in lambdaotel's spill queue on /tmp (lambdaotel.spill)",
}

// decodeConfig reads the prometheusremotewrite exporter's options.
func decodeConfig(d exporter.Decoder, key, value *yaml.Node, path string) any {
	f := d.Options(value, path, knownKeys, ignoredKeys)
	auth := d.Auth(f["auth"], path+".auth")
	o := &Config{
		Endpoint:          d.HTTPURL(f["endpoint"], path+".endpoint"),
		Headers:           d.Headers(f["headers"].Value, path+".headers"),
		Timeout:           DefaultTimeout,
		TLS:               otlpexporter.DecodeTLS(d, f["tls"].Value, path+".tls"),
		AddMetricSuffixes: true,
		TargetInfo:        true,
		MaxBatchSizeBytes: DefaultMaxBatchSizeBytes,
	}
	if u, err := url.Parse(o.Endpoint); err == nil && auth == "" && strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		d.Warnf("exporters.%s sends to %s, which accepts only SigV4-signed requests: add auth: {authenticator: sigv4auth} and declare extensions: {sigv4auth: {}}", key.Value, u.Hostname())
	}
	if _, ok := f["endpoint"]; !ok {
		d.Errorf(key, "%s: endpoint is required: the remote write URL, e.g. https://aps-workspaces.REGION.amazonaws.com/workspaces/WORKSPACE_ID/api/v1/remote_write", path)
	}
	for _, h := range []string{"Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version"} {
		for k := range o.Headers {
			if strings.EqualFold(k, h) {
				d.Errorf(findKey(f["headers"].Value, k), "%s.headers: %s is set by the remote write protocol and cannot be changed", path, k)
			}
		}
	}
	if t, ok := f["timeout"]; ok {
		o.Timeout = d.Duration(t.Value, path+".timeout")
	}
	if c, ok := f["compression"]; ok {
		// Remote write 1.0 is snappy's block format, always.
		if s, ok := d.Scalar(c.Value, path+".compression"); ok && s != "" && !strings.EqualFold(s, "snappy") {
			d.Errorf(processor.Deref(c.Value), "%s.compression: unsupported value %q; remote write 1.0 requests are always snappy-compressed: remove the key or set snappy", path, s)
		}
	}
	if m, ok := f["protobuf_message"]; ok {
		if s, ok := d.Scalar(m.Value, path+".protobuf_message"); ok && s != "" && s != "prometheus.WriteRequest" {
			d.Errorf(processor.Deref(m.Value), "%s.protobuf_message: unsupported value %q; lambdaotel sends remote write 1.0 (prometheus.WriteRequest), which every remote write receiver accepts", path, s)
		}
	}
	o.Namespace, _ = d.Scalar(f["namespace"].Value, path+".namespace")
	if el, ok := f["external_labels"]; ok {
		o.ExternalLabels = map[string]string{}
		for _, x := range d.Entries(el.Value, path+".external_labels") {
			name := x.Key.Value
			if !validLabelName(name) {
				d.Errorf(x.Key, "%s.external_labels: invalid label name %q: use letters, digits and _, not starting with a digit", path, name)
				continue
			}
			if v, ok := d.Scalar(x.Value, path+".external_labels."+name); ok {
				if v == "" {
					d.Errorf(processor.Deref(x.Value), "%s.external_labels.%s: empty value; Prometheus drops labels with empty values", path, name)
					continue
				}
				o.ExternalLabels[name] = v
			}
		}
	}
	o.ResourceToTelemetry = enabled(d, f, "resource_to_telemetry_conversion", path, false)
	o.TargetInfo = enabled(d, f, "target_info", path, true)
	o.CreatedMetric = enabled(d, f, "export_created_metric", path, false)
	if v, ok := f["add_metric_suffixes"]; ok && !processor.IsNull(v.Value) {
		o.AddMetricSuffixes = d.Bool(v.Value, path+".add_metric_suffixes")
	}
	if v, ok := f["translation_strategy"]; ok && !processor.IsNull(v.Value) {
		// The collector's newer spelling of add_metric_suffixes; the
		// strategies that keep UTF-8 names are not implemented.
		switch st, _ := d.Scalar(v.Value, path+".translation_strategy"); st {
		case "UnderscoreEscapingWithSuffixes":
			o.AddMetricSuffixes = true
		case "UnderscoreEscapingWithoutSuffixes":
			o.AddMetricSuffixes = false
		case "NoUTF8EscapingWithSuffixes", "NoTranslation":
			d.Errorf(processor.Deref(v.Value), "%s.translation_strategy: %q keeps UTF-8 names, which lambdaotel does not send; supported: UnderscoreEscapingWithSuffixes (default), UnderscoreEscapingWithoutSuffixes", path, st)
		default:
			d.Errorf(processor.Deref(v.Value), "%s.translation_strategy: unsupported value %q; supported: UnderscoreEscapingWithSuffixes (default), UnderscoreEscapingWithoutSuffixes", path, st)
		}
		if _, both := f["add_metric_suffixes"]; both {
			d.Warnf("%s: add_metric_suffixes is ignored: translation_strategy is set", path)
		}
	}
	o.SendMetadata = d.Bool(f["send_metadata"].Value, path+".send_metadata")
	if v, ok := f["max_batch_size_bytes"]; ok && !processor.IsNull(v.Value) {
		if n := d.Integer(v.Value, path+".max_batch_size_bytes", 1024, 1<<30); n > 0 {
			o.MaxBatchSizeBytes = int(n)
		}
	}
	return o
}

// enabled reads a {enabled: BOOL} block; def when it is absent.
func enabled(d exporter.Decoder, f map[string]processor.Entry, key, path string, def bool) bool {
	e, ok := f[key]
	if !ok || processor.IsNull(e.Value) {
		return def
	}
	sub := d.Fields(e.Value, path+"."+key, []string{"enabled"})
	v, ok := sub["enabled"]
	if !ok || processor.IsNull(v.Value) {
		return def
	}
	return d.Bool(v.Value, path+"."+key+".enabled")
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

// Describe is the Summary's line of the exporter.
func (o *Config) Describe([]pipeline.Signal) string {
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
	return strings.Join(parts, ", ") + ", " + otlpexporter.DescribeClient("snappy", o.Timeout, o.Headers, o.TLS)
}

// findKey returns the value of key in mapping n, or nil.
func findKey(n *yaml.Node, key string) *yaml.Node {
	n = processor.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return processor.Deref(n.Content[i+1])
		}
	}
	return nil
}
