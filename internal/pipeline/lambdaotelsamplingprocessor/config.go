package lambdaotelsamplingprocessor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Type is the processor's type in the configuration.
const Type = "lambdaotel_sampling"

// Factory registers the type "lambdaotel_sampling".
var Factory = processor.Factory{Type: Type, Decode: Decode, New: New}

// Config is the processor's configuration: the rules that keep an
// invocation, in the order they are tried, and the share of the rest kept.
type Config struct {
	// Errors keeps invocations that failed: platform.runtimeDone's status
	// error or failure, no runtimeDone at all, or a span of the invocation
	// with status ERROR. Default true.
	Errors bool
	// Timeouts keeps invocations that timed out. Default true.
	Timeouts bool
	// ColdStarts keeps the first invocation after an init. Default true.
	ColdStarts bool
	// SlowerThan keeps invocations whose runtime took at least this long;
	// 0 (the default) turns the rule off.
	SlowerThan time.Duration
	// SpanConditions keep an invocation when a span of it matches one of
	// them (OTTL conditions in the span context).
	SpanConditions []*ottlsubset.Condition
	// Percentage is the share, from 0 to 100, of the other invocations
	// kept, decided on the trace id. Required.
	Percentage float64
	// Logs also samples the invocation's log records (in logs pipelines);
	// default false: log records pass as they are.
	Logs bool
}

// keys are the processor's options.
var keys = []string{"errors", "timeouts", "cold_starts", "slower_than", "span_conditions", "percentage", "logs"}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	var rules []string
	if c.Errors {
		rules = append(rules, "errors")
	}
	if c.Timeouts {
		rules = append(rules, "timeouts")
	}
	if c.ColdStarts {
		rules = append(rules, "cold starts")
	}
	if c.SlowerThan > 0 {
		rules = append(rules, "slower than "+c.SlowerThan.String())
	}
	for _, sc := range c.SpanConditions {
		rules = append(rules, fmt.Sprintf("spans where %s", sc))
	}
	what := "spans"
	if c.Logs {
		what = "spans and log records"
	}
	if len(rules) == 0 {
		rules = append(rules, "nothing by rule")
	}
	return fmt.Sprintf("lambdaotel_sampling: per invocation (%s), keeps %s, and %s%% of the rest by trace id",
		what, strings.Join(rules, ", "), strconv.FormatFloat(c.Percentage, 'g', -1, 64))
}

// Decode reads and validates the processor's options.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, keys)
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	cfg := &Config{Errors: true, Timeouts: true, ColdStarts: true}
	for k, dst := range map[string]*bool{"errors": &cfg.Errors, "timeouts": &cfg.Timeouts, "cold_starts": &cfg.ColdStarts, "logs": &cfg.Logs} {
		if e, ok := f[k]; ok && !processor.IsNull(e.Value) {
			*dst = d.Bool(e.Value, path+"."+k)
		}
	}
	if e, ok := f["slower_than"]; ok {
		cfg.SlowerThan = d.Duration(e.Value, path+".slower_than")
	}
	if e, ok := f["span_conditions"]; ok {
		srcs, nodes := d.List(e.Value, path+".span_conditions")
		for i, src := range srcs {
			c, err := ottlsubset.ParseCondition(ottlsubset.Span, src)
			if err != nil {
				d.Errorf(nodes[i], "%s.span_conditions[%d]: %v", path, i, err)
				continue
			}
			cfg.SpanConditions = append(cfg.SpanConditions, c)
		}
	}
	e, ok := f["percentage"]
	if !ok || processor.IsNull(e.Value) {
		d.Errorf(key, "%s: percentage is required: the share (0 to 100) of the invocations no rule keeps that is kept, decided on the trace id, e.g. percentage: 10", path)
		return cfg
	}
	s, ok := d.Scalar(e.Value, path+".percentage")
	if !ok {
		return cfg
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || p < 0 || p > 100 || p != p {
		d.Errorf(e.Value, "%s.percentage: expected a number from 0 to 100, got %q", path, s)
		return cfg
	}
	cfg.Percentage = p
	return cfg
}
