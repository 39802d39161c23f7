package config

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsemfexporter"
)

// awsemfIgnored are the awsemf exporter's keys about calling CloudWatch
// Logs (its AWS session and log group settings): in Lambda the records go
// to the function's log stream, with no call and no credentials, so these
// are accepted and named in one warning.
var awsemfIgnored = []string{"region", "endpoint", "no_verify_ssl", "proxy_address", "role_arn", "max_retries",
	"num_workers", "request_timeout_seconds", "resource_arn", "local_mode", "certificate_file_path",
	"shared_credentials_file", "profile", "imds_retries", "external_id", "middleware", "log_retention", "tags",
	"eks_fargate_container_insights_enabled", "enhanced_container_insights", "add_entity", "timeout"}

// awsemf reads the awsemf exporter's options.
func (p *parser) awsemf(e entry, path string) *awsemfexporter.Config {
	id := e.key.Value
	known := append([]string{"namespace", "dimension_rollup_option", "metric_declarations", "metric_descriptors",
		"resource_to_telemetry_conversion", "output_destination", "detailed_metrics", "version",
		"retain_initial_value_of_delta_metric", "parse_json_encoded_attr_values", "disable_metric_extraction",
		"log_group_name", "log_stream_name"}, awsemfIgnored...)
	nerr := len(p.errs)
	f := p.fields(e.val, path, known, ignoredExporterKeys)
	c := &awsemfexporter.Config{}
	c.Namespace, _ = p.scalar(f["namespace"].val, path+".namespace")
	c.DimensionRollup = awsemfexporter.Rollup(p.oneOf(f["dimension_rollup_option"].val, path+".dimension_rollup_option",
		string(awsemfexporter.ZeroAndSingleDimensionRollup), string(awsemfexporter.SingleDimensionRollupOnly), string(awsemfexporter.NoDimensionRollup)))
	c.Version = p.oneOf(f["version"].val, path+".version", "1", "0")
	c.DetailedMetrics = p.boolean(f["detailed_metrics"].val, path+".detailed_metrics")
	c.RetainInitialValueOfDeltaMetric = p.boolean(f["retain_initial_value_of_delta_metric"].val, path+".retain_initial_value_of_delta_metric")
	c.DisableMetricExtraction = p.boolean(f["disable_metric_extraction"].val, path+".disable_metric_extraction")
	c.ParseJSONEncodedAttrValues, _ = p.list(f["parse_json_encoded_attr_values"].val, path+".parse_json_encoded_attr_values")
	if r, ok := f["resource_to_telemetry_conversion"]; ok {
		rf := p.fields(r.val, path+".resource_to_telemetry_conversion", []string{"enabled"}, nil)
		c.ResourceToTelemetry = p.boolean(rf["enabled"].val, path+".resource_to_telemetry_conversion.enabled")
	}
	// output_destination: cloudwatch (upstream: PutLogEvents) and stdout
	// both mean the extension's stdout here, the function's log stream.
	_ = p.oneOf(f["output_destination"].val, path+".output_destination", "cloudwatch", "stdout")
	for i, d := range p.seq(f["metric_declarations"].val, path+".metric_declarations") {
		c.Declarations = append(c.Declarations, p.emfDeclaration(d, fmt.Sprintf("%s.metric_declarations[%d]", path, i)))
	}
	for i, d := range p.seq(f["metric_descriptors"].val, path+".metric_descriptors") {
		dp := fmt.Sprintf("%s.metric_descriptors[%d]", path, i)
		df := p.fields(d, dp, []string{"metric_name", "unit", "overwrite"}, nil)
		var desc awsemfexporter.Descriptor
		desc.MetricName, _ = p.scalar(df["metric_name"].val, dp+".metric_name")
		desc.Unit = p.oneOf(df["unit"].val, dp+".unit", awsemfexporter.Units...)
		desc.Overwrite = p.boolean(df["overwrite"].val, dp+".overwrite")
		if desc.MetricName == "" {
			p.errorf(deref(d), "%s: metric_name is required", dp)
		}
		if _, ok := df["unit"]; !ok {
			p.errorf(deref(d), "%s: unit is required: one of %s", dp, strings.Join(awsemfexporter.Units, ", "))
		}
		c.Descriptors = append(c.Descriptors, desc)
	}
	var where []string
	for _, k := range []string{"log_group_name", "log_stream_name"} {
		if x, ok := f[k]; ok {
			if s, _ := p.scalar(x.val, path+"."+k); s != "" {
				where = append(where, fmt.Sprintf("%s %q", k, s))
			}
		}
	}
	if len(where) > 0 {
		p.warnf("exporter %s: %s cannot be honoured in Lambda: the records go to the extension's stdout, which Lambda writes to the function's own log group and stream, where CloudWatch extracts the metrics", id, strings.Join(where, " and "))
	}
	var ignored []string
	for _, k := range awsemfIgnored {
		if _, ok := f[k]; ok {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		p.warnf("exporter %s: %s accepted and ignored: the records are written to stdout (the function's log stream), with no call to CloudWatch and no credentials", id, strings.Join(ignored, ", "))
	}
	if c.Version == "0" {
		p.warnf("exporter %s: version \"0\" records carry no _aws metadata; CloudWatch extracts metrics from such records only when they are sent with PutLogEvents' x-amzn-logs-format: json/emf header, which a line in a Lambda log stream does not have: use version \"1\" (the default)", id)
	}
	if c.DisableMetricExtraction {
		p.warnf("exporter %s: disable_metric_extraction: the records are written without metadata; CloudWatch extracts no metrics from them (they are log lines only)", id)
	}
	// The exporter's own checks (regular expressions, declarations), once
	// the options read without error.
	if err := awsemfexporter.Check(*c); err != nil && len(p.errs) == nerr {
		for _, msg := range strings.Split(err.Error(), "\n") {
			p.errorf(e.key, "%s: %s", path, msg)
		}
	}
	return c
}

// seq returns the items of a sequence; null is empty.
func (p *parser) seq(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: expected a list, got %s", path, describe(n))
		return nil
	}
	return n.Content
}

