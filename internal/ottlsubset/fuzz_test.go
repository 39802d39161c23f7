package ottlsubset

import "testing"

// FuzzParse parses arbitrary text as a condition and as a statement in
// every context, and infers its context as a flat list would; whatever
// parses is evaluated or executed once. Nothing may panic, and Infer
// returns only an allowed context. `go test` runs the seed corpus only.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`attributes["http.route"] == "/health"`,
		`IsMatch(name, ".*grpc.*") and not (kind == SPAN_KIND_SERVER or status.code != STATUS_CODE_ERROR)`,
		`severity_number < SEVERITY_NUMBER_WARN`,
		`metric.type == METRIC_DATA_TYPE_SUMMARY`,
		`attributes["raw"] == 0xcafe or attributes["list"] == [1, "a", 2.5, nil, true]`,
		`set(attributes["test"], "pass") where name == "operationA"`,
		`replace_pattern(body, "password=[^\\s]*", "password=***")`,
		`replace_all_patterns(attributes, "key", "^http\\.", "h.")`,
		`limit(attributes, 2, ["retry"])`,
		`keep_keys(resource.attributes, ["service.name"])`,
		`truncate_all(attributes, 3)`,
		`delete_matching_keys(attributes, "^x")`,
		`a - 1`, `"\x00"`, `((((`, `not`, `0x`, `1.e5`,
		`span.name == "x" and spanevent.attributes["grpc"] == true`,
		`IsRootSpan() and resource.attributes["k"] == "v"`,
		`set(metric.description, "x") where datapoint.attributes["k"] == "v"`,
		`IsMatch(log.body, ".*") or log.severity_number < SEVERITY_NUMBER_WARN`,
	} {
		f.Add(s)
	}
	contexts := []Context{Span, SpanEvent, Metric, DataPoint, Log, Resource, Scope}
	f.Fuzz(func(t *testing.T, src string) {
		for _, ctx := range contexts {
			it := fuzzItem(ctx)
			if c, err := ParseCondition(ctx, src); err == nil {
				c.Eval(it)
			} else if err.Error() == "" {
				t.Fatalf("empty error for %q", src)
			}
			if s, err := ParseStatement(ctx, src); err == nil {
				_ = s.Execute(it)
			}
		}
		for _, allowed := range [][]Context{{Resource, Scope, Span, SpanEvent}, {Resource, Scope, Metric, DataPoint}, {Resource, Scope, Log}} {
			if ctx, err := Infer(allowed, []string{src}, nil); err == nil {
				if !hasContext(allowed, ctx) {
					t.Fatalf("Infer(%q) = %s, not one of %v", src, ctx, allowed)
				}
				if c, err := ParseCondition(ctx, src); err == nil {
					c.Eval(fuzzItem(ctx))
				}
			}
			if ctx, err := Infer(allowed, nil, []string{src}); err == nil && !hasContext(allowed, ctx) {
				t.Fatalf("Infer(%q) = %s, not one of %v", src, ctx, allowed)
			}
		}
	})
}

func fuzzItem(ctx Context) *Item {
	switch ctx {
	case Log:
		return logItem()
	case Metric, DataPoint:
		return dataPointItem()
	}
	return spanItem()
}
