// Package transformprocessor implements the collector's "transform"
// processor: OTTL statements that change spans, span events, metrics,
// data points, log records, resources and scopes, with the upstream
// configuration keys and semantics: error_mode (ignore, the default;
// silent; propagate) and trace_statements, metric_statements and
// log_statements, each a list of statements whose context is inferred
// from their path prefixes, or a list of groups {context, error_mode,
// conditions, statements}.
//
// Statements are the editors of the strict OTTL subset of
// internal/ottlsubset (set, delete_key, delete_matching_keys, keep_keys,
// replace_pattern, replace_all_patterns, truncate_all, limit, each with an
// optional where clause); a statement or function outside it is refused
// when the configuration is read, naming it and what is supported. A
// group runs in its context for every item of that context (every span,
// every data point, ...): if it has conditions and none holds, it is
// skipped for that item; else its statements run in order.
package transformprocessor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/ottlconfig"
	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "transform".
var Factory = processor.Factory{Type: "transform", Decode: Decode, New: New}

// Config is the processor's configuration: per signal, groups of
// statements, run in order.
type Config struct {
	ErrorMode ottlsubset.ErrorMode
	Traces    []Group
	Metrics   []Group
	Logs      []Group
}

// Group is statements that run in one context, if any of Conditions
// holds (always when there are none).
type Group struct {
	Context    ottlsubset.Context
	ErrorMode  ottlsubset.ErrorMode
	Conditions []*ottlsubset.Condition
	Statements []*ottlsubset.Statement
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	var parts []string
	for _, s := range []struct {
		name   string
		groups []Group
	}{{"traces", c.Traces}, {"metrics", c.Metrics}, {"logs", c.Logs}} {
		for _, g := range s.groups {
			parts = append(parts, fmt.Sprintf("%s: %d statements in the %s context", s.name, len(g.Statements), g.Context))
		}
	}
	if len(parts) == 0 {
		return "transform: no statements"
	}
	return fmt.Sprintf("transform (error_mode %s): %s", c.ErrorMode, strings.Join(parts, "; "))
}

// signals: the configuration key of each signal and its contexts.
var signals = []struct {
	key      string
	contexts []ottlsubset.Context
}{
	{"trace_statements", []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Span, ottlsubset.SpanEvent}},
	{"metric_statements", []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Metric, ottlsubset.DataPoint}},
	{"log_statements", []ottlsubset.Context{ottlsubset.Resource, ottlsubset.Scope, ottlsubset.Log}},
}

// Decode reads the processor's options.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"error_mode", "trace_statements", "metric_statements", "log_statements", "profile_statements", "flatten"})
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	cfg := &Config{ErrorMode: ottlsubset.ErrorIgnore}
	if e, ok := f["error_mode"]; ok {
		if m := ottlconfig.ErrorMode(d, e.Value, path+".error_mode"); m != "" {
			cfg.ErrorMode = m
		}
	}
	if e, ok := f["profile_statements"]; ok {
		d.Errorf(e.Key, "%s.profile_statements: profiles are not a signal lambdaotel carries; remove it", path)
	}
	if e, ok := f["flatten"]; ok {
		ff := d.Fields(e.Value, path+".flatten", []string{"log"})
		if l, ok := ff["log"]; ok && d.Bool(l.Value, path+".flatten.log") {
			d.Errorf(l.Value, "%s.flatten.log: not supported: statements change the resource and scope that the log records of a batch share", path)
		}
	}
	outs := []*[]Group{&cfg.Traces, &cfg.Metrics, &cfg.Logs}
	for i, s := range signals {
		if e, ok := f[s.key]; ok {
			*outs[i] = decodeStatements(d, s.contexts, e.Value, path+"."+s.key, cfg.ErrorMode)
		}
	}
	return cfg
}

