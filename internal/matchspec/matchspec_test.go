package matchspec_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/matchspec"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// A processor type that only reads include and exclude, so that the
// blocks are parsed as the configuration file parses them.
func init() {
	processor.Register(processor.Factory{
		Type: "matchtest",
		Decode: func(d processor.Decoder, _, value *yaml.Node, path string) any {
			return matchspec.Decode(d, d.Fields(value, path, []string{"include", "exclude"}), path)
		},
		New: func(any) (processor.Processor, error) { return nil, nil },
	})
	// The same with the filter processor's names of log properties.
	processor.Register(processor.Factory{
		Type: "matchnamed",
		Decode: func(d processor.Decoder, _, value *yaml.Node, path string) any {
			return matchspec.DecodeNamed(d, d.Fields(value, path, []string{"include", "exclude"}), path,
				map[string]string{"match_type": "match_type", "log_bodies": "bodies", "attributes": "record_attributes", "resources": "resource_attributes"})
		},
		New: func(any) (processor.Processor, error) { return nil, nil },
	})
}

func parse(t *testing.T, blocks string) (matchspec.Config, error) {
	t.Helper()
	return parseAs(t, "matchtest", blocks)
}

func parseAs(t *testing.T, typ, blocks string) (matchspec.Config, error) {
	t.Helper()
	yml := "receivers:\n  otlp:\n    protocols:\n      http:\nprocessors:\n  " + typ + ":\n" + blocks + "\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [" + typ + "]\n      exporters: [debug]\n"
	cfg, err := config.Parse([]byte(yml), "config.yaml", func(string) string { return "" })
	if err != nil {
		return matchspec.Config{}, err
	}
	return cfg.Processors[typ].Options.(matchspec.Config), nil
}

// item is one span, log record and metric with the same resource, scope
// and attributes.
func item() (pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span, plog.LogRecord, pmetric.Metric) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "checkout")
	res.Attributes().PutStr("deployment.environment.name", "prod")
	scope := pcommon.NewInstrumentationScope()
	scope.SetName("otelfunc")
	scope.SetVersion("1.2.0")
	span := ptrace.NewSpan()
	span.SetName("GET /users/{id}")
	span.SetKind(ptrace.SpanKindServer)
	span.Attributes().PutStr("http.route", "/users/{id}")
	span.Attributes().PutInt("http.status_code", 200)
	span.Attributes().PutBool("cached", true)
	lr := plog.NewLogRecord()
	lr.Body().SetStr("payment declined for order 42")
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	lr.Attributes().PutStr("http.route", "/users/{id}")
	m := pmetric.NewMetric()
	m.SetName("http.server.duration")
	return res, scope, span, lr, m
}

