// Package awsemfexporter writes metrics as CloudWatch Embedded Metric
// Format (EMF) records, one JSON object per line. In Lambda the extension
// writes them to its standard output, which Lambda sends to the function's
// log stream, where CloudWatch Logs extracts the metrics: no network call,
// no IAM permission.
//
// The translation follows the collector's awsemf exporter (its
// configuration keys, defaults and rules), with these Lambda differences:
// records always go to the writer given to New (the function's log
// stream), so log_group_name and log_stream_name cannot be honoured; the
// state that turns cumulative sums into deltas lives as long as the
// execution environment.
//
// Rules, per OTLP metric type:
//   - gauge: the value.
//   - sum, delta: the value. Sum, cumulative: the difference to the
//     previous value of the same series (metric name, attributes,
//     namespace) seen by this exporter; the first value of a series is
//     kept only as the baseline unless RetainInitialValueOfDeltaMetric is
//     set; a value lower than the previous one (a reset) is sent as it is.
//   - histogram: a statistic set {Max, Min, Count, Sum} of the data point
//     as it is (cumulative histograms are not turned into deltas, as
//     upstream).
//   - exponential histogram: {Values, Counts, Max, Min, Count, Sum}, one
//     value per non-empty bucket (the bucket's midpoint), at most 100 per
//     record; more buckets make more records, the sum on the first.
//   - summary: a statistic set whose Min and Max are the first and last
//     quantiles; with DetailedMetrics, NAME_sum, NAME_count and one value
//     per quantile with the dimension "quantile". Sum and count are turned
//     into deltas only for data of a Prometheus receiver (resource
//     attribute receiver=prometheus), as upstream.
//
// Data points flagged "no recorded value", or holding NaN or infinities,
// are not written (CloudWatch refuses them); each such metric is named in
// a warning once.
package awsemfexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"regexp/syntax"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Rollup is a dimension_rollup_option: which dimension sets are added to
// the one holding every attribute of a data point.
type Rollup string

// The rollup options, spelled as in the collector's configuration.
const (
	// ZeroAndSingleDimensionRollup adds the set without attributes and one
	// set per attribute (the default).
	ZeroAndSingleDimensionRollup Rollup = "ZeroAndSingleDimensionRollup"
	// SingleDimensionRollupOnly adds one set per attribute.
	SingleDimensionRollupOnly Rollup = "SingleDimensionRollupOnly"
	// NoDimensionRollup adds nothing.
	NoDimensionRollup Rollup = "NoDimensionRollup"
)

// Limits of the format, from CloudWatch's EMF specification and Lambda's
// log lines.
const (
	// MaxMetricsPerDirective is the most metrics one MetricDirective may
	// name; a group with more is written as several records.
	MaxMetricsPerDirective = 100
	// MaxDimensionsPerSet is the most dimensions one dimension set may
	// hold; larger sets are left out, with a warning.
	MaxDimensionsPerSet = 30
	// MaxValues is the most values (and counts) one metric may carry.
	MaxValues = 100
	// MaxRecordBytes is the longest record written, newline included:
	// Lambda cuts longer log lines, and a cut record is not JSON.
	MaxRecordBytes = 256 * 1024
)

// OTelLibDimension is the dimension that carries the instrumentation
// scope's name, as upstream adds it to every data point of a named scope.
const OTelLibDimension = "OTelLib"

// Config is the exporter's configuration.
type Config struct {
	// Namespace is the CloudWatch namespace. Empty: the resource's
	// service.namespace/service.name (either alone if only one is set),
	// else "default".
	Namespace string
	// DimensionRollup is the dimension_rollup_option ("" means
	// ZeroAndSingleDimensionRollup).
	DimensionRollup Rollup
	// Declarations, when set, choose the metrics that become CloudWatch
	// metrics and their dimension sets (metric_declarations).
	Declarations []Declaration
	// Descriptors override units (metric_descriptors).
	Descriptors []Descriptor
	// ResourceToTelemetry copies the resource's attributes onto every data
	// point (an attribute of the data point wins).
	ResourceToTelemetry bool
	// DetailedMetrics writes each quantile of a summary as a value of its
	// own.
	DetailedMetrics bool
	// Version is the EMF version: "1" (default, the _aws metadata) or "0"
	// (the CloudWatch agent's older form, top-level CloudWatchMetrics).
	Version string
	// RetainInitialValueOfDeltaMetric sends the first value of a cumulative
	// series instead of keeping it only as the baseline.
	RetainInitialValueOfDeltaMetric bool
	// ParseJSONEncodedAttrValues names attributes whose string values are
	// JSON, written as JSON rather than as strings.
	ParseJSONEncodedAttrValues []string
	// DisableMetricExtraction writes the records without the metadata that
	// makes CloudWatch extract metrics: the values stay in the log only.
	DisableMetricExtraction bool
}

