package ottlsubset

import (
	"math"
	"strings"
	"testing"
)

// nanItem is a span whose attributes hold values without a string form.
func nanItem() *Item {
	it := spanItem()
	it.Span.Attributes().PutDouble("nan", math.NaN())
	it.Span.Attributes().PutDouble("inf", math.Inf(1))
	it.Span.Attributes().PutEmptyMap("obj_nan").PutDouble("x", math.NaN())
	return it
}

// TestEvaluationErrors checks where OTTL reports an evaluation error:
// IsMatch on a value without a string form, unless the parse-time folding
// of literals or the left-to-right stop of and/or keeps it from being
// evaluated.
func TestEvaluationErrors(t *testing.T) {
	cases := []struct {
		cond    string
		want    bool
		wantErr bool
	}{
		{`IsMatch(attributes["nan"], "x")`, false, true},
		{`IsMatch(attributes["inf"], "x")`, false, true},
		{`IsMatch(attributes["obj_nan"], ".*")`, false, true},
		{`not IsMatch(attributes["nan"], "x")`, false, true},
		{`IsMatch(attributes["nan"], "x") == false`, false, true},
		{`name == "x" or IsMatch(attributes["nan"], "x")`, false, true},
		{`name == "GET /health" and IsMatch(attributes["nan"], "x")`, false, true},
		{`IsMatch(attributes["nan"], "x") or name == "GET /health"`, false, true},
		// not evaluated: or stops at true, and at false
		{`name == "GET /health" or IsMatch(attributes["nan"], "x")`, true, false},
		{`name == "x" and IsMatch(attributes["nan"], "x")`, false, false},
		// folded at parse time, as OTTL does: the literal decides
		{`IsMatch(attributes["nan"], "x") or true`, true, false},
		{`IsMatch(attributes["nan"], "x") and false`, false, false},
		{`IsMatch(attributes["nan"], "x") or 1 == 1`, true, false},
		{`IsMatch(attributes["nan"], "x") and SPAN_KIND_SERVER != 2`, false, false},
		{`IsMatch(attributes["nan"], "x") and not (true or false)`, false, false},
		{`IsMatch(attributes["nan"], "x") and ["a"] == ["b"]`, false, false},
		// not folded: math and converters are evaluated
		{`IsMatch(attributes["nan"], "x") and 1 + 1 == 3`, false, true},
		// other converters have no error
		{`IsString(attributes["nan"]) or IsDouble(attributes["nan"])`, true, false},
		{`IsMatch(attributes["missing"], ".*")`, false, false},
	}
	for _, c := range cases {
		cond, err := ParseCondition(Span, c.cond)
		if err != nil {
			t.Errorf("%q: %v", c.cond, err)
			continue
		}
		got, err := cond.Evaluate(nanItem())
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%q = %v, %v; want %v, error %v", c.cond, got, err, c.want, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "IsMatch: cannot convert float64 to a string") && !strings.Contains(err.Error(), "IsMatch: cannot convert map[string]interface {} to a string") {
			t.Errorf("%q: error %v", c.cond, err)
		}
		if cond.Eval(nanItem()) != (got && err == nil) {
			t.Errorf("%q: Eval differs from Evaluate", c.cond)
		}
	}
	// A statement fails on an error in its where clause or its arguments
	// and then changes nothing.
	for _, src := range []string{
		`set(attributes["m"], "x") where IsMatch(attributes["nan"], "x")`,
		`set(attributes["m"], IsMatch(attributes["nan"], "x"))`,
	} {
		s, err := ParseStatement(Span, src)
		if err != nil {
			t.Fatal(err)
		}
		it := nanItem()
		err = s.Execute(it)
		if err == nil || !strings.Contains(err.Error(), "IsMatch: cannot convert float64") {
			t.Errorf("%q: error %v", src, err)
		}
		if _, ok := it.Span.Attributes().Get("m"); ok {
			t.Errorf("%q: set although it failed", src)
		}
	}
}

