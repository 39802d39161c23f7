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
func Decode(n *yaml.Node) (any, error) {
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, fmt.Errorf("actions is required: a list of {key or pattern, action: delete}")
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("expected a mapping with actions, got %s at line %d", kind(n), n.Line)
	}
	var actions *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "actions":
			actions = v
		case "include", "exclude":
			return nil, fmt.Errorf("%s (line %d) is not supported: the attributes processor applies its actions to every span, data point and log record", k.Value, k.Line)
		default:
			return nil, fmt.Errorf("unknown option %q (line %d); supported: actions", k.Value, k.Line)
		}
	}
	if actions != nil && actions.Kind == yaml.AliasNode {
		actions = actions.Alias
	}
	if actions == nil || actions.Kind != yaml.SequenceNode || len(actions.Content) == 0 {
		return nil, fmt.Errorf("actions: expected a non-empty list of {key or pattern, action: delete}")
	}
	cfg := &Config{}
	for i, item := range actions.Content {
		a, err := decodeAction(item)
		if err != nil {
			return nil, fmt.Errorf("actions[%d] (line %d): %w", i, item.Line, err)
		}
		cfg.Actions = append(cfg.Actions, a)
	}
	return cfg, nil
}

func decodeAction(n *yaml.Node) (Action, error) {
	var a Action
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return a, fmt.Errorf("expected a mapping {key or pattern, action: delete}, got %s", kind(n))
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "key", "pattern", "action", "value", "from_attribute", "from_context", "converted_type":
			if v.Kind != yaml.ScalarNode {
				return a, fmt.Errorf("%s: expected a string, got %s", k.Value, kind(v))
			}
			fields[k.Value] = v
		default:
			return a, fmt.Errorf("unknown option %q; supported: key, pattern, action", k.Value)
		}
	}
	action, ok := fields["action"]
	if !ok || action.Value == "" {
		return a, fmt.Errorf("action is required; supported: delete")
	}
	switch {
	case action.Value == "delete":
	case contains(unsupportedActions, action.Value):
		return a, fmt.Errorf("action %q is not supported; supported: delete", action.Value)
	default:
		return a, fmt.Errorf("unknown action %q; supported: delete", action.Value)
	}
	for _, f := range []string{"value", "from_attribute", "from_context", "converted_type"} {
		if _, ok := fields[f]; ok {
			return a, fmt.Errorf("action delete takes key or pattern, not %s", f)
		}
	}
	if k := fields["key"]; k != nil {
		a.Key = k.Value
	}
	if p := fields["pattern"]; p != nil && p.Value != "" {
		re, err := regexp.Compile(p.Value)
		if err != nil {
			return a, fmt.Errorf("pattern %q is not a valid regular expression: %v", p.Value, err)
		}
		a.Pattern = re
	}
	if a.Key == "" && a.Pattern == nil {
		return a, fmt.Errorf("action delete needs key or pattern")
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kind names a node's kind for messages.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
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