// Declaration is one metric_declarations rule.
type Declaration struct {
	// Dimensions are the dimension sets of the metrics the rule takes; a
	// set naming an attribute a data point lacks is left out for it.
	Dimensions [][]string
	// MetricNameSelectors are regular expressions; a metric whose name one
	// of them matches is taken.
	MetricNameSelectors []string
	// LabelMatchers, if any, must match (one of them) for the rule to
	// apply to a data point.
	LabelMatchers []LabelMatcher
}

// LabelMatcher matches the values of some attributes, joined by
// Separator (default ";"), against Regex.
type LabelMatcher struct {
	LabelNames []string
	Separator  string
	Regex      string
}

// Descriptor sets the unit of a metric (metric_descriptors): when the
// metric has none, or always with Overwrite.
type Descriptor struct {
	MetricName string
	Unit       string
	Overwrite  bool
}

// Units are the units CloudWatch accepts, the values of MetricDatum.Unit.
var Units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
	"Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
	"Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
	"Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// Exporter writes metrics as EMF records to a writer. Its methods may be
// called from several goroutines; each export is one Write.
type Exporter struct {
	name string
	cfg  Config
	log  *slog.Logger

	mu     sync.Mutex
	w      io.Writer
	once   sync.Once
	decls  []declaration // compiled at the first export, not at start
	units  map[string]Descriptor
	deltas *deltas
	warned map[string]bool
	buf    bytes.Buffer
}

var _ pipeline.Exporter = (*Exporter)(nil)

// New returns an exporter named name that writes to w. Regular
// expressions are compiled at the first export; Check reports bad ones
// beforehand.
func New(name string, w io.Writer, cfg Config, logger *slog.Logger) (*Exporter, error) {
	if err := Check(cfg); err != nil {
		return nil, fmt.Errorf("exporter %s: %w", name, err)
	}
	if cfg.DimensionRollup == "" {
		cfg.DimensionRollup = ZeroAndSingleDimensionRollup
	}
	if cfg.Version == "" {
		cfg.Version = "1"
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Exporter{name: name, cfg: cfg, log: logger, w: w, deltas: newDeltas(maxSeries), warned: map[string]bool{}}, nil
}

// Check reports what is wrong with cfg, naming the option and the value.
func Check(cfg Config) error {
	var errs []error
	switch cfg.DimensionRollup {
	case "", ZeroAndSingleDimensionRollup, SingleDimensionRollupOnly, NoDimensionRollup:
	default:
		errs = append(errs, fmt.Errorf("dimension_rollup_option %q is not supported; use ZeroAndSingleDimensionRollup, SingleDimensionRollupOnly or NoDimensionRollup", cfg.DimensionRollup))
	}
	if len(cfg.Namespace) > maxName {
		errs = append(errs, fmt.Errorf("namespace: %d characters; CloudWatch takes at most %d", len(cfg.Namespace), maxName))
	}
	switch cfg.Version {
	case "", "0", "1":
	default:
		errs = append(errs, fmt.Errorf("version %q is not supported; use \"1\" or \"0\"", cfg.Version))
	}
	for i, d := range cfg.Declarations {
		if len(d.MetricNameSelectors) == 0 {
			errs = append(errs, fmt.Errorf("metric_declarations[%d]: metric_name_selectors is empty: the rule would take no metric", i))
		}
		for _, s := range d.MetricNameSelectors {
			if err := checkRegexp(s); err != nil {
				errs = append(errs, fmt.Errorf("metric_declarations[%d].metric_name_selectors: %q: %v", i, s, err))
			}
		}
		for j, set := range d.Dimensions {
			if len(set) > MaxDimensionsPerSet {
				errs = append(errs, fmt.Errorf("metric_declarations[%d].dimensions[%d]: %d dimensions; CloudWatch takes at most %d per set", i, j, len(set), MaxDimensionsPerSet))
			}
		}
		for j, m := range d.LabelMatchers {
			if len(m.LabelNames) == 0 {
				errs = append(errs, fmt.Errorf("metric_declarations[%d].label_matchers[%d]: label_names is empty", i, j))
			}
			if err := checkRegexp(m.Regex); err != nil {
				errs = append(errs, fmt.Errorf("metric_declarations[%d].label_matchers[%d].regex: %q: %v", i, j, m.Regex, err))
			}
		}
	}
	for i, d := range cfg.Descriptors {
		if d.MetricName == "" {
			errs = append(errs, fmt.Errorf("metric_descriptors[%d]: metric_name is empty", i))
		}
		if !isUnit(d.Unit) {
			errs = append(errs, fmt.Errorf("metric_descriptors[%d].unit: %q is not a CloudWatch unit; use one of %v", i, d.Unit, Units))
		}
	}
	return errors.Join(errs...)
}

// checkRegexp parses a regular expression without compiling it (that is
// done at the first export, off the start path), with regexp.Compile's
// syntax and error.
func checkRegexp(s string) error {
	_, err := syntax.Parse(s, syntax.Perl)
	return err
}

func isUnit(u string) bool {
	for _, v := range Units {
		if v == u {
			return true
		}
	}
	return false
}

// Name returns the exporter's name.
func (e *Exporter) Name() string { return e.name }

// Shutdown does nothing: the writer belongs to the caller.
func (e *Exporter) Shutdown(context.Context) error { return nil }

// ExportTraces refuses: the exporter takes metrics only.
func (e *Exporter) ExportTraces(context.Context, ptrace.Traces) error {
	return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Traces, Err: errors.New("awsemf exports metrics only")}
}

