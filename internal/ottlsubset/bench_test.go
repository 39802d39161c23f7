package ottlsubset

import "testing"

// BenchmarkParseCondition measures parsing a typical health-check filter.
func BenchmarkParseCondition(b *testing.B) {
	for b.Loop() {
		if _, err := ParseCondition(Span, `attributes["http.route"] == "/health" or IsMatch(name, "^GET /(health|ready)")`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalCondition measures evaluating it against one span.
func BenchmarkEvalCondition(b *testing.B) {
	c, err := ParseCondition(Span, `kind == SPAN_KIND_SERVER and (attributes["http.route"] == "/nope" or IsMatch(name, "^GET /(health|ready)"))`)
	if err != nil {
		b.Fatal(err)
	}
	it := spanItem()
	for b.Loop() {
		if !c.Eval(it) {
			b.Fatal("want true")
		}
	}
}

// BenchmarkExecuteStatement measures a transform statement with a where clause.
func BenchmarkExecuteStatement(b *testing.B) {
	s, err := ParseStatement(Span, `set(attributes["probe"], true) where attributes["http.route"] == "/health"`)
	if err != nil {
		b.Fatal(err)
	}
	it := spanItem()
	for b.Loop() {
		if err := s.Execute(it); err != nil {
			b.Fatal(err)
		}
	}
}
