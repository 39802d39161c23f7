package filterprocessor

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// ErrorMode says what an evaluation error of a condition does, with the
// collector's values.
type ErrorMode string

// The error modes. Ignore is the collector's default (since
// collector-contrib v0.146).
const (
	// Ignore: the condition is not met; the error is logged.
	Ignore ErrorMode = "ignore"
	// Silent: the condition is not met; nothing is logged.
	Silent ErrorMode = "silent"
	// Propagate: the processor fails, and the batch is dropped.
	Propagate ErrorMode = "propagate"
)

// Config is the processor's configuration: per signal, groups of
// conditions; an item is dropped if any condition of any group holds.
type Config struct {
	ErrorMode ErrorMode
	Traces    []Group
	Metrics   []Group
	Logs      []Group
}

// Group is a list of conditions with its error mode, sorted by the level
// they drop: a resource with all it holds, a scope with all it holds, an
// item (span, metric, log record), a sub-item (span event, data point).
type Group struct {
	ErrorMode ErrorMode
	Resource  []*ottlsubset.Condition
	Scope     []*ottlsubset.Condition
	Item      []*ottlsubset.Condition
	Sub       []*ottlsubset.Condition
}

func (g *Group) count() int { return len(g.Resource) + len(g.Scope) + len(g.Item) + len(g.Sub) }

// String describes the configuration for `config check`.
func (c *Config) String() string {
	var parts []string
	for _, s := range []struct {
		name   string
		groups []Group
	}{{"traces", c.Traces}, {"metrics", c.Metrics}, {"logs", c.Logs}} {
		n := 0
		for i := range s.groups {
			n += s.groups[i].count()
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d conditions", s.name, n))
		}
	}
	if len(parts) == 0 {
		return "filter: no conditions (drops nothing)"
	}
	return fmt.Sprintf("filter (error_mode %s): drops what matches; %s", c.ErrorMode, strings.Join(parts, ", "))
}

// signal describes one signal's configuration keys and contexts.
type signal struct {
	name       string // traces, metrics, logs
	conditions string // trace_conditions, ...
	// contexts available in <signal>_conditions, and the level each drops.
	contexts []ottlsubset.Context
	item     ottlsubset.Context
	sub      ottlsubset.Context // "" for logs
	// legacy keys under traces/metrics/logs and their contexts.
	legacy map[string]ottlsubset.Context
	// example of a condition on the item, for messages.
	example string
}

var (
	tracesSignal = signal{
		name: "traces", conditions: "trace_conditions",
		contexts: []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Span, ottlsubset.SpanEvent},
		item:     ottlsubset.Span, sub: ottlsubset.SpanEvent,
		legacy:  map[string]ottlsubset.Context{"resource": ottlsubset.Resource, "span": ottlsubset.Span, "spanevent": ottlsubset.SpanEvent},
		example: `span.name == "GET /health"`,
	}
	metricsSignal = signal{
		name: "metrics", conditions: "metric_conditions",
		contexts: []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Metric, ottlsubset.DataPoint},
		item:     ottlsubset.Metric, sub: ottlsubset.DataPoint,
		legacy:  map[string]ottlsubset.Context{"resource": ottlsubset.Resource, "metric": ottlsubset.Metric, "datapoint": ottlsubset.DataPoint},
		example: `metric.name == "hello_world"`,
	}
	logsSignal = signal{
		name: "logs", conditions: "log_conditions",
		contexts: []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Log},
		item:     ottlsubset.Log,
		legacy:   map[string]ottlsubset.Context{"resource": ottlsubset.Resource, "log_record": ottlsubset.Log},
		example:  `log.severity_number < SEVERITY_NUMBER_WARN`,
	}
)

// legacyKeys are the keys under traces/metrics/logs, in the order of
// messages.
var legacyKeys = map[string][]string{
	"traces":  {"resource", "span", "spanevent"},
	"metrics": {"resource", "metric", "datapoint", "include", "exclude", "regexp"},
	"logs":    {"resource", "log_record", "include", "exclude"},
}