// TestSkip: which items a block selects, per signal, with the collector's
// semantics (unanchored regexps, typed strict values, all listed
// attributes required, any one list item enough).
func TestSkip(t *testing.T) {
	cases := []struct {
		name, blocks           string
		span, log, metric      bool // skipped?
		spanOnly, logOnly, met bool // which of span, log, metric the case checks
	}{
		{name: "include service strict", blocks: "include: {match_type: strict, services: [checkout, cart]}", span: false, spanOnly: true},
		{name: "include service strict, other", blocks: "include: {match_type: strict, services: [cart]}", span: true, spanOnly: true},
		{name: "regexp is unanchored", blocks: "include: {match_type: regexp, span_names: ['users']}", span: false, spanOnly: true},
		{name: "anchored regexp", blocks: "include: {match_type: regexp, span_names: ['^users']}", span: true, spanOnly: true},
		{name: "span kind strict", blocks: "include: {match_type: strict, span_kinds: [SPAN_KIND_SERVER]}", span: false, spanOnly: true},
		{name: "span kind other", blocks: "exclude: {match_type: strict, span_kinds: [SPAN_KIND_CLIENT]}", span: false, spanOnly: true},
		{name: "exclude by attribute value, same type", blocks: "exclude: {match_type: strict, attributes: [{key: http.status_code, value: 200}]}", span: true, spanOnly: true},
		{name: "a string value does not equal an int", blocks: "exclude: {match_type: strict, attributes: [{key: http.status_code, value: '200'}]}", span: false, spanOnly: true},
		{name: "regexp on an int's string form", blocks: "include: {match_type: regexp, attributes: [{key: http.status_code, value: '^2..$'}]}", span: false, spanOnly: true},
		{name: "key presence only", blocks: "include: {match_type: strict, attributes: [{key: cached}]}", span: false, spanOnly: true},
		{name: "every attribute must match", blocks: "include: {match_type: strict, attributes: [{key: cached, value: true}, {key: missing}]}", span: true, spanOnly: true},
		{name: "resources", blocks: "include: {match_type: strict, resources: [{key: deployment.environment.name, value: prod}]}", span: false, log: false, metric: false, spanOnly: true, logOnly: true, met: true},
		{name: "resources, other value", blocks: "include: {match_type: strict, resources: [{key: deployment.environment.name, value: dev}]}", span: true, log: true, metric: true, spanOnly: true, logOnly: true, met: true},
		{name: "library with version", blocks: "include: {match_type: strict, libraries: [{name: otelfunc, version: 1.2.0}]}", span: false, log: false, spanOnly: true, logOnly: true},
		{name: "library, other version", blocks: "include: {match_type: strict, libraries: [{name: otelfunc, version: 1.3.0}]}", span: true, log: true, spanOnly: true, logOnly: true},
		{name: "library, empty version matches only empty", blocks: "include: {match_type: strict, libraries: [{name: otelfunc, version: ''}]}", span: true, spanOnly: true},
		{name: "include then exclude", blocks: "include: {match_type: strict, services: [checkout]}\nexclude: {match_type: regexp, span_names: ['^GET ']}", span: true, spanOnly: true},
		{name: "log body regexp", blocks: "include: {match_type: regexp, log_bodies: ['declined']}", log: false, logOnly: true},
		{name: "log severity text", blocks: "exclude: {match_type: strict, log_severity_texts: [WARN]}", log: true, logOnly: true},
		{name: "log severity number at least INFO", blocks: "include: {match_type: strict, log_severity_number: {min: INFO}}", log: false, logOnly: true},
		{name: "log severity number at least ERROR", blocks: "include: {match_type: strict, log_severity_number: {min: 17}}", log: true, logOnly: true},
		{name: "metric names", blocks: "include: {match_type: regexp, metric_names: ['^http\\.']}", metric: false, met: true},
		{name: "metric names, other", blocks: "exclude: {match_type: strict, metric_names: [http.server.duration]}", metric: true, met: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := parse(t, "    "+strings.ReplaceAll(c.blocks, "\n", "\n    "))
			if err != nil {
				t.Fatal(err)
			}
			res, scope, span, lr, metric := item()
			if got := m.SkipSpan(res, scope, span); c.spanOnly && got != c.span {
				t.Errorf("span skipped %v, want %v", got, c.span)
			}
			if got := m.SkipLog(res, scope, lr); c.logOnly && got != c.log {
				t.Errorf("log record skipped %v, want %v", got, c.log)
			}
			if got := m.SkipMetric(res, metric); c.met && got != c.metric {
				t.Errorf("metric skipped %v, want %v", got, c.metric)
			}
		})
	}
}