func (p *parser) emfDeclaration(n *yaml.Node, path string) awsemfexporter.Declaration {
	f := p.fields(n, path, []string{"dimensions", "metric_name_selectors", "label_matchers"}, nil)
	var d awsemfexporter.Declaration
	for i, set := range p.seq(f["dimensions"].val, path+".dimensions") {
		names, _ := p.list(set, fmt.Sprintf("%s.dimensions[%d]", path, i))
		if names == nil {
			names = []string{}
		}
		d.Dimensions = append(d.Dimensions, names)
	}
	d.MetricNameSelectors, _ = p.list(f["metric_name_selectors"].val, path+".metric_name_selectors")
	for i, m := range p.seq(f["label_matchers"].val, path+".label_matchers") {
		mp := fmt.Sprintf("%s.label_matchers[%d]", path, i)
		mf := p.fields(m, mp, []string{"label_names", "separator", "regex"}, nil)
		var lm awsemfexporter.LabelMatcher
		lm.LabelNames, _ = p.list(mf["label_names"].val, mp+".label_names")
		lm.Separator, _ = p.scalar(mf["separator"].val, mp+".separator")
		lm.Regex, _ = p.scalar(mf["regex"].val, mp+".regex")
		d.LabelMatchers = append(d.LabelMatchers, lm)
	}
	return d
}

// describeEMF says where an awsemf exporter writes and how.
func describeEMF(c *awsemfexporter.Config) string {
	ns := c.Namespace
	if ns == "" {
		ns = "from service.namespace/service.name, else default"
	}
	rollup := string(c.DimensionRollup)
	if rollup == "" {
		rollup = string(awsemfexporter.ZeroAndSingleDimensionRollup)
	}
	s := fmt.Sprintf("EMF records to stdout (the function's log stream; CloudWatch extracts the metrics), namespace %s, %s", ns, rollup)
	if n := len(c.Declarations); n > 0 {
		s += fmt.Sprintf(", %d metric declarations", n)
	}
	return s
}