// matchHint says how to write the include/exclude match form as
// conditions, per signal.
var matchHint = map[string]string{
	"spans": `write the match as trace_conditions, which drop what they match: exclude services [a, b] → 'IsMatch(resource.attributes["service.name"], "^(a|b)$")'; ` +
		`span_names [x] → 'span.name == "x"'; attributes {key: k, value: v} → 'span.attributes["k"] == "v"'; include → 'not (...)'`,
	"metrics": `write the match as metric_conditions, which drop what they match: exclude metric_names [x] (strict) → 'metric.name == "x"', (regexp) → 'IsMatch(metric.name, "x")'; ` +
		`resource_attributes {key: k, value: v} → 'resource.attributes["k"] == "v"'; include → 'not (...)'`,
	"logs": `write the match as log_conditions, which drop what they match: exclude bodies [x] → 'IsMatch(log.body, "x")'; severity_texts [x] → 'log.severity_text == "x"'; ` +
		`record_attributes {key: k, value: v} → 'log.attributes["k"] == "v"'; include severity_number {min: WARN} → 'log.severity_number < SEVERITY_NUMBER_WARN'`,
}

// Decode reads the processor's options: error_mode, the condition lists
// trace_conditions, metric_conditions and log_conditions (strings, or
// groups of {context, error_mode, conditions}), and the older per-context
// lists traces.{resource,span,spanevent}, metrics.{resource,metric,
// datapoint} and logs.{resource,log_record}.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"error_mode", "trace_conditions", "metric_conditions", "log_conditions", "traces", "metrics", "logs", "spans", "profile_conditions", "profiles"})
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	cfg := &Config{ErrorMode: Ignore}
	if e, ok := f["error_mode"]; ok {
		if m := decodeErrorMode(d, e.Value, path+".error_mode"); m != "" {
			cfg.ErrorMode = m
		}
	}
	for _, k := range []string{"profile_conditions", "profiles"} {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s.%s: profiles are not a signal lambdaotel carries; remove it", path, k)
		}
	}
	if e, ok := f["spans"]; ok {
		d.Errorf(e.Key, "%s.spans: the include/exclude match form is not supported; %s", path, matchHint["spans"])
	}
	for _, s := range []struct {
		sig signal
		out *[]Group
	}{{tracesSignal, &cfg.Traces}, {metricsSignal, &cfg.Metrics}, {logsSignal, &cfg.Logs}} {
		cond, hasCond := f[s.sig.conditions]
		legacy, hasLegacy := f[s.sig.name]
		if hasCond && hasLegacy {
			d.Errorf(legacy.Key, "%s: use either %s or %s, not both (the collector would ignore %s)", path, s.sig.conditions, s.sig.name, s.sig.name)
			continue
		}
		if hasCond {
			*s.out = decodeConditions(d, s.sig, cond.Value, path+"."+s.sig.conditions, cfg.ErrorMode)
		}
		if hasLegacy {
			if g, ok := decodeLegacy(d, s.sig, legacy.Value, path+"."+s.sig.name, cfg.ErrorMode); ok {
				*s.out = []Group{g}
			}
		}
	}
	return cfg
}

func decodeErrorMode(d processor.Decoder, n *yaml.Node, path string) ErrorMode {
	return ErrorMode(strings.ToLower(d.OneOf(n, path, string(Ignore), string(Silent), string(Propagate))))
}

