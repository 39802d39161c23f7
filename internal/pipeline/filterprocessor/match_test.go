package filterprocessor

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestMatchForm runs the include/exclude match form of the three signals
// with upstream's semantics: include keeps only what matches, exclude
// drops what matches, include runs first; metrics match resource
// attributes and names at two levels; a block without properties is
// left out.
func TestMatchForm(t *testing.T) {
	t.Run("traces", func(t *testing.T) {
		cases := []struct {
			name, options string
			want          []string
		}{
			{"exclude span_names strict", `
    spans:
      exclude:
        match_type: strict
        span_names: [GET /health]`, []string{orders, dbQuery, charge}},
			{"include services regexp (unanchored)", `
    spans:
      include:
        match_type: regexp
        services: [heck]`, []string{health, orders, dbQuery}},
			{"include then exclude", `
    spans:
      include:
        match_type: strict
        span_kinds: [SPAN_KIND_SERVER]
      exclude:
        match_type: regexp
        attributes: [{key: http.route, value: health}]`, []string{orders}},
			{"every property of a block must match", `
    spans:
      exclude:
        match_type: regexp
        span_names: [GET]
        libraries: [{name: ^lib\.a$}]`, []string{dbQuery, charge}},
			{"resource attribute present", `
    spans:
      include:
        match_type: strict
        resources: [{key: host.name}]`, []string{health, orders, dbQuery}},
			{"nothing matched: nothing dropped", `
    spans:
      exclude:
        match_type: strict
        services: [other]`, []string{health, orders, dbQuery, charge}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := decode(t, strings.TrimPrefix(c.options, "\n"))
				if err != nil {
					t.Fatal(err)
				}
				td := traces()
				if err := p.ProcessTraces(context.Background(), td); err != nil {
					t.Fatal(err)
				}
				if got := describeTraces(td); !reflect.DeepEqual(got, c.want) {
					t.Errorf("left\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
				}
			})
		}
	})
	t.Run("metrics", func(t *testing.T) {
		// checkout's five metrics, and billing's requests[b].
		checkout := []string{"http.server.request.duration[/health,/orders]", "queue.depth[42,4]", "requests[1]", "latency.summary[s]", "latency.exp[e]"}
		billing := "requests[b]"
		cases := []struct {
			name, options string
			want          []string
		}{
			{"include metric_names strict", `
    metrics:
      include:
        match_type: strict
        metric_names: [requests, queue.depth]`, []string{checkout[1], checkout[2], billing}},
			{"include metric_names regexp", `
    metrics:
      regexp:
        cacheenabled: true
      include:
        match_type: regexp
        metric_names: ['^latency\.']`, []string{checkout[3], checkout[4]}},
			{"exclude resource_attributes: the resource and all its metrics", `
    metrics:
      exclude:
        match_type: strict
        resource_attributes: [{key: service.name, value: billing}]`, checkout},
			{"exclude drops what matches either level", `
    metrics:
      exclude:
        match_type: strict
        metric_names: [requests]
        resource_attributes: [{key: service.name, value: billing}]`, []string{checkout[0], checkout[1], checkout[3], checkout[4]}},
			{"include keeps what matches both levels", `
    metrics:
      include:
        match_type: regexp
        metric_names: [requests]
        resource_attributes: [{key: service.name, value: ^check}]`, []string{checkout[2]}},
			{"include then exclude", `
    metrics:
      include:
        match_type: regexp
        metric_names: ['^(requests|queue)']
      exclude:
        match_type: strict
        metric_names: [queue.depth]`, []string{checkout[2], billing}},
			{"a block without properties is left out", `
    metrics:
      include:
        match_type: strict
        metric_names: []`, append(checkout[:5:5], billing)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := decode(t, strings.TrimPrefix(c.options, "\n"))
				if err != nil {
					t.Fatal(err)
				}
				md := metrics()
				rm := md.ResourceMetrics().AppendEmpty()
				rm.Resource().Attributes().PutStr("service.name", "billing")
				m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
				m.SetName("requests")
				m.SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("v", "b")
				if err := p.ProcessMetrics(context.Background(), md); err != nil {
					t.Fatal(err)
				}
				if got := describeMetrics(md); !reflect.DeepEqual(got, c.want) {
					t.Errorf("left %v, want %v", got, c.want)
				}
			})
		}
	})
	t.Run("logs", func(t *testing.T) {
		// logs() and a record without severity; "slow" has ms=900.
		all := []string{"login password=x", "slow", "cache miss", "no severity"}
		cases := []struct {
			name, options string
			want          []string
		}{
			{"exclude bodies regexp", `
    logs:
      exclude:
        match_type: regexp
        bodies: [password]`, all[1:]},
			{"include severity_number", `
    logs:
      include:
        match_type: strict
        severity_number: {min: WARN}`, []string{"slow"}},
			{"include severity_number, undefined too", `
    logs:
      include:
        match_type: strict
        severity_number: {min: warn, match_undefined: true}`, []string{"slow", "no severity"}},
			{"include severity_number by number", `
    logs:
      include:
        match_type: strict
        severity_number:
          min: "9"`, all[:2]},
			{"include severity_texts", `
    logs:
      include:
        match_type: strict
        severity_texts: [Warn, Debug]`, all[1:3]},
			{"exclude record_attributes of the same type", `
    logs:
      exclude:
        match_type: strict
        record_attributes: [{key: ms, value: 900}]`, []string{all[0], all[2], all[3]}},
			{"a string does not equal an int", `
    logs:
      exclude:
        match_type: strict
        record_attributes: [{key: ms, value: "900"}]`, all},
			{"exclude resource_attributes", `
    logs:
      exclude:
        match_type: regexp
        resource_attributes: [{key: service.name, value: ^check}]`, nil},
			{"include then exclude", `
    logs:
      include:
        match_type: strict
        severity_number: {min: DEBUG}
      exclude:
        match_type: regexp
        bodies: ['^s']`, []string{all[0], all[2]}},
			{"a block without properties is left out", `
    logs:
      exclude:
        match_type: strict`, all},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := decode(t, strings.TrimPrefix(c.options, "\n"))
				if err != nil {
					t.Fatal(err)
				}
				ld := logs()
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				lrs.At(1).Attributes().PutInt("ms", 900)
				lrs.AppendEmpty().Body().SetStr("no severity")
				if err := p.ProcessLogs(context.Background(), ld); err != nil {
					t.Fatal(err)
				}
				if got := describeLogs(ld); !reflect.DeepEqual(got, c.want) {
					t.Errorf("left %q, want %q", got, c.want)
				}
			})
		}
	})
}

