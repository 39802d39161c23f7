// Package ottlsubset parses and evaluates a strict subset of the
// OpenTelemetry Transformation Language (OTTL): the boolean conditions of
// the filter processor and the editor statements of the transform processor
// that real configurations use, for the contexts span, spanevent, metric,
// datapoint, log, resource and scope.
//
// Whatever this package accepts means exactly what OTTL means: the tokens,
// the precedence of not/and/or, the comparison rules (values of different
// types are never equal and never ordered, nil equals only nil, ints and
// floats compare numerically), the paths and the functions' effects follow
// OTTL. Whatever it does not support is refused at parse time with an
// *Error naming the unsupported part, its line:column and what is supported.
//
// Supported:
//   - comparisons ==, !=, <, <=, >, >= between paths, string, int, float,
//     bool, bytes (0x..) and nil literals, lists, enums (SPAN_KIND_*,
//     STATUS_CODE_*, SEVERITY_NUMBER_*, METRIC_DATA_TYPE_*,
//     AGGREGATION_TEMPORALITY_*) and converter calls;
//   - and, or, not, parentheses, true, false;
//   - math + - * / with parentheses on int paths (end_time_unix_nano,
//     kind, ...) and number literals, e.g.
//     (end_time_unix_nano - start_time_unix_nano) / 1000000 > 500;
//   - converters IsMatch(target, "regexp") (Go RE2), IsString, IsInt,
//     IsDouble, IsBool, IsMap, IsList, and IsRootSpan() in the span context;
//   - editors set, delete_key, delete_matching_keys, keep_keys,
//     replace_pattern, replace_all_patterns, truncate_all, limit, each with
//     an optional "where" condition.
//
// Not supported (refused): math on attributes, strings or enums, mixing
// ints and floats, division by anything but a non-zero literal, map
// literals, named arguments, indexing of converter results, nested
// indexing, other functions, paths not listed in the error message,
// nesting deeper than 64.
//
// Paths are written as in the processors' per-context configuration
// (traces: span: [...], statements under context: span): name,
// attributes["k"], resource.attributes["k"], instrumentation_scope.name,
// span.name in the spanevent context, metric.name in the datapoint context.
// A leading prefix naming the context itself (span.name in the span
// context, as written in the context-inferred configuration style) and
// scope. for instrumentation_scope. are also accepted, with the same
// meaning.
//
// Evaluation errors are OTTL's: the one operation of the subset that can
// fail at evaluation time is IsMatch on a value that has no string form
// (a NaN or infinite double, alone or inside a map or list, which JSON
// cannot encode). Evaluate and Execute report it, at the point and in the
// order of evaluation where OTTL reports it: and/or stop at the first
// error, and literal parts are folded at parse time as OTTL folds them
// (false and X is false without evaluating X). Eval, which cannot report,
// is false for such a condition, as the processors' error_mode "ignore"
// treats it.
//
// Infer chooses the context of conditions and statements written with
// context prefixes on every path (span.name, resource.attributes["k"]),
// as the processors' flat trace_conditions and trace_statements lists
// are: the lowest context any path names.
package ottlsubset

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Context names the kind of telemetry item a condition or statement is
// evaluated against, as OTTL's contexts do. It decides which paths and
// enums are valid.
type Context string

// The contexts, with OTTL's names.
const (
	Span      Context = "span"
	SpanEvent Context = "spanevent"
	Metric    Context = "metric"
	DataPoint Context = "datapoint"
	Log       Context = "log"
	Resource  Context = "resource"
	Scope     Context = "scope"
)

// Item is one telemetry item with what surrounds it. Only the fields of
// the context a condition was parsed for are read: Resource always;
// Scope for every context but Resource; Span for Span and SpanEvent;
// SpanEvent for SpanEvent; Metric for Metric and DataPoint; DataPoint (a
// pmetric.NumberDataPoint, HistogramDataPoint, ExponentialHistogramDataPoint
// or SummaryDataPoint) for DataPoint; Log for Log.
type Item struct {
	Resource  pcommon.Resource
	Scope     pcommon.InstrumentationScope
	Span      ptrace.Span
	SpanEvent ptrace.SpanEvent
	Metric    pmetric.Metric
	DataPoint any
	Log       plog.LogRecord

	// err is the first evaluation error of the condition or statement
	// being evaluated.
	err error
}

