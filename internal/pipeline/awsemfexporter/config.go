package awsemfexporter

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory is the awsemf exporter type: metrics only.
var Factory = exporter.Factory{
	Type:    "awsemf",
	Signals: []pipeline.Signal{pipeline.Metrics},
	Decode:  decode,
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		out := s.EMFOutput
		if out == nil {
			out = io.Discard
		}
		e, err := New(id, out, *cfg.(*Config), s.Logger)
		if err != nil {
			return nil, err
		}
		return e, nil
	},
}

// awsemfIgnored are the awsemf exporter's keys about calling CloudWatch
// Logs (its AWS session and log group settings): in Lambda the records go
// to the function's log stream, with no call and no credentials, so these
// are accepted and named in one warning.
var awsemfIgnored = []string{"region", "endpoint", "no_verify_ssl", "proxy_address", "role_arn", "max_retries",
	"num_workers", "request_timeout_seconds", "resource_arn", "local_mode", "certificate_file_path",
	"shared_credentials_file", "profile", "imds_retries", "external_id", "middleware", "log_retention", "tags",
	"eks_fargate_container_insights_enabled", "enhanced_container_insights", "add_entity", "timeout"}

// decode reads the awsemf exporter's options.
func decode(d exporter.Decoder, key, value *yaml.Node, path string) any {
	id := key.Value
	known := append([]string{"namespace", "dimension_rollup_option", "metric_declarations", "metric_descriptors",
		"resource_to_telemetry_conversion", "output_destination", "detailed_metrics", "version",
		"retain_initial_value_of_delta_metric", "parse_json_encoded_attr_values", "disable_metric_extraction",
		"log_group_name", "log_stream_name"}, awsemfIgnored...)
	nerr := d.Mistakes()
	f := d.Options(value, path, known, exporter.IgnoredKeys)
	c := &Config{}
	c.Namespace, _ = d.Scalar(f["namespace"].Value, path+".namespace")
	c.DimensionRollup = Rollup(d.OneOf(f["dimension_rollup_option"].Value, path+".dimension_rollup_option",
		string(ZeroAndSingleDimensionRollup), string(SingleDimensionRollupOnly), string(NoDimensionRollup)))
	c.Version = d.OneOf(f["version"].Value, path+".version", "1", "0")
	c.DetailedMetrics = d.Bool(f["detailed_metrics"].Value, path+".detailed_metrics")
	c.RetainInitialValueOfDeltaMetric = d.Bool(f["retain_initial_value_of_delta_metric"].Value, path+".retain_initial_value_of_delta_metric")
	c.DisableMetricExtraction = d.Bool(f["disable_metric_extraction"].Value, path+".disable_metric_extraction")
	c.ParseJSONEncodedAttrValues, _ = d.List(f["parse_json_encoded_attr_values"].Value, path+".parse_json_encoded_attr_values")
	if r, ok := f["resource_to_telemetry_conversion"]; ok {
		rf := d.Fields(r.Value, path+".resource_to_telemetry_conversion", []string{"enabled"})
		c.ResourceToTelemetry = d.Bool(rf["enabled"].Value, path+".resource_to_telemetry_conversion.enabled")
	}
	// output_destination: cloudwatch (upstream: PutLogEvents) and stdout
	// both mean the extension's stdout here, the function's log stream.
	_ = d.OneOf(f["output_destination"].Value, path+".output_destination", "cloudwatch", "stdout")
	for i, n := range d.Seq(f["metric_declarations"].Value, path+".metric_declarations") {
		c.Declarations = append(c.Declarations, decodeDeclaration(d, n, fmt.Sprintf("%s.metric_declarations[%d]", path, i)))
	}
	for i, n := range d.Seq(f["metric_descriptors"].Value, path+".metric_descriptors") {
		dp := fmt.Sprintf("%s.metric_descriptors[%d]", path, i)
		df := d.Fields(n, dp, []string{"metric_name", "unit", "overwrite"})
		var desc Descriptor
		desc.MetricName, _ = d.Scalar(df["metric_name"].Value, dp+".metric_name")
		desc.Unit = d.OneOf(df["unit"].Value, dp+".unit", Units...)
		desc.Overwrite = d.Bool(df["overwrite"].Value, dp+".overwrite")
		if desc.MetricName == "" {
			d.Errorf(processor.Deref(n), "%s: metric_name is required", dp)
		}
		if _, ok := df["unit"]; !ok {
			d.Errorf(processor.Deref(n), "%s: unit is required: one of %s", dp, strings.Join(Units, ", "))
		}
		c.Descriptors = append(c.Descriptors, desc)
	}
	var where []string
	for _, k := range []string{"log_group_name", "log_stream_name"} {
		if x, ok := f[k]; ok {
			if s, _ := d.Scalar(x.Value, path+"."+k); s != "" {
				where = append(where, fmt.Sprintf("%s %q", k, s))
			}
		}
	}
	if len(where) > 0 {
		d.Warnf("exporter %s: %s cannot be honoured in Lambda: the records go to the extension's stdout, which Lambda writes to the function's own log group and stream, where CloudWatch extracts the metrics", id, strings.Join(where, " and "))
	}
	var ignored []string
	for _, k := range awsemfIgnored {
		if _, ok := f[k]; ok {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		d.Warnf("exporter %s: %s accepted and ignored: the records are written to stdout (the function's log stream), with no call to CloudWatch and no credentials", id, strings.Join(ignored, ", "))
	}
	if c.Version == "0" {
		d.Warnf("exporter %s: version \"0\" records carry no _aws metadata; CloudWatch extracts metrics from such records only when they are sent with PutLogEvents' x-amzn-logs-format: json/emf header, which a line in a Lambda log stream does not have: use version \"1\" (the default)", id)
	}
	if c.DisableMetricExtraction {
		d.Warnf("exporter %s: disable_metric_extraction: the records are written without metadata; CloudWatch extracts no metrics from them (they are log lines only)", id)
	}
	// The exporter's own checks (regular expressions, declarations), once
	// the options read without error.
	if err := Check(*c); err != nil && d.Mistakes() == nerr {
		for _, msg := range strings.Split(err.Error(), "\n") {
			d.Errorf(key, "%s: %s", path, msg)
		}
	}
	return c
}

// decodeDeclaration reads one of metric_declarations.
func decodeDeclaration(d exporter.Decoder, n *yaml.Node, path string) Declaration {
	f := d.Fields(n, path, []string{"dimensions", "metric_name_selectors", "label_matchers"})
	var dc Declaration
	for i, set := range d.Seq(f["dimensions"].Value, path+".dimensions") {
		names, _ := d.List(set, fmt.Sprintf("%s.dimensions[%d]", path, i))
		if names == nil {
			names = []string{}
		}
		dc.Dimensions = append(dc.Dimensions, names)
	}
	dc.MetricNameSelectors, _ = d.List(f["metric_name_selectors"].Value, path+".metric_name_selectors")
	for i, m := range d.Seq(f["label_matchers"].Value, path+".label_matchers") {
		mp := fmt.Sprintf("%s.label_matchers[%d]", path, i)
		mf := d.Fields(m, mp, []string{"label_names", "separator", "regex"})
		var lm LabelMatcher
		lm.LabelNames, _ = d.List(mf["label_names"].Value, mp+".label_names")
		lm.Separator, _ = d.Scalar(mf["separator"].Value, mp+".separator")
		lm.Regex, _ = d.Scalar(mf["regex"].Value, mp+".regex")
		dc.LabelMatchers = append(dc.LabelMatchers, lm)
	}
	return dc
}

// Describe says where an awsemf exporter writes and how (its line in
// `config check`'s summary).
func (c *Config) Describe([]pipeline.Signal) string {
	ns := c.Namespace
	if ns == "" {
		ns = "from service.namespace/service.name, else default"
	}
	rollup := string(c.DimensionRollup)
	if rollup == "" {
		rollup = string(ZeroAndSingleDimensionRollup)
	}
	s := fmt.Sprintf("EMF records to stdout (the function's log stream; CloudWatch extracts the metrics), namespace %s, %s", ns, rollup)
	if n := len(c.Declarations); n > 0 {
		s += fmt.Sprintf(", %d metric declarations", n)
	}
	return s
}
