package awsemfexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/internal/emfcheck"
)

var ts = pcommon.NewTimestampFromTime(time.UnixMilli(1_700_000_000_123))

// build makes metrics of one resource and one scope; add fills the scope.
func build(res map[string]any, scope string, add func(ms pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	add(sm.Metrics())
	return md
}

func gauge(ms pmetric.MetricSlice, name, unit string, v float64, attrs map[string]any) {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(v)
	_ = dp.Attributes().FromRaw(attrs)
}

func sum(ms pmetric.MetricSlice, name string, cumulative bool, v int64, attrs map[string]any) {
	m := ms.AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	if cumulative {
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	}
	dp := s.DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetIntValue(v)
	_ = dp.Attributes().FromRaw(attrs)
}

// export runs md through a new exporter (or e) and parses what it wrote.
func export(t *testing.T, e *Exporter, md pmetric.Metrics) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	e.w = &out
	if err := e.ExportMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if bytes.Contains(line, []byte(`"_aws"`)) {
			if _, err := emfcheck.Parse(line); err != nil {
				t.Fatalf("record breaks the EMF rules: %v\n%s", err, line)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

func newExporter(t *testing.T, cfg Config) *Exporter {
	t.Helper()
	e, err := New("awsemf", nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// directives returns the record's CloudWatchMetrics as JSON text.
func directives(r map[string]any) string {
	aws, _ := r["_aws"].(map[string]any)
	b, _ := json.Marshal(aws["CloudWatchMetrics"])
	return string(b)
}

// TestTranslate checks the translation of each metric type, the rollups,
// declarations, units and namespaces, record by record.
func TestTranslate(t *testing.T) {
	twoAttrs := map[string]any{"b": "y", "a": "x"}
	tests := []struct {
		name string
		cfg  Config
		md   pmetric.Metrics
		// want: per record, the directives and the members to check.
		dirs    []string
		members []map[string]any
	}{
		{
			name:    "gauge, zero and single rollup with OTelLib",
			md:      build(map[string]any{"service.name": "orders"}, "lib", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1.5, twoAttrs) }),
			dirs:    []string{`[{"Dimensions":[["OTelLib","a","b"],["OTelLib"],["OTelLib","a"],["OTelLib","b"]],"Metrics":[{"Name":"load"}],"Namespace":"orders"}]`},
			members: []map[string]any{{"load": 1.5, "a": "x", "b": "y", "OTelLib": "lib", "Version": "1"}},
		},
		{
			name: "NoDimensionRollup",
			cfg:  Config{DimensionRollup: NoDimensionRollup, Namespace: "ns"},
			md:   build(nil, "lib", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 2, twoAttrs) }),
			dirs: []string{`[{"Dimensions":[["OTelLib","a","b"]],"Metrics":[{"Name":"load"}],"Namespace":"ns"}]`},
		},
		{
			name: "SingleDimensionRollupOnly, one attribute, no scope: the set once",
			cfg:  Config{DimensionRollup: SingleDimensionRollupOnly},
			md:   build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 2, map[string]any{"a": "x"}) }),
			dirs: []string{`[{"Dimensions":[["a"]],"Metrics":[{"Name":"load"}],"Namespace":"default"}]`},
		},
		{
			name: "no attributes: the empty set",
			md:   build(map[string]any{"service.namespace": "shop", "service.name": "orders"}, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 2, nil) }),
			dirs: []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"load"}],"Namespace":"shop/orders"}]`},
		},
		{
			name: "metrics of the same attributes and time share a record; units mapped",
			cfg:  Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				gauge(ms, "latency", "ms", 3, map[string]any{"a": "x"})
				gauge(ms, "size", "By", 10, map[string]any{"a": "x"})
				gauge(ms, "ratio", "1", 0.5, map[string]any{"a": "x"})
				gauge(ms, "reqs", "{request}", 7, map[string]any{"a": "x"})
				gauge(ms, "odd", "furlongs", 7, map[string]any{"a": "x"})
			}),
			dirs:    []string{`[{"Dimensions":[["a"]],"Metrics":[{"Name":"latency","Unit":"Milliseconds"},{"Name":"size","Unit":"Bytes"},{"Name":"ratio"},{"Name":"reqs"},{"Name":"odd"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"latency": 3.0, "size": 10.0, "ratio": 0.5, "reqs": 7.0, "odd": 7.0}},
		},
		{
			name: "metric_descriptors: unit set when empty, overwritten with overwrite",
			cfg: Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, Descriptors: []Descriptor{
				{MetricName: "a", Unit: "Count"}, {MetricName: "b", Unit: "Seconds"}, {MetricName: "c", Unit: "Seconds", Overwrite: true}}},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				gauge(ms, "a", "", 1, nil)
				gauge(ms, "b", "ms", 1, nil)
				gauge(ms, "c", "ms", 1, nil)
			}),
			dirs: []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"a","Unit":"Count"},{"Name":"b","Unit":"Milliseconds"},{"Name":"c","Unit":"Seconds"}],"Namespace":"ns"}]`},
		},
		{
			name:    "delta sum as it is",
			cfg:     Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { sum(ms, "calls", false, 4, nil) }),
			dirs:    []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"calls"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"calls": 4.0}},
		},
		{
			name: "cumulative sum: the first value is the baseline",
			cfg:  Config{Namespace: "ns"},
			md:   build(nil, "", func(ms pmetric.MetricSlice) { sum(ms, "calls", true, 4, nil) }),
		},
		{
			name:    "cumulative sum with retain_initial_value_of_delta_metric",
			cfg:     Config{Namespace: "ns", RetainInitialValueOfDeltaMetric: true},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { sum(ms, "calls", true, 4, nil) }),
			dirs:    []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"calls"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"calls": 4.0}},
		},
		{
			name: "histogram: a statistic set",
			cfg:  Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				m := ms.AppendEmpty()
				m.SetName("dur")
				m.SetUnit("s")
				dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
				dp.SetTimestamp(ts)
				dp.SetCount(3)
				dp.SetSum(6)
				dp.SetMin(1)
				dp.SetMax(3)
				dp.ExplicitBounds().FromRaw([]float64{2})
				dp.BucketCounts().FromRaw([]uint64{1, 2})
			}),
			dirs:    []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"dur","Unit":"Seconds"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"dur": map[string]any{"Max": 3.0, "Min": 1.0, "Count": 3.0, "Sum": 6.0}}},
		},
		{
			name: "exponential histogram: bucket midpoints",
			cfg:  Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				m := ms.AppendEmpty()
				m.SetName("eh")
				dp := m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
				dp.SetTimestamp(ts)
				dp.SetScale(0) // base 2
				dp.Positive().SetOffset(1)
				dp.Positive().BucketCounts().FromRaw([]uint64{1, 0, 2}) // (2,4] and (8,16]
				dp.SetZeroCount(1)
				dp.SetCount(4)
				dp.SetSum(30)
				dp.SetMin(0)
				dp.SetMax(15)
			}),
			members: []map[string]any{{"eh": map[string]any{"Values": []any{12.0, 3.0, 0.0}, "Counts": []any{2.0, 1.0, 1.0}, "Max": 15.0, "Min": 0.0, "Count": 4.0, "Sum": 30.0}}},
		},
		{
			name:    "summary: a statistic set from the first and last quantiles",
			cfg:     Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { summary(ms) }),
			members: []map[string]any{{"sm": map[string]any{"Max": 9.0, "Min": 1.0, "Count": 5.0, "Sum": 20.0}}},
		},
		{
			name: "summary with detailed_metrics: sum, count and each quantile",
			cfg:  Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, DetailedMetrics: true},
			md:   build(nil, "", func(ms pmetric.MetricSlice) { summary(ms) }),
			dirs: []string{
				`[{"Dimensions":[[]],"Metrics":[{"Name":"sm_sum"},{"Name":"sm_count"}],"Namespace":"ns"}]`,
				`[{"Dimensions":[["quantile"]],"Metrics":[{"Name":"sm"}],"Namespace":"ns"}]`,
				`[{"Dimensions":[["quantile"]],"Metrics":[{"Name":"sm"}],"Namespace":"ns"}]`,
			},
			members: []map[string]any{{"sm_sum": 20.0, "sm_count": 5.0}, {"sm": 1.0, "quantile": "0"}, {"sm": 9.0, "quantile": "1"}},
		},
		{
			name: "metric_declarations: selectors, label matchers, dimension sets naming present attributes",
			cfg: Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, Declarations: []Declaration{
				{Dimensions: [][]string{{"b", "a"}, {"a"}, {"missing"}}, MetricNameSelectors: []string{"^lat"},
					LabelMatchers: []LabelMatcher{{LabelNames: []string{"a", "b"}, Regex: "^x;y$"}}},
				{Dimensions: [][]string{{}}, MetricNameSelectors: []string{"^size$"}},
			}},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				gauge(ms, "latency", "", 1, twoAttrs)
				gauge(ms, "size", "", 2, twoAttrs)
				gauge(ms, "other", "", 3, twoAttrs)
			}),
			dirs: []string{`[{"Dimensions":[["a","b"],["a"]],"Metrics":[{"Name":"latency"}],"Namespace":"ns"},{"Dimensions":[[]],"Metrics":[{"Name":"size"}],"Namespace":"ns"}]`},
			// "other" stays a member of the record, not a CloudWatch metric.
			members: []map[string]any{{"latency": 1.0, "size": 2.0, "other": 3.0}},
		},
		{
			name: "metric_declarations that match no attributes: the record without metadata",
			cfg: Config{Namespace: "ns", Declarations: []Declaration{{Dimensions: [][]string{{"a"}}, MetricNameSelectors: []string{".*"},
				LabelMatchers: []LabelMatcher{{LabelNames: []string{"a"}, Regex: "^nope$"}}}}},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, twoAttrs) }),
			dirs:    []string{`null`},
			members: []map[string]any{{"load": 1.0, "a": "x"}},
		},
		{
			name:    "resource_to_telemetry_conversion: the data point's attribute wins",
			cfg:     Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, ResourceToTelemetry: true},
			md:      build(map[string]any{"faas.name": "f", "a": "res"}, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, map[string]any{"a": "dp"}) }),
			dirs:    []string{`[{"Dimensions":[["a","faas.name"]],"Metrics":[{"Name":"load"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"a": "dp", "faas.name": "f"}},
		},
		{
			name:    "parse_json_encoded_attr_values: JSON members, not dimensions",
			cfg:     Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, ParseJSONEncodedAttrValues: []string{"k"}, Declarations: []Declaration{{Dimensions: [][]string{{}}, MetricNameSelectors: []string{"."}}}},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, map[string]any{"k": `{"x": 5}`}) }),
			members: []map[string]any{{"k": map[string]any{"x": 5.0}}},
		},
		{
			name:    "an attribute with an empty value is in no dimension set",
			cfg:     Config{Namespace: "ns"},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, map[string]any{"a": "x", "e": ""}) }),
			dirs:    []string{`[{"Dimensions":[[],["a"]],"Metrics":[{"Name":"load"}],"Namespace":"ns"}]`},
			members: []map[string]any{{"e": "", "a": "x"}},
		},
		{
			name: "a metric name over 255 characters stays a member only",
			cfg:  Config{Namespace: "ns", DimensionRollup: NoDimensionRollup},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				gauge(ms, strings.Repeat("n", 256), "", 1, nil)
				gauge(ms, "ok", "", 2, nil)
			}),
			dirs:    []string{`[{"Dimensions":[[]],"Metrics":[{"Name":"ok"}],"Namespace":"ns"}]`},
			members: []map[string]any{{strings.Repeat("n", 256): 1.0, "ok": 2.0}},
		},
		{
			name: "NaN is not written",
			cfg:  Config{Namespace: "ns"},
			md: build(nil, "", func(ms pmetric.MetricSlice) {
				gauge(ms, "bad", "", math.NaN(), nil)
				gauge(ms, "inf", "", math.Inf(1), nil)
			}),
		},
		{
			name:    "version 0",
			cfg:     Config{Namespace: "ns", DimensionRollup: NoDimensionRollup, Version: "0"},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, nil) }),
			dirs:    []string{`null`},
			members: []map[string]any{{"Version": "0", "Timestamp": "1700000000123", "load": 1.0, "CloudWatchMetrics": []any{map[string]any{"Namespace": "ns", "Dimensions": []any{[]any{}}, "Metrics": []any{map[string]any{"Name": "load"}}}}}},
		},
		{
			name:    "disable_metric_extraction",
			cfg:     Config{Namespace: "ns", DisableMetricExtraction: true},
			md:      build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, nil) }),
			dirs:    []string{`null`},
			members: []map[string]any{{"load": 1.0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := export(t, newExporter(t, tc.cfg), tc.md)
			n := max(len(tc.dirs), len(tc.members))
			if len(recs) != n {
				t.Fatalf("%d records, want %d: %v", len(recs), n, recs)
			}
			for i, want := range tc.dirs {
				if got := directives(recs[i]); got != want {
					t.Errorf("record %d: directives\n got %s\nwant %s", i, got, want)
				}
			}
			for i, want := range tc.members {
				for k, v := range want {
					if !reflect.DeepEqual(recs[i][k], v) {
						t.Errorf("record %d: member %q = %#v, want %#v", i, k, recs[i][k], v)
					}
				}
				if aws, ok := recs[i]["_aws"].(map[string]any); ok && aws["Timestamp"] != 1700000000123.0 {
					t.Errorf("record %d: _aws.Timestamp %v, want the data point's time", i, aws["Timestamp"])
				}
			}
		})
	}
}

