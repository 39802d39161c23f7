// Package attributesprocessor implements the collector's "attributes"
// processor for its delete action: every span's, data point's and log
// record's attributes named by a key, or whose key matches a pattern, are
// removed, in place. Its other actions (insert, update, upsert, hash,
// extract, convert) and its include/exclude matching are refused with an
// error that names them.
package attributesprocessor

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "attributes".
var Factory = processor.Factory{Type: "attributes", Decode: Decode, New: New}

// Config is the processor's configuration: its actions, in order.
type Config struct {
	Actions []Action
}

// Action deletes the attribute Key, and every attribute whose key matches
// Pattern (a Go regular expression, unanchored, as upstream); at least one
// of them is set.
type Action struct {
	Key     string
	Pattern *regexp.Regexp
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	parts := make([]string, 0, len(c.Actions))
	for _, a := range c.Actions {
		if a.Key != "" {
			parts = append(parts, "delete "+a.Key)
		}
		if a.Pattern != nil {
			parts = append(parts, fmt.Sprintf("delete keys matching %q", a.Pattern.String()))
		}
	}
	return "attributes: " + strings.Join(parts, "; ")
}

// unsupportedActions are the upstream actions this processor does not do.
var unsupportedActions = []string{"insert", "update", "upsert", "hash", "extract", "convert"}

// Decode reads the processor's options: actions, a list of {key or
// pattern, action: delete}.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"actions", "include", "exclude"})
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	for _, k := range []string{"include", "exclude"} {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s.%s: not supported: the attributes processor applies its actions to every span, data point and log record", path, k)
		}
	}
	a, ok := f["actions"]
	if !ok || processor.IsNull(a.Value) {
		d.Errorf(key, "%s: actions is required: a list of {key or pattern, action: delete}", path)
		return nil
	}
	items := processor.Deref(a.Value)
	if items.Kind != yaml.SequenceNode || len(items.Content) == 0 {
		d.Errorf(items, "%s.actions: expected a non-empty list of {key or pattern, action: delete}, got %s", path, processor.Describe(items))
		return nil
	}
	cfg := &Config{}
	for i, item := range items.Content {
		if act, ok := decodeAction(d, processor.Deref(item), fmt.Sprintf("%s.actions[%d]", path, i)); ok {
			cfg.Actions = append(cfg.Actions, act)
		}
	}
	return cfg
}

func decodeAction(d processor.Decoder, n *yaml.Node, path string) (Action, bool) {
	var a Action
	nerr := d.Mistakes()
	f := d.Fields(n, path, []string{"key", "pattern", "action", "value", "from_attribute", "from_context", "converted_type"})
	if d.Mistakes() > nerr {
		return a, false
	}
	action, _ := d.Scalar(f["action"].Value, path+".action")
	switch {
	case action == "":
		d.Errorf(n, "%s: action is required; supported: delete", path)
		return a, false
	case action == "delete":
	case slices.Contains(unsupportedActions, action):
		d.Errorf(f["action"].Value, "%s.action: %q is not supported; supported: delete", path, action)
		return a, false
	default:
		d.Errorf(f["action"].Value, "%s.action: unknown action %q; supported: delete", path, action)
		return a, false
	}
	for _, k := range []string{"value", "from_attribute", "from_context", "converted_type"} {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s: action delete takes key or pattern, not %s", path, k)
		}
	}
	a.Key, _ = d.Scalar(f["key"].Value, path+".key")
	if pattern, _ := d.Scalar(f["pattern"].Value, path+".pattern"); pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			d.Errorf(f["pattern"].Value, "%s.pattern: %q is not a valid regular expression: %v", path, pattern, err)
		}
		a.Pattern = re
	}
	if f["key"].Value == nil && f["pattern"].Value == nil {
		d.Errorf(n, "%s: action delete needs key or pattern", path)
	}
	return a, d.Mistakes() == nerr
}

// Processor deletes attributes. It keeps no state and is safe for
// concurrent use on different batches.
type Processor struct {
	actions []Action
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok || len(c.Actions) == 0 {
		return nil, fmt.Errorf("attributes processor: no actions (configuration %T)", cfg)
	}
	return &Processor{actions: c.Actions}, nil
}

// apply runs the actions on one attribute map.
func (p *Processor) apply(m pcommon.Map) {
	for _, a := range p.actions {
		if a.Key != "" {
			m.Remove(a.Key)
		}
		if a.Pattern != nil {
			m.RemoveIf(func(k string, _ pcommon.Value) bool { return a.Pattern.MatchString(k) })
		}
	}
}

// ProcessTraces deletes attributes of every span.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				p.apply(spans.At(k).Attributes())
			}
		}
	}
	return nil
}

// ProcessLogs deletes attributes of every log record.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				p.apply(lrs.At(k).Attributes())
			}
		}
	}
	return nil
}

// ProcessMetrics deletes attributes of every data point.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				p.metric(ms.At(k))
			}
		}
	}
	return nil
}

func (p *Processor) metric(m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			p.apply(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := range dps.Len() {
			p.apply(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			p.apply(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := range dps.Len() {
			p.apply(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			p.apply(dps.At(i).Attributes())
		}
	}
}