// fail records an evaluation error; the first one is kept.
func (it *Item) fail(err error) {
	if it.err == nil {
		it.err = err
	}
}

// Error is a parse error: what is wrong, where (byte offset in Src) and in
// which text.
type Error struct {
	Src string
	Pos int
	Msg string
}

// Error formats as: <msg> at <line>:<column> in "<src>".
func (e *Error) Error() string {
	line, col := 1, 1
	for i := 0; i < e.Pos && i < len(e.Src); i++ {
		if e.Src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%s at %d:%d in %q", e.Msg, line, col, e.Src)
}

// Condition is a parsed boolean condition.
type Condition struct {
	src  string
	eval func(*Item) bool
}

// Evaluate evaluates the condition against it, with the error OTTL
// reports where it reports one (see the package documentation).
func (c *Condition) Evaluate(it *Item) (bool, error) {
	it.err = nil
	r := c.eval(it)
	if err := it.err; err != nil {
		it.err = nil
		return false, err
	}
	return r, nil
}

// Eval evaluates the condition against it; a condition whose evaluation
// fails is false, as under the processors' error_mode "ignore".
func (c *Condition) Eval(it *Item) bool {
	r, _ := c.Evaluate(it)
	return r
}

// String returns the condition's source text.
func (c *Condition) String() string { return c.src }

// Statement is a parsed editor statement with its optional where clause.
type Statement struct {
	src   string
	where *Condition
	run   func(*Item) error
}

// Execute applies the statement to it if its where clause (if any) holds.
// It returns an error only where OTTL does too: a set with a value of the
// wrong type for the target (for example a non-string span name), or an
// evaluation error in the where clause or the arguments.
func (s *Statement) Execute(it *Item) error {
	if s.where != nil {
		ok, err := s.where.Evaluate(it)
		if err != nil {
			return fmt.Errorf("statement %q: condition: %w", s.src, err)
		}
		if !ok {
			return nil
		}
	}
	it.err = nil
	err := s.run(it)
	if it.err != nil {
		err = it.err
		it.err = nil
	}
	if err != nil {
		return fmt.Errorf("statement %q: %w", s.src, err)
	}
	return nil
}

// String returns the statement's source text.
func (s *Statement) String() string { return s.src }

// ParseCondition parses one condition for the context ctx.
func ParseCondition(ctx Context, src string) (*Condition, error) {
	p, err := newParser(ctx, src)
	if err != nil {
		return nil, err
	}
	b, err := p.boolExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectEOF(); err != nil {
		return nil, err
	}
	return &Condition{src: src, eval: b.f}, nil
}

// ParseConditions parses each condition of srcs for ctx; the first error
// is returned.
func ParseConditions(ctx Context, srcs []string) ([]*Condition, error) {
	out := make([]*Condition, 0, len(srcs))
	for _, s := range srcs {
		c, err := ParseCondition(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseStatement parses one editor statement for the context ctx.
func ParseStatement(ctx Context, src string) (*Statement, error) {
	p, err := newParser(ctx, src)
	if err != nil {
		return nil, err
	}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	st.src = src
	return st, nil
}

// ParseStatements parses each statement of srcs for ctx; the first error
// is returned.
func ParseStatements(ctx Context, srcs []string) ([]*Statement, error) {
	out := make([]*Statement, 0, len(srcs))
	for _, s := range srcs {
		st, err := ParseStatement(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// validContext reports an error for an unknown context name.
func validContext(ctx Context) error {
	switch ctx {
	case Span, SpanEvent, Metric, DataPoint, Log, Resource, Scope:
		return nil
	}
	return fmt.Errorf("unknown context %q; supported: %s", string(ctx),
		strings.Join([]string{"span", "spanevent", "metric", "datapoint", "log", "resource", "scope"}, ", "))
}
