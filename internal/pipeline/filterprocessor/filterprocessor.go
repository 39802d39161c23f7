// Package filterprocessor implements the collector's "filter" processor:
// it drops spans, span events, metrics, data points and log records (and
// whole resources or scopes) for which any of its OTTL conditions holds,
// with the upstream configuration keys and semantics (collector-contrib
// v0.146 and later): error_mode (ignore, the default; silent; propagate),
// trace_conditions, metric_conditions and log_conditions, as a list of
// conditions whose context is inferred from their path prefixes or as
// groups {context, error_mode, conditions}, and the older per-context
// lists traces.{resource,span,spanevent}, metrics.{resource,metric,
// datapoint} and logs.{resource,log_record}.
//
// Conditions are the strict OTTL subset of internal/ottlsubset. Levels are
// evaluated from the top, as upstream: a resource or scope that matches is
// dropped with all it holds, then items, then span events or data points.
// A span whose events are all dropped stays; a metric whose data points
// are all dropped is dropped; a scope or resource left empty is dropped.
// The older include/exclude match form (spans, metrics and logs with
// include and exclude blocks) is supported with upstream's semantics on
// internal/matchspec: include keeps only what matches, exclude drops what
// matches, and with both include runs first. Spans take services,
// span_names, span_kinds, attributes, resources and libraries; log records
// bodies, severity_texts, severity_number, record_attributes and
// resource_attributes; metrics metric_names and resource_attributes, which
// upstream matches at two levels (see matchspec.Config.SkipMetricResource).
// match_type expr of metrics (the expr language) is refused. A scope or
// resource left empty is dropped.
package filterprocessor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "filter".
var Factory = processor.Factory{Type: "filter", Decode: Decode, New: New}

// Processor drops what its conditions match. It keeps no state and is
// safe for concurrent use on different batches.
type Processor struct {
	cfg *Config
	log *slog.Logger
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("filter processor: unexpected configuration %T", cfg)
	}
	return &Processor{cfg: c, log: slog.Default()}, nil
}

// outcome gathers the evaluation errors of one batch.
type outcome struct {
	failed  []error // error_mode propagate
	ignored int     // error_mode ignore
	first   error   // the first ignored error
}

// match reports whether any condition holds for it, handling evaluation
// errors by the group's error mode.
func (g *Group) match(conds []*ottlsubset.Condition, it *ottlsubset.Item, o *outcome) bool {
	for _, c := range conds {
		ok, err := c.Evaluate(it)
		if err != nil {
			switch g.ErrorMode {
			case ottlsubset.ErrorPropagate:
				o.failed = append(o.failed, fmt.Errorf("failed to eval condition: %s, %w", c, err))
				return false
			case ottlsubset.ErrorIgnore:
				if o.ignored++; o.first == nil {
					o.first = fmt.Errorf("failed to eval condition: %s, %w", c, err)
				}
			}
			continue
		}
		if ok {
			return true
		}
	}
	return false
}

// finish logs ignored errors once per batch and returns the propagated
// ones: the engine then drops the batch, as the collector does.
func (p *Processor) finish(signal string, o *outcome) error {
	if o.ignored > 0 {
		p.log.Warn("filter processor: conditions failed to evaluate and were taken as not met (error_mode ignore)",
			"signal", signal, "errors", o.ignored, "first", o.first.Error())
	}
	return errors.Join(o.failed...)
}

// ProcessTraces drops resources, scopes, spans and span events.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	var o outcome
	for i := range p.cfg.Traces {
		p.cfg.Traces[i].traces(td, &o)
	}
	if m := p.cfg.SpanMatch; !m.Empty() {
		td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				ss.Spans().RemoveIf(func(sp ptrace.Span) bool { return m.SkipSpan(rs.Resource(), ss.Scope(), sp) })
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
	}
	return p.finish("traces", &o)
}

func (g *Group) traces(td ptrace.Traces, o *outcome) {
	it := &ottlsubset.Item{}
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		*it = ottlsubset.Item{Resource: rs.Resource()}
		if len(g.Resource) > 0 && g.match(g.Resource, it, o) {
			return true
		}
		if len(g.Scope) == 0 && len(g.Item) == 0 && len(g.Sub) == 0 {
			return rs.ScopeSpans().Len() == 0
		}
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			it.Scope = ss.Scope()
			if len(g.Scope) > 0 && g.match(g.Scope, it, o) {
				return true
			}
			if len(g.Item) == 0 && len(g.Sub) == 0 {
				return ss.Spans().Len() == 0
			}
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				it.Span = sp
				if len(g.Item) > 0 && g.match(g.Item, it, o) {
					return true
				}
				if len(g.Sub) > 0 {
					sp.Events().RemoveIf(func(ev ptrace.SpanEvent) bool {
						it.SpanEvent = ev
						return g.match(g.Sub, it, o)
					})
				}
				return false
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
}

