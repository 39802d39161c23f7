package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsemfexporter"
)

// emfConfig is a configuration with an awsemf exporter whose options are
// opts (indented under it).
func emfConfig(opts string) string {
	return "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  awsemf:\n" + opts +
		"service:\n  pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [awsemf]\n"
}

// TestAWSEMF checks the awsemf exporter's options: what is honoured, what
// is accepted with a warning, what is refused and with which message.
func TestAWSEMF(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		want  *awsemfexporter.Config // nil: an error is expected
		warns []string
		err   string
	}{
		{name: "no options", yaml: emfConfig(""), want: &awsemfexporter.Config{}},
		{
			name: "every honoured option",
			yaml: emfConfig(`    namespace: Shop/Orders
    dimension_rollup_option: NoDimensionRollup
    output_destination: stdout
    detailed_metrics: true
    version: "1"
    retain_initial_value_of_delta_metric: true
    parse_json_encoded_attr_values: [kubernetes]
    resource_to_telemetry_conversion: {enabled: true}
    metric_declarations:
      - dimensions: [[service.name, route], []]
        metric_name_selectors: ["^http_"]
        label_matchers:
          - {label_names: [route], regex: "^/api", separator: "|"}
    metric_descriptors:
      - {metric_name: http_latency, unit: Milliseconds, overwrite: true}
`),
			want: &awsemfexporter.Config{Namespace: "Shop/Orders", DimensionRollup: awsemfexporter.NoDimensionRollup, DetailedMetrics: true,
				Version: "1", RetainInitialValueOfDeltaMetric: true, ParseJSONEncodedAttrValues: []string{"kubernetes"}, ResourceToTelemetry: true,
				Declarations: []awsemfexporter.Declaration{{Dimensions: [][]string{{"service.name", "route"}, {}}, MetricNameSelectors: []string{"^http_"},
					LabelMatchers: []awsemfexporter.LabelMatcher{{LabelNames: []string{"route"}, Regex: "^/api", Separator: "|"}}}},
				Descriptors: []awsemfexporter.Descriptor{{MetricName: "http_latency", Unit: "Milliseconds", Overwrite: true}}},
		},
		{
			name: "log group and stream, AWS session options: one warning each",
			yaml: emfConfig("    region: us-east-1\n    role_arn: arn:aws:iam::1:role/x\n    no_verify_ssl: true\n    log_group_name: /metrics/x\n    log_stream_name: s\n    output_destination: cloudwatch\n"),
			want: &awsemfexporter.Config{},
			warns: []string{`exporter awsemf: log_group_name "/metrics/x" and log_stream_name "s" cannot be honoured in Lambda: the records go to the extension's stdout, which Lambda writes to the function's own log group and stream`,
				"exporter awsemf: no_verify_ssl, region, role_arn accepted and ignored: the records are written to stdout (the function's log stream), with no call to CloudWatch and no credentials"},
		},
		{
			name:  "version 0 warns that Lambda log lines are not extracted",
			yaml:  emfConfig("    version: \"0\"\n"),
			want:  &awsemfexporter.Config{Version: "0"},
			warns: []string{`version "0" records carry no _aws metadata`},
		},
		{name: "bad rollup", yaml: emfConfig("    dimension_rollup_option: All\n"),
			err: `exporters.awsemf.dimension_rollup_option: unsupported value "All"; supported: ZeroAndSingleDimensionRollup, SingleDimensionRollupOnly, NoDimensionRollup`},
		{name: "bad output", yaml: emfConfig("    output_destination: file\n"),
			err: `exporters.awsemf.output_destination: unsupported value "file"; supported: cloudwatch, stdout`},
		{name: "bad unit", yaml: emfConfig("    metric_descriptors:\n      - {metric_name: x, unit: ms}\n"),
			err: `exporters.awsemf.metric_descriptors[0].unit: unsupported value "ms"; supported: Seconds, Microseconds, Milliseconds`},
		{name: "bad regex", yaml: emfConfig("    metric_declarations:\n      - metric_name_selectors: [\"(\"]\n"),
			err: "exporters.awsemf: metric_declarations[0].metric_name_selectors: \"(\": error parsing regexp"},
		{name: "declaration without selectors", yaml: emfConfig("    metric_declarations:\n      - dimensions: [[a]]\n"),
			err: "exporters.awsemf: metric_declarations[0]: metric_name_selectors is empty"},
		{name: "unknown key", yaml: emfConfig("    dimensions: [a]\n"),
			err: `exporters.awsemf: unknown key "dimensions"; supported: namespace,`},
		{name: "in a traces pipeline", yaml: strings.Replace(emfConfig(""), "metrics:", "traces:", 1),
			err: `service.pipelines.traces: exporter "awsemf" (awsemf) exports metrics only; remove it from this traces pipeline`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), "config.yaml", envMap(nil))
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Exporters["awsemf"].AWSEMF; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config\n got %+v\nwant %+v", got, tc.want)
			}
			for _, w := range tc.warns {
				if !strings.Contains(strings.Join(cfg.Warnings, "\n"), w) {
					t.Errorf("no warning %q in %q", w, cfg.Warnings)
				}
			}
			if !strings.Contains(cfg.Summary(), "EMF records to stdout") {
				t.Errorf("summary does not say where the records go:\n%s", cfg.Summary())
			}
		})
	}
}
