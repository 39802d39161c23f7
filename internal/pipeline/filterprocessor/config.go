package filterprocessor

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/matchspec"
	"github.com/lambdaotel/lambdaotel/internal/ottlconfig"
	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Config is the processor's configuration: per signal, groups of
// conditions, an item being dropped if any condition of any group holds;
// or the include/exclude match form, an item being dropped if include is
// set and does not match it or exclude is set and matches it.
type Config struct {
	ErrorMode ottlsubset.ErrorMode
	Traces    []Group
	Metrics   []Group
	Logs      []Group

	// SpanMatch (spans), MetricMatch (metrics) and LogMatch (logs) are the
	// match form; a signal has either groups or a match.
	SpanMatch, MetricMatch, LogMatch matchspec.Config
}

// Group is a list of conditions with its error mode, sorted by the level
// they drop: a resource with all it holds, a scope with all it holds, an
// item (span, metric, log record), a sub-item (span event, data point).
type Group struct {
	ErrorMode ottlsubset.ErrorMode
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
		match  matchspec.Config
	}{{"traces", c.Traces, c.SpanMatch}, {"metrics", c.Metrics, c.MetricMatch}, {"logs", c.Logs, c.LogMatch}} {
		if !s.match.Empty() {
			parts = append(parts, fmt.Sprintf("%s: %s", s.name, s.match))
			continue
		}
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
	return fmt.Sprintf("filter (error_mode %s): drops what matches (what include does not); %s", c.ErrorMode, strings.Join(parts, "; "))
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

// matchNames are the keys of the include/exclude blocks of metrics and
// logs, by the matchspec property they set (upstream's
// MetricMatchProperties and LogMatchProperties).
var matchNames = map[string]map[string]string{
	"metrics": {"match_type": "match_type", "regexp": "regexp", "metric_names": "metric_names", "resources": "resource_attributes"},
	"logs": {"match_type": "match_type", "log_bodies": "bodies", "log_severity_texts": "severity_texts", "log_severity_number": "severity_number",
		"attributes": "record_attributes", "resources": "resource_attributes"},
}

// Decode reads the processor's options: error_mode, the condition lists
// trace_conditions, metric_conditions and log_conditions (strings, or
// groups of {context, error_mode, conditions}), the older per-context
// lists traces.{resource,span,spanevent}, metrics.{resource,metric,
// datapoint} and logs.{resource,log_record}, and the match form
// spans.{include,exclude}, metrics.{include,exclude,regexp} and
// logs.{include,exclude}.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"error_mode", "trace_conditions", "metric_conditions", "log_conditions", "traces", "metrics", "logs", "spans", "profile_conditions", "profiles"})
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	cfg := &Config{ErrorMode: ottlsubset.ErrorIgnore}
	if e, ok := f["error_mode"]; ok {
		if m := ottlconfig.ErrorMode(d, e.Value, path+".error_mode"); m != "" {
			cfg.ErrorMode = m
		}
	}
	for _, k := range []string{"profile_conditions", "profiles"} {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s.%s: profiles are not a signal lambdaotel carries; remove it", path, k)
		}
	}
	if e, ok := f["spans"]; ok {
		cfg.SpanMatch = decodeSpans(d, e, path+".spans")
		for _, k := range []string{"trace_conditions", "traces"} {
			if _, given := f[k]; given {
				d.Errorf(e.Key, "%s: use either %s or spans (include/exclude), not both (the collector refuses both)", path, k)
			}
		}
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
			if g, ok := decodeLegacy(d, s.sig, legacy.Value, path+"."+s.sig.name, cfg); ok {
				*s.out = []Group{g}
			}
		}
	}
	return cfg
}

// decodeSpans reads spans.{include,exclude} (the properties of the
// attributes and span processors' blocks, for spans).
func decodeSpans(d processor.Decoder, e processor.Entry, path string) matchspec.Config {
	nerr := d.Mistakes()
	f := d.Fields(e.Value, path, []string{"include", "exclude"})
	m := matchspec.Decode(d, f, path)
	if d.Mistakes() > nerr {
		return matchspec.Config{}
	}
	if err := m.CheckSignal("traces"); err != nil {
		d.Errorf(e.Key, "%s: %v", path, err)
		return matchspec.Config{}
	}
	return m
}