// TestCheckSignal: what upstream refuses per signal when it builds the
// processor for a pipeline of that signal.
func TestCheckSignal(t *testing.T) {
	cases := []struct{ blocks, traces, metrics, logs string }{
		{"include: {match_type: strict, services: [a]}", "",
			"include: services cannot match metrics; for metrics use metric_names, resources",
			"include: services cannot match logs; for logs use log_bodies, log_severity_texts, log_severity_number, attributes, resources, libraries"},
		{"exclude: {match_type: strict, log_bodies: [a]}", "exclude: log_bodies cannot match traces; for traces use services, span_names, span_kinds, attributes, resources, libraries",
			"exclude: log_bodies cannot match metrics; for metrics use metric_names, resources", ""},
		{"include: {match_type: strict, metric_names: [a]}", "include: metric_names cannot match traces; for traces use services, span_names, span_kinds, attributes, resources, libraries", "",
			"include: metric_names cannot match logs; for logs use log_bodies, log_severity_texts, log_severity_number, attributes, resources, libraries"},
		{"include: {match_type: strict}", "include: nothing to match traces on: give at least one of services, span_names, span_kinds, attributes, resources, libraries",
			"include: nothing to match metrics on: give at least one of metric_names, resources",
			"include: nothing to match logs on: give at least one of log_bodies, log_severity_texts, log_severity_number, attributes, resources, libraries"},
		{"include: {match_type: strict, resources: [{key: a}]}", "", "", ""},
		{"exclude: {match_type: strict, attributes: [{key: a}]}", "", "exclude: attributes cannot match metrics; for metrics use metric_names, resources", ""},
	}
	for _, c := range cases {
		m, err := parse(t, "    "+c.blocks)
		if err != nil {
			t.Fatal(err)
		}
		for signal, want := range map[string]string{"traces": c.traces, "metrics": c.metrics, "logs": c.logs} {
			err := m.CheckSignal(signal)
			if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
				t.Errorf("%s in %s: error %v, want %q", c.blocks, signal, err, want)
			}
		}
	}
}

// TestDecodeNamed: blocks read under other key names accept only those
// names, and messages name the key as written.
func TestDecodeNamed(t *testing.T) {
	m, err := parseAs(t, "matchnamed", "    include: {match_type: regexp, bodies: [declined], record_attributes: [{key: http.route}]}")
	if err != nil {
		t.Fatal(err)
	}
	res, scope, _, lr, _ := item()
	if m.SkipLog(res, scope, lr) || m.Include.LogBodies == nil || len(m.Include.Attributes) != 1 {
		t.Errorf("bodies and record_attributes not read as log_bodies and attributes: %v", m)
	}
	for blocks, want := range map[string]string{
		"    include: {match_type: strict, log_bodies: [a]}":                   `config.yaml:7:35: processors.matchnamed.include: unknown key "log_bodies"; supported: match_type, bodies, record_attributes, resource_attributes`,
		"    exclude: {match_type: regexp, bodies: ['(']}":                     "config.yaml:7:44: processors.matchnamed.exclude.bodies: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`",
		"    exclude: {match_type: regexp, resource_attributes: [{value: a}]}": `config.yaml:7:57: processors.matchnamed.exclude.resource_attributes[0]: key is required (an attribute name)`,
	} {
		if _, err := parseAs(t, "matchnamed", blocks); err == nil || err.Error() != want {
			t.Errorf("%s: error %v\nwant %s", blocks, err, want)
		}
	}
}

// TestMetricLevels: the filter processor's metric matching runs resources
// and names apart, so exclude drops what matches either, where SkipMetric
// (the attributes processor's) needs both.
func TestMetricLevels(t *testing.T) {
	cases := []struct {
		blocks                 string
		resource, name, metric bool // SkipMetricResource, SkipMetricName, SkipMetric
	}{
		{"exclude: {match_type: strict, metric_names: [other], resources: [{key: service.name, value: checkout}]}", true, false, false},
		{"exclude: {match_type: strict, metric_names: [http.server.duration], resources: [{key: service.name, value: cart}]}", false, true, false},
		{"include: {match_type: strict, metric_names: [http.server.duration], resources: [{key: service.name, value: cart}]}", true, false, true},
		{"include: {match_type: regexp, resources: [{key: service.name, value: ^check}]}", false, false, false},
		{"exclude: {match_type: regexp, metric_names: [duration]}", false, true, true},
	}
	for _, c := range cases {
		m, err := parse(t, "    "+c.blocks)
		if err != nil {
			t.Fatal(err)
		}
		res, _, _, _, metric := item()
		if got := m.SkipMetricResource(res); got != c.resource {
			t.Errorf("%s: resource skipped %v, want %v", c.blocks, got, c.resource)
		}
		if got := m.SkipMetricName(metric); got != c.name {
			t.Errorf("%s: name skipped %v, want %v", c.blocks, got, c.name)
		}
		if got := m.SkipMetric(res, metric); got != c.metric {
			t.Errorf("%s: metric skipped %v, want %v", c.blocks, got, c.metric)
		}
	}
}