func summary(ms pmetric.MetricSlice) {
	m := ms.AppendEmpty()
	m.SetName("sm")
	dp := m.SetEmptySummary().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetCount(5)
	dp.SetSum(20)
	q := dp.QuantileValues().AppendEmpty()
	q.SetQuantile(0)
	q.SetValue(1)
	q = dp.QuantileValues().AppendEmpty()
	q.SetQuantile(1)
	q.SetValue(9)
}

// TestCumulativeToDelta sends the same cumulative series three times: the
// first value is the baseline, then the differences; a lower value is a
// reset, sent as it is. Series with other attributes are separate.
func TestCumulativeToDelta(t *testing.T) {
	e := newExporter(t, Config{Namespace: "ns"})
	var got []any
	for _, v := range []int64{5, 8, 8, 3} {
		for _, r := range export(t, e, build(nil, "", func(ms pmetric.MetricSlice) { sum(ms, "calls", true, v, map[string]any{"a": "x"}) })) {
			got = append(got, r["calls"])
		}
	}
	if want := []any{3.0, 0.0, 3.0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	if recs := export(t, e, build(nil, "", func(ms pmetric.MetricSlice) { sum(ms, "calls", true, 100, map[string]any{"a": "other"}) })); len(recs) != 0 {
		t.Fatalf("a new series' first value was written: %v", recs)
	}
}

// TestLimits checks the splits: more than 100 metrics of one group, more
// than 100 buckets of an exponential histogram, a record longer than a
// Lambda log line, a dimension set over 30.
func TestLimits(t *testing.T) {
	t.Run("250 metrics make 3 records of at most 100", func(t *testing.T) {
		recs := export(t, newExporter(t, Config{Namespace: "ns", DimensionRollup: NoDimensionRollup}), build(nil, "", func(ms pmetric.MetricSlice) {
			for i := range 250 {
				gauge(ms, fmt.Sprintf("m%03d", i), "", float64(i), map[string]any{"a": "x"})
			}
		}))
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3", len(recs))
		}
		seen := 0
		for _, r := range recs {
			var d []struct{ Metrics []any }
			_ = json.Unmarshal([]byte(directives(r)), &d)
			if len(d) != 1 || len(d[0].Metrics) > MaxMetricsPerDirective {
				t.Fatalf("directives %s", directives(r))
			}
			seen += len(d[0].Metrics)
		}
		if seen != 250 {
			t.Fatalf("%d metrics in the records, want 250", seen)
		}
	})
	t.Run("250 buckets make 3 values of at most 100", func(t *testing.T) {
		recs := export(t, newExporter(t, Config{Namespace: "ns"}), build(nil, "", func(ms pmetric.MetricSlice) {
			m := ms.AppendEmpty()
			m.SetName("eh")
			dp := m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetScale(5)
			counts := make([]uint64, 250)
			for i := range counts {
				counts[i] = 1
			}
			dp.Positive().BucketCounts().FromRaw(counts)
			dp.SetCount(250)
			dp.SetSum(1000)
			dp.SetMin(1)
			dp.SetMax(300)
		}))
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3", len(recs))
		}
		var total, sums float64
		for i, r := range recs {
			v := r["eh"].(map[string]any)
			if n := len(v["Values"].([]any)); n > MaxValues || n == 0 {
				t.Fatalf("record %d: %d values", i, n)
			}
			total += v["Count"].(float64)
			sums += v["Sum"].(float64)
		}
		if total != 250 || sums != 1000 {
			t.Fatalf("counts add up to %v and sums to %v, want 250 and 1000", total, sums)
		}
		if recs[0]["eh"].(map[string]any)["Max"] != 300.0 || recs[2]["eh"].(map[string]any)["Min"] != 1.0 {
			t.Fatalf("the data point's max and min are not on the first and last values: %v / %v", recs[0]["eh"], recs[2]["eh"])
		}
	})
	t.Run("long attributes split a record by size", func(t *testing.T) {
		long := strings.Repeat("v", 80*1024)
		recs := export(t, newExporter(t, Config{Namespace: "ns", DimensionRollup: NoDimensionRollup}), build(nil, "", func(ms pmetric.MetricSlice) {
			for i := range 90 {
				gauge(ms, fmt.Sprintf("metric_with_a_long_name_%0200d", i), "", 1, map[string]any{"a": long, "b": long, "c": long})
			}
		}))
		if len(recs) < 2 {
			t.Fatalf("%d records, want the group split by size", len(recs))
		}
		n := 0
		for _, r := range recs {
			for k := range r {
				if strings.HasPrefix(k, "metric_with") {
					n++
				}
			}
		}
		if n != 90 {
			t.Fatalf("%d metrics written, want 90", n)
		}
	})
	t.Run("a dimension set over 30 is left out", func(t *testing.T) {
		attrs := map[string]any{}
		for i := range 31 {
			attrs[fmt.Sprintf("k%02d", i)] = "v"
		}
		recs := export(t, newExporter(t, Config{Namespace: "ns", DimensionRollup: SingleDimensionRollupOnly}), build(nil, "", func(ms pmetric.MetricSlice) { gauge(ms, "load", "", 1, attrs) }))
		var d []struct{ Dimensions [][]string }
		_ = json.Unmarshal([]byte(directives(recs[0])), &d)
		if len(d) != 1 || len(d[0].Dimensions) != 31 {
			t.Fatalf("want the 31 single-dimension sets and not the set of all: %s", directives(recs[0]))
		}
	})
}