// TestMatchDecodeErrors: mistakes in the match form are refused with the
// place and what to write instead.
func TestMatchDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{`
    metrics:
      include:
        match_type: expr
        expressions: ['MetricName == "x"']`,
			`config.yaml:9:9: processors.filter/x.metrics.include.match_type: match_type expr and its expressions (the expr language) are not supported; use match_type strict or regexp with metric_names and resource_attributes, or write the expressions as metric_conditions, which drop what they match, e.g. 'metric.name == "x" and metric.type == METRIC_DATA_TYPE_SUM' or 'datapoint.attributes["k"] == "v"'`},
		{`
    metrics:
      exclude:
        match_type: strict
        metric_names: [a]
        expressions: ['MetricName == "x"']`,
			`config.yaml:11:9: processors.filter/x.metrics.exclude.expressions: match_type expr and its expressions (the expr language) are not supported; use match_type strict or regexp with metric_names and resource_attributes, or write the expressions as metric_conditions, which drop what they match, e.g. 'metric.name == "x" and metric.type == METRIC_DATA_TYPE_SUM' or 'datapoint.attributes["k"] == "v"'`},
		{`
    metrics:
      metric: ['name == "x"']
      exclude:
        match_type: strict
        metric_names: [a]`,
			`config.yaml:8:7: processors.filter/x.metrics: use either metric or include/exclude, not both (the collector refuses both)`},
		{`
    metrics:
      include:
        match_type: regexp
        resource_attributes: [{key: k, value: 1}]`,
			`config.yaml:10:47: processors.filter/x.metrics.include.resource_attributes[0].value: match_type regexp takes a string (a regular expression), got 1`},
		{`
    metrics:
      include:
        metric_names: [a]`,
			`config.yaml:8:7: processors.filter/x.metrics.include: match_type is required: strict or regexp`},
		{`
    metrics:
      include:
        match_type: strict
        metric_names: [a]
        span_names: [b]`,
			`config.yaml:11:9: processors.filter/x.metrics.include: unknown key "span_names"; supported: match_type, regexp, metric_names, resource_attributes`},
		{`
    spans:
      exclude:
        match_type: strict
        span_names: [a]
    trace_conditions: ['span.name == "b"']`,
			`config.yaml:7:5: processors.filter/x: use either trace_conditions or spans (include/exclude), not both (the collector refuses both)`},
		{`
    spans:
      include:
        match_type: strict
        log_bodies: [a]`,
			`config.yaml:7:5: processors.filter/x.spans: include: log_bodies cannot match traces; for traces use services, span_names, span_kinds, attributes, resources, libraries`},
		{`
    spans:
      include:
        match_type: strict`,
			`config.yaml:7:5: processors.filter/x.spans: include: nothing to match traces on: give at least one of services, span_names, span_kinds, attributes, resources, libraries`},
		{`
    spans:
      exclude:
        match_type: regexp
        span_names: ['(']`,
			"config.yaml:10:22: processors.filter/x.spans.exclude.span_names: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{`
    spans:
      exclude:
        match_type: strict
        span_kinds: [SERVER]`,
			`config.yaml:10:21: processors.filter/x.spans.exclude.span_kinds: "SERVER" is not a span kind; with match_type strict use one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER`},
		{`
    logs:
      include:
        match_type: strict
        attributes: [{key: k}]`,
			`config.yaml:10:9: processors.filter/x.logs.include: unknown key "attributes"; supported: match_type, bodies, severity_texts, severity_number, record_attributes, resource_attributes`},
		{`
    logs:
      include:
        match_type: strict
        severity_number: {min: LOUD}`,
			`config.yaml:10:32: processors.filter/x.logs.include.severity_number.min: "LOUD" is not a severity: a number from 1 to 24 or a name such as INFO, WARN, ERROR3`},
		{`
    logs:
      log_record: ['body == "x"']
      exclude:
        match_type: strict
        bodies: [a]`,
			`config.yaml:8:7: processors.filter/x.logs: use either log_record or include/exclude, not both (the collector refuses both)`},
		{`
    logs:
      exclude:
        match_type: exact
        bodies: [a]`,
			`config.yaml:9:21: processors.filter/x.logs.exclude.match_type: unsupported value "exact"; supported: strict, regexp`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := decode(t, strings.TrimPrefix(c.options, "\n"))
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant  %s", err, c.want)
			}
		})
	}
}