// decodeStatements reads <signal>_statements: a list of statements (one
// group, its context inferred) or a list of groups.
func decodeStatements(d processor.Decoder, contexts []ottlsubset.Context, n *yaml.Node, path string, mode ottlsubset.ErrorMode) []Group {
	flat, list := ottlconfig.List(d, n, path, "statements", "{context, error_mode, conditions, statements}",
		[]string{"context", "error_mode", "conditions", "statements", "shared_cache"}, mode)
	if flat != nil {
		if g, ok := decodeGroup(d, contexts, "", flat, nil, path, "", mode); ok {
			return []Group{g}
		}
		return nil
	}
	var groups []Group
	for _, lg := range list {
		gpath, item, gf, gmode := lg.Path, lg.Node, lg.Fields, lg.ErrorMode
		if e, ok := gf["shared_cache"]; ok {
			d.Bool(e.Value, gpath+".shared_cache") // nothing to share: the subset has no cache paths
		}
		var ctx ottlsubset.Context
		if e, ok := gf["context"]; ok {
			names := make([]string, 0, len(contexts)+1)
			for _, c := range contexts {
				names = append(names, string(c))
			}
			if s, _ := d.Scalar(e.Value, gpath+".context"); strings.EqualFold(s, "exemplar") && contexts[2] == ottlsubset.Metric {
				d.Errorf(e.Value, "%s.context: the exemplar context is not supported; supported: %s", gpath, strings.Join(names, ", "))
				continue
			}
			if ctx = ottlsubset.Context(strings.ToLower(d.OneOf(e.Value, gpath+".context", names...))); ctx == "" {
				continue
			}
		}
		stmts := processor.Deref(gf["statements"].Value)
		if processor.IsNull(stmts) {
			d.Errorf(processor.Deref(item), "%s: statements is required: a list of statements", gpath)
			continue
		}
		var conds *yaml.Node
		if e, ok := gf["conditions"]; ok && !processor.IsNull(e.Value) {
			conds = processor.Deref(e.Value)
		}
		if g, ok := decodeGroup(d, contexts, ctx, stmts, conds, gpath+".statements", gpath+".conditions", gmode); ok {
			groups = append(groups, g)
		}
	}
	return groups
}

// decodeGroup parses a group's statements (at spath) and conditions (at
// cpath) in ctx, or in the context inferred from all of them when ctx is
// empty.
func decodeGroup(d processor.Decoder, contexts []ottlsubset.Context, ctx ottlsubset.Context, stmts, conds *yaml.Node, spath, cpath string, mode ottlsubset.ErrorMode) (Group, bool) {
	nerr := d.Mistakes()
	texts := func(n *yaml.Node, p, what string) ([]string, []*yaml.Node) {
		if n.Kind != yaml.SequenceNode {
			d.Errorf(n, "%s: expected a list of %s, got %s", p, what, processor.Describe(n))
			return nil, nil
		}
		var out []string
		var nodes []*yaml.Node
		for i, item := range n.Content {
			item = processor.Deref(item)
			ipath := fmt.Sprintf("%s[%d]", p, i)
			s, ok := d.Scalar(item, ipath)
			if !ok {
				continue
			}
			if processor.IsNull(item) || strings.TrimSpace(s) == "" {
				d.Errorf(item, "%s: a %s cannot be empty", ipath, strings.TrimSuffix(what, "s"))
				continue
			}
			out = append(out, s)
			nodes = append(nodes, item)
		}
		return out, nodes
	}
	stexts, snodes := texts(stmts, spath, "statements")
	var ctexts []string
	var cnodes []*yaml.Node
	if conds != nil {
		ctexts, cnodes = texts(conds, cpath, "conditions")
	}
	if d.Mistakes() > nerr {
		return Group{}, false
	}
	if ctx == "" {
		var err error
		if ctx, err = ottlsubset.Infer(contexts, ctexts, stexts); err != nil {
			at, where := stmts, spath
			var pe *ottlsubset.Error
			if errors.As(err, &pe) {
				for i, s := range stexts {
					if s == pe.Src {
						at, where = snodes[i], fmt.Sprintf("%s[%d]", spath, i)
					}
				}
				for i, s := range ctexts {
					if s == pe.Src {
						at, where = cnodes[i], fmt.Sprintf("%s[%d]", cpath, i)
					}
				}
			}
			d.Errorf(at, "%s: %v", where, err)
			return Group{}, false
		}
	}
	g := Group{Context: ctx, ErrorMode: mode}
	for i, s := range ctexts {
		c, err := ottlsubset.ParseCondition(ctx, s)
		if err != nil {
			d.Errorf(cnodes[i], "%s[%d]: %v", cpath, i, err)
			continue
		}
		g.Conditions = append(g.Conditions, c)
	}
	for i, s := range stexts {
		st, err := ottlsubset.ParseStatement(ctx, s)
		if err != nil {
			d.Errorf(snodes[i], "%s[%d]: %v", spath, i, err)
			continue
		}
		g.Statements = append(g.Statements, st)
	}
	return g, d.Mistakes() == nerr
}

// Processor runs its statements. It keeps no state and is safe for
// concurrent use on different batches.
type Processor struct {
	cfg *Config
	log *slog.Logger
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("transform processor: unexpected configuration %T", cfg)
	}
	return &Processor{cfg: c, log: slog.Default()}, nil
}

// run is one group's work on one batch: its error handling and counts.
type run struct {
	g       *Group
	ignored int
	first   error
}