// decodeConditions reads <signal>_conditions: a list of strings (one
// group, each condition's context inferred from its paths) or a list of
// groups {context, error_mode, conditions}.
func decodeConditions(d processor.Decoder, sig signal, n *yaml.Node, path string, mode ErrorMode) []Group {
	n = processor.Deref(n)
	if processor.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%s: expected a list of conditions or of {context, error_mode, conditions}, got %s", path, processor.Describe(n))
		return nil
	}
	var basic, advanced bool
	for _, item := range n.Content {
		if processor.Deref(item).Kind == yaml.MappingNode {
			advanced = true
		} else {
			basic = true
		}
	}
	if basic && advanced {
		d.Errorf(n, "%s: configuring multiple configuration styles is not supported: write only conditions (strings) or only groups {context, error_mode, conditions}", path)
		return nil
	}
	if basic {
		g := Group{ErrorMode: mode}
		for i, item := range n.Content {
			addCondition(d, sig, &g, "", item, fmt.Sprintf("%s[%d]", path, i))
		}
		return []Group{g}
	}
	var groups []Group
	for i, item := range n.Content {
		gpath := fmt.Sprintf("%s[%d]", path, i)
		nerr := d.Mistakes()
		gf := d.Fields(item, gpath, []string{"context", "error_mode", "conditions"})
		if d.Mistakes() > nerr {
			continue
		}
		g := Group{ErrorMode: mode}
		if e, ok := gf["error_mode"]; ok {
			if m := decodeErrorMode(d, e.Value, gpath+".error_mode"); m != "" {
				g.ErrorMode = m
			}
		}
		var ctx ottlsubset.Context
		if e, ok := gf["context"]; ok {
			names := make([]string, len(sig.contexts))
			for i, c := range sig.contexts {
				names[i] = string(c)
			}
			if ctx = ottlsubset.Context(strings.ToLower(d.OneOf(e.Value, gpath+".context", names...))); ctx == "" {
				continue
			}
		}
		conds := processor.Deref(gf["conditions"].Value)
		if processor.IsNull(conds) {
			d.Errorf(processor.Deref(item), "%s: conditions is required: a list of conditions", gpath)
			continue
		}
		if conds.Kind != yaml.SequenceNode {
			d.Errorf(conds, "%s.conditions: expected a list of conditions, got %s", gpath, processor.Describe(conds))
			continue
		}
		for j, c := range conds.Content {
			addCondition(d, sig, &g, ctx, c, fmt.Sprintf("%s.conditions[%d]", gpath, j))
		}
		groups = append(groups, g)
	}
	return groups
}

// decodeLegacy reads traces/metrics/logs: a list of conditions per
// context, without context prefixes needed; include/exclude are refused.
func decodeLegacy(d processor.Decoder, sig signal, n *yaml.Node, path string, mode ErrorMode) (Group, bool) {
	g := Group{ErrorMode: mode}
	nerr := d.Mistakes()
	f := d.Fields(n, path, legacyKeys[sig.name])
	for _, k := range []string{"include", "exclude", "regexp"} {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s.%s: the include/exclude match form is not supported; %s", path, k, matchHint[sig.name])
		}
	}
	for _, k := range legacyKeys[sig.name] {
		ctx, ok := sig.legacy[k]
		e, given := f[k]
		if !ok || !given {
			continue
		}
		list := processor.Deref(e.Value)
		if processor.IsNull(list) {
			continue
		}
		if list.Kind != yaml.SequenceNode {
			d.Errorf(list, "%s.%s: expected a list of conditions, got %s", path, k, processor.Describe(list))
			continue
		}
		for i, c := range list.Content {
			addCondition(d, sig, &g, ctx, c, fmt.Sprintf("%s.%s[%d]", path, k, i))
		}
	}
	return g, d.Mistakes() == nerr
}

// addCondition parses one condition in ctx, or in the context its paths
// infer when ctx is empty, and adds it to the level that context drops.
func addCondition(d processor.Decoder, sig signal, g *Group, ctx ottlsubset.Context, n *yaml.Node, path string) {
	n = processor.Deref(n)
	src, ok := d.Scalar(n, path)
	if !ok {
		return
	}
	if processor.IsNull(n) || strings.TrimSpace(src) == "" {
		d.Errorf(n, "%s: condition cannot be empty", path)
		return
	}
	if ctx == "" {
		var err error
		if ctx, err = ottlsubset.Infer(sig.contexts, []string{src}, nil); err != nil {
			d.Errorf(n, "%s: %v", path, err)
			return
		}
	}
	c, err := ottlsubset.ParseCondition(ctx, src)
	if err != nil {
		d.Errorf(n, "%s: %v", path, err)
		return
	}
	switch ctx {
	case ottlsubset.Resource:
		g.Resource = append(g.Resource, c)
	case ottlsubset.Scope:
		g.Scope = append(g.Scope, c)
	case sig.item:
		g.Item = append(g.Item, c)
	case sig.sub:
		g.Sub = append(g.Sub, c)
	}
}