// TestCheck names the option and value of each bad configuration.
func TestCheck(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{DimensionRollup: "All"}, `dimension_rollup_option "All" is not supported`},
		{Config{Version: "2"}, `version "2" is not supported`},
		{Config{Namespace: strings.Repeat("n", 256)}, "namespace: 256 characters; CloudWatch takes at most 255"},
		{Config{Declarations: []Declaration{{Dimensions: [][]string{{"a"}}}}}, "metric_declarations[0]: metric_name_selectors is empty"},
		{Config{Declarations: []Declaration{{MetricNameSelectors: []string{"("}}}}, "metric_declarations[0].metric_name_selectors: \"(\""},
		{Config{Declarations: []Declaration{{MetricNameSelectors: []string{"."}, LabelMatchers: []LabelMatcher{{Regex: "a"}}}}}, "label_matchers[0]: label_names is empty"},
		{Config{Descriptors: []Descriptor{{MetricName: "m", Unit: "ms"}}}, `metric_descriptors[0].unit: "ms" is not a CloudWatch unit`},
	}
	for _, tc := range tests {
		err := Check(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if err := Check(Config{}); err != nil {
		t.Errorf("the zero configuration: %v", err)
	}
}

// BenchmarkNew is the exporter's cost at start, with two declarations
// (their regular expressions are checked then, compiled at the first
// export).
func BenchmarkNew(b *testing.B) {
	cfg := Config{Namespace: "ns", Declarations: []Declaration{
		{Dimensions: [][]string{{"a", "b"}}, MetricNameSelectors: []string{"^http_", "^rpc_"}, LabelMatchers: []LabelMatcher{{LabelNames: []string{"a"}, Regex: "^x"}}},
		{Dimensions: [][]string{{}}, MetricNameSelectors: []string{"^faas\\."}},
	}}
	for b.Loop() {
		if _, err := New("awsemf", nil, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExport writes 100 gauges of 10 attribute sets (1000 data
// points) as EMF records.
func BenchmarkExport(b *testing.B) {
	md := build(map[string]any{"service.name": "orders"}, "lib", func(ms pmetric.MetricSlice) {
		for i := range 100 {
			for j := range 10 {
				gauge(ms, fmt.Sprintf("metric.%d", i), "ms", float64(i*j), map[string]any{"route": fmt.Sprintf("/r/%d", j), "method": "GET"})
			}
		}
	})
	e, _ := New("awsemf", nil, Config{}, nil)
	var out bytes.Buffer
	e.w = &out
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if err := e.ExportMetrics(context.Background(), md); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Len()), "bytes/export")
}