// item runs the group on one item; an error is returned only under
// error_mode propagate.
func (r *run) item(it *ottlsubset.Item) error {
	g := r.g
	if len(g.Conditions) > 0 {
		met := false
		for _, c := range g.Conditions {
			ok, err := c.Evaluate(it)
			if err != nil {
				if err := r.fail(fmt.Errorf("failed to eval condition: %s, %w", c, err)); err != nil {
					return err
				}
				continue
			}
			if ok {
				met = true
				break
			}
		}
		if !met {
			return nil
		}
	}
	for _, s := range g.Statements {
		if err := s.Execute(it); err != nil {
			if err := r.fail(fmt.Errorf("failed to execute statement: %w", err)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *run) fail(err error) error {
	switch r.g.ErrorMode {
	case ottlsubset.ErrorPropagate:
		return err
	case ottlsubset.ErrorIgnore:
		if r.ignored++; r.first == nil {
			r.first = err
		}
	}
	return nil
}

// each runs every group on the batch through walk, which calls the
// group on every item of its context.
func (p *Processor) each(signal string, groups []Group, walk func(*run) error) error {
	for i := range groups {
		r := &run{g: &groups[i]}
		err := walk(r)
		if r.ignored > 0 {
			p.log.Warn("transform processor: statements or conditions failed and were skipped (error_mode ignore)",
				"signal", signal, "context", string(r.g.Context), "errors", r.ignored, "first", r.first.Error())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ProcessTraces runs the trace statements.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	return p.each("traces", p.cfg.Traces, func(r *run) error {
		for _, rs := range td.ResourceSpans().All() {
			it := &ottlsubset.Item{Resource: rs.Resource()}
			if r.g.Context == ottlsubset.Resource {
				if err := r.item(it); err != nil {
					return err
				}
				continue
			}
			for _, ss := range rs.ScopeSpans().All() {
				it.Scope = ss.Scope()
				if r.g.Context == ottlsubset.Scope {
					if err := r.item(it); err != nil {
						return err
					}
					continue
				}
				for _, sp := range ss.Spans().All() {
					it.Span = sp
					if r.g.Context == ottlsubset.Span {
						if err := r.item(it); err != nil {
							return err
						}
						continue
					}
					for _, ev := range sp.Events().All() {
						it.SpanEvent = ev
						if err := r.item(it); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
}

// ProcessMetrics runs the metric statements.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	return p.each("metrics", p.cfg.Metrics, func(r *run) error {
		for _, rm := range md.ResourceMetrics().All() {
			it := &ottlsubset.Item{Resource: rm.Resource()}
			if r.g.Context == ottlsubset.Resource {
				if err := r.item(it); err != nil {
					return err
				}
				continue
			}
			for _, sm := range rm.ScopeMetrics().All() {
				it.Scope = sm.Scope()
				if r.g.Context == ottlsubset.Scope {
					if err := r.item(it); err != nil {
						return err
					}
					continue
				}
				for _, m := range sm.Metrics().All() {
					it.Metric = m
					if r.g.Context == ottlsubset.Metric {
						if err := r.item(it); err != nil {
							return err
						}
						continue
					}
					if err := dataPoints(m, it, r); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// dataPoints runs the group on every data point of m.
func dataPoints(m pmetric.Metric, it *ottlsubset.Item, r *run) error {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return eachPoint(m.Gauge().DataPoints().All(), it, r)
	case pmetric.MetricTypeSum:
		return eachPoint(m.Sum().DataPoints().All(), it, r)
	case pmetric.MetricTypeHistogram:
		return eachPoint(m.Histogram().DataPoints().All(), it, r)
	case pmetric.MetricTypeExponentialHistogram:
		return eachPoint(m.ExponentialHistogram().DataPoints().All(), it, r)
	case pmetric.MetricTypeSummary:
		return eachPoint(m.Summary().DataPoints().All(), it, r)
	}
	return nil
}

func eachPoint[T any](all func(func(int, T) bool), it *ottlsubset.Item, r *run) error {
	for _, dp := range all {
		it.DataPoint = dp
		if err := r.item(it); err != nil {
			return err
		}
	}
	return nil
}

// ProcessLogs runs the log statements.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	return p.each("logs", p.cfg.Logs, func(r *run) error {
		for _, rl := range ld.ResourceLogs().All() {
			it := &ottlsubset.Item{Resource: rl.Resource()}
			if r.g.Context == ottlsubset.Resource {
				if err := r.item(it); err != nil {
					return err
				}
				continue
			}
			for _, sl := range rl.ScopeLogs().All() {
				it.Scope = sl.Scope()
				if r.g.Context == ottlsubset.Scope {
					if err := r.item(it); err != nil {
						return err
					}
					continue
				}
				for _, lr := range sl.LogRecords().All() {
					it.Log = lr
					if err := r.item(it); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}