// TestInfer checks the context inferred from prefixed paths, as the
// processors' flat condition and statement lists need it.
func TestInfer(t *testing.T) {
	traces := []Context{Resource, Scope, Span, SpanEvent}
	metrics := []Context{Resource, Scope, Metric, DataPoint}
	logs := []Context{Resource, Scope, Log}
	cases := []struct {
		allowed    []Context
		conditions []string
		statements []string
		want       Context
		err        string
	}{
		{traces, []string{`span.name == "x"`}, nil, Span, ""},
		{traces, []string{`span.attributes["container.name"] == "c" and spanevent.attributes["grpc"] == true`}, nil, SpanEvent, ""},
		{traces, []string{`resource.attributes["host.name"] == "localhost"`}, nil, Resource, ""},
		{traces, []string{`resource.attributes["host.name"] == "localhost" or spanevent.name == "grpc.timeout"`}, nil, SpanEvent, ""},
		{traces, []string{`scope.name == "my.scope"`}, nil, Scope, ""},
		{traces, []string{`span.status.code == STATUS_CODE_ERROR and span.kind == SPAN_KIND_SERVER`}, nil, Span, ""},
		{traces, []string{`IsRootSpan() and resource.attributes["x"] == "y"`}, nil, Span, ""},
		{traces, []string{`IsMatch(spanevent.name, ".*grpc.*")`}, nil, SpanEvent, ""},
		{metrics, []string{`metric.name == "k8s.pod.phase" and datapoint.value_int == 4`}, nil, DataPoint, ""},
		{metrics, []string{`metric.type == METRIC_DATA_TYPE_HISTOGRAM`}, nil, Metric, ""},
		{metrics, nil, []string{`set(metric.description, "test passed") where datapoint.attributes["test"] == "pass"`}, DataPoint, ""},
		{metrics, nil, []string{`set(resource.attributes["test"], "passed")`, `set(metric.description, "test passed")`}, Metric, ""},
		{logs, []string{`IsMatch(log.body, ".*password.*")`, `log.severity_number < SEVERITY_NUMBER_WARN`}, nil, Log, ""},
		{logs, nil, []string{`keep_keys(resource.attributes, ["service.name"])`}, Resource, ""},
		{logs, []string{`resource.attributes["a"] == "b"`}, []string{`set(log.attributes["x"], "y")`}, Log, ""},

		{traces, []string{`name == "x"`}, nil, "", `path name does not start with a context (resource, scope, span, spanevent), so its context cannot be inferred; write it with one, e.g. span.name, or set context in a group of its own at 1:1 in "name == \"x\""`},
		{traces, []string{`span.name == "x" and attributes["a"] == nil`}, nil, "", `path attributes["a"] does not start with a context`},
		{traces, []string{`span.name == "x" and status.code == 2`}, nil, "", `path status.code does not start with a context`},
		{traces, []string{`instrumentation_scope.name == "x"`}, nil, "", `path instrumentation_scope.name does not start with a context`},
		{metrics, nil, []string{`set(description, "x")`}, "", `e.g. metric.description`},
		{traces, []string{`log.body == "x"`}, nil, "", `path log.body: the log context is not available here; available: resource, scope, span, spanevent at 1:1`},
		{traces, []string{`IsRootSpan()`}, nil, "", `cannot infer the context: no path names one (resource, scope, span, spanevent); set context in a group`},
		{traces, []string{`true`}, nil, "", `cannot infer the context`},
		{traces, []string{`IsRootSpan() or spanevent.name == "bar"`}, nil, "", `IsRootSpan is available only in the span context, but the paths make it spanevent; put it in a group with context: span at 1:1`},
		{traces, []string{`resource.attributes["x"] == STATUS_CODE_ERROR`}, nil, "", `enum symbol STATUS_CODE_ERROR is not available in the resource context that the paths make it`},
		{traces, []string{`span.kind == SPAN_KIND_SERVERX`}, nil, "", `enum symbol SPAN_KIND_SERVERX is not known at 1:14`},
		{traces, []string{`Len(span.name) > 3`}, nil, "", `unsupported function "Len"`},
		{traces, nil, []string{`merge_maps(span.attributes, resource.attributes, "upsert")`}, "", `unsupported function "merge_maps"`},
	}
	for _, c := range cases {
		got, err := Infer(c.allowed, c.conditions, c.statements)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q %q: %q, %v; want error %q", c.conditions, c.statements, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %q: %q, %v; want %q", c.conditions, c.statements, got, err, c.want)
			continue
		}
		for _, s := range c.conditions {
			if _, err := ParseCondition(got, s); err != nil {
				t.Errorf("%q in %s: %v", s, got, err)
			}
		}
		for _, s := range c.statements {
			if _, err := ParseStatement(got, s); err != nil {
				t.Errorf("%q in %s: %v", s, got, err)
			}
		}
	}
}