// decodeMatch reads the include/exclude blocks of metrics or logs. A
// block with no property is left out, as upstream does; match_type expr
// and its expressions (the expr language) are refused.
func decodeMatch(d processor.Decoder, sig signal, f map[string]processor.Entry, path string) matchspec.Config {
	nerr := d.Mistakes()
	blocks := map[string]processor.Entry{}
	for _, k := range []string{"include", "exclude"} {
		e, ok := f[k]
		if !ok {
			continue
		}
		if sig.name == "metrics" && refuseExpr(d, e, path+"."+k) {
			continue
		}
		blocks[k] = e
	}
	m := matchspec.DecodeNamed(d, blocks, path, matchNames[sig.name])
	if d.Mistakes() > nerr {
		return matchspec.Config{}
	}
	if m.Include != nil && m.Include.IsEmpty() {
		m.Include = nil
	}
	if m.Exclude != nil && m.Exclude.IsEmpty() {
		m.Exclude = nil
	}
	return m
}

// refuseExpr reports (and refuses) a metrics block with match_type expr
// or expressions.
func refuseExpr(d processor.Decoder, e processor.Entry, path string) bool {
	n := processor.Deref(e.Value)
	if processor.IsNull(n) || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], processor.Deref(n.Content[i+1])
		if (k.Value == "match_type" && v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "expr")) || k.Value == "expressions" {
			d.Errorf(k, "%s.%s: match_type expr and its expressions (the expr language) are not supported; use match_type strict or regexp with metric_names and resource_attributes, "+
				"or write the expressions as metric_conditions, which drop what they match, e.g. 'metric.name == \"x\" and metric.type == METRIC_DATA_TYPE_SUM' or 'datapoint.attributes[\"k\"] == \"v\"'", path, k.Value)
			return true
		}
	}
	return false
}

// decodeConditions reads <signal>_conditions: a list of strings (one
// group, each condition's context inferred from its paths) or a list of
// groups {context, error_mode, conditions}.
func decodeConditions(d processor.Decoder, sig signal, n *yaml.Node, path string, mode ottlsubset.ErrorMode) []Group {
	flat, list := ottlconfig.List(d, n, path, "conditions", "{context, error_mode, conditions}", []string{"context", "error_mode", "conditions"}, mode)
	if flat != nil {
		g := Group{ErrorMode: mode}
		for i, item := range flat.Content {
			addCondition(d, sig, &g, "", item, fmt.Sprintf("%s[%d]", path, i))
		}
		return []Group{g}
	}
	var groups []Group
	for _, lg := range list {
		gpath, item, gf := lg.Path, lg.Node, lg.Fields
		g := Group{ErrorMode: lg.ErrorMode}
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
// context, without context prefixes needed, or for metrics and logs the
// include/exclude match form (into cfg).
func decodeLegacy(d processor.Decoder, sig signal, n *yaml.Node, path string, cfg *Config) (Group, bool) {
	g := Group{ErrorMode: cfg.ErrorMode}
	nerr := d.Mistakes()
	f := d.Fields(n, path, legacyKeys[sig.name])
	if r, ok := f["regexp"]; ok {
		// cacheenabled and cachemaxnumentries tune the collector's cache of
		// regexp results; matching is the same without it.
		d.Fields(r.Value, path+".regexp", []string{"cacheenabled", "cachemaxnumentries"})
	}
	_, inc := f["include"]
	_, exc := f["exclude"]
	if inc || exc {
		for _, k := range legacyKeys[sig.name] {
			if e, ok := f[k]; ok && sig.legacy[k] != "" {
				d.Errorf(e.Key, "%s: use either %s or include/exclude, not both (the collector refuses both)", path, k)
			}
		}
		m := decodeMatch(d, sig, f, path)
		if sig.name == "metrics" {
			cfg.MetricMatch = m
		} else {
			cfg.LogMatch = m
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