// ExportLogs refuses: the exporter takes metrics only.
func (e *Exporter) ExportLogs(context.Context, plog.Logs) error {
	return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Logs, Err: errors.New("awsemf exports metrics only")}
}

// ExportMetrics writes md as EMF records, one line each, in one Write.
func (e *Exporter) ExportMetrics(_ context.Context, md pmetric.Metrics) error {
	e.once.Do(e.compile)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf.Reset()
	for _, r := range e.records(md) {
		e.buf.Write(r)
		e.buf.WriteByte('\n')
	}
	if e.buf.Len() == 0 {
		return nil
	}
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return &pipeline.ExportError{Exporter: e.name, Signal: pipeline.Metrics, Err: fmt.Errorf("write EMF records: %w", err)}
	}
	return nil
}

// warnOnce logs a warning the first time key is seen.
func (e *Exporter) warnOnce(key, msg string, args ...any) {
	if e.warned[key] {
		return
	}
	if len(e.warned) < 1000 {
		e.warned[key] = true
	}
	e.log.Warn(msg, args...)
}

// declaration is a compiled Declaration.
type declaration struct {
	dims      [][]string // each sorted, no duplicates
	selectors []*regexp.Regexp
	matchers  []matcher
}

type matcher struct {
	names []string
	sep   string
	re    *regexp.Regexp
}

// compile compiles the declarations' regular expressions and indexes the
// descriptors (Check has accepted them).
func (e *Exporter) compile() {
	for _, d := range e.cfg.Declarations {
		var c declaration
		seen := map[string]bool{}
		for _, set := range d.Dimensions {
			s := sortedUnique(set)
			if k := joinKey(s); !seen[k] {
				seen[k] = true
				c.dims = append(c.dims, s)
			}
		}
		for _, s := range d.MetricNameSelectors {
			c.selectors = append(c.selectors, regexp.MustCompile(s))
		}
		for _, m := range d.LabelMatchers {
			sep := m.Separator
			if sep == "" {
				sep = ";"
			}
			c.matchers = append(c.matchers, matcher{names: m.LabelNames, sep: sep, re: regexp.MustCompile(m.Regex)})
		}
		e.decls = append(e.decls, c)
	}
	e.units = map[string]Descriptor{}
	for _, d := range e.cfg.Descriptors {
		e.units[d.MetricName] = d
	}
}