// ProcessMetrics drops resources, scopes, metrics and data points.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	var o outcome
	for i := range p.cfg.Metrics {
		p.cfg.Metrics[i].metrics(md, &o)
	}
	if m := p.cfg.MetricMatch; !m.Empty() {
		md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
			if m.SkipMetricResource(rm.Resource()) {
				return true
			}
			rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
				sm.Metrics().RemoveIf(m.SkipMetricName)
				return sm.Metrics().Len() == 0
			})
			return rm.ScopeMetrics().Len() == 0
		})
	}
	return p.finish("metrics", &o)
}

func (g *Group) metrics(md pmetric.Metrics, o *outcome) {
	it := &ottlsubset.Item{}
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		*it = ottlsubset.Item{Resource: rm.Resource()}
		if len(g.Resource) > 0 && g.match(g.Resource, it, o) {
			return true
		}
		if len(g.Scope) == 0 && len(g.Item) == 0 && len(g.Sub) == 0 {
			return rm.ScopeMetrics().Len() == 0
		}
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			it.Scope = sm.Scope()
			if len(g.Scope) > 0 && g.match(g.Scope, it, o) {
				return true
			}
			if len(g.Item) == 0 && len(g.Sub) == 0 {
				return sm.Metrics().Len() == 0
			}
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				it.Metric = m
				if len(g.Item) > 0 && g.match(g.Item, it, o) {
					return true
				}
				if len(g.Sub) == 0 {
					return false
				}
				return g.dataPoints(m, it, o)
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
}

// dataPoints drops the data points of m that match and reports whether
// none is left (a metric without a type is kept, as upstream).
func (g *Group) dataPoints(m pmetric.Metric, it *ottlsubset.Item, o *outcome) bool {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return removePoints(m.Gauge().DataPoints(), g, it, o)
	case pmetric.MetricTypeSum:
		return removePoints(m.Sum().DataPoints(), g, it, o)
	case pmetric.MetricTypeHistogram:
		return removePoints(m.Histogram().DataPoints(), g, it, o)
	case pmetric.MetricTypeExponentialHistogram:
		return removePoints(m.ExponentialHistogram().DataPoints(), g, it, o)
	case pmetric.MetricTypeSummary:
		return removePoints(m.Summary().DataPoints(), g, it, o)
	}
	return false
}

// points is what the data point slices of pmetric have in common.
type points[T any] interface {
	RemoveIf(func(T) bool)
	Len() int
}

func removePoints[T any](dps points[T], g *Group, it *ottlsubset.Item, o *outcome) bool {
	dps.RemoveIf(func(dp T) bool {
		it.DataPoint = dp
		return g.match(g.Sub, it, o)
	})
	return dps.Len() == 0
}

// ProcessLogs drops resources, scopes and log records.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	var o outcome
	for i := range p.cfg.Logs {
		p.cfg.Logs[i].logs(ld, &o)
	}
	if m := p.cfg.LogMatch; !m.Empty() {
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
				sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return m.SkipLog(rl.Resource(), sl.Scope(), lr) })
				return sl.LogRecords().Len() == 0
			})
			return rl.ScopeLogs().Len() == 0
		})
	}
	return p.finish("logs", &o)
}

func (g *Group) logs(ld plog.Logs, o *outcome) {
	it := &ottlsubset.Item{}
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		*it = ottlsubset.Item{Resource: rl.Resource()}
		if len(g.Resource) > 0 && g.match(g.Resource, it, o) {
			return true
		}
		if len(g.Scope) == 0 && len(g.Item) == 0 {
			return rl.ScopeLogs().Len() == 0
		}
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			it.Scope = sl.Scope()
			if len(g.Scope) > 0 && g.match(g.Scope, it, o) {
				return true
			}
			if len(g.Item) == 0 {
				return sl.LogRecords().Len() == 0
			}
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				it.Log = lr
				return g.match(g.Item, it, o)
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
}
