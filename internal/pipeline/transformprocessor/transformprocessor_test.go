package transformprocessor

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() {
	if _, ok := processor.Lookup("transform"); !ok { // registered once per test binary, whatever -count
		processor.Register(Factory)
	}
}

// configFile is a configuration with the processor transform/x, whose
// options start at line 7.
func configFile(options string) string {
	return `receivers:
  otlp:
    protocols:
      http:
processors:
  transform/x:
` + options + `
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [transform/x]
      exporters: [debug]
`
}

// decode parses options (indented under the processor) as the extension does.
func decode(t *testing.T, options string) (*Processor, error) {
	t.Helper()
	return decodeOptions(options)
}

func decodeOptions(options string) (*Processor, error) {
	cfg, err := config.Parse([]byte(configFile(options)), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	p, err := New(cfg.Processors["transform/x"].Options)
	if err != nil {
		return nil, err
	}
	return p.(*Processor), nil
}

// traces: one resource, one scope, a server span "GET /health" with an
// event and a client span "db.query".
func traces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("host.name", "localhost")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lib")
	sp := ss.Spans().AppendEmpty()
	sp.SetName("GET /health")
	sp.SetKind(ptrace.SpanKindServer)
	sp.Attributes().PutStr("http.route", "/health")
	sp.Attributes().PutStr("process.command_line", "app --password=hunter2 --v")
	sp.Attributes().PutStr("http.request.header.x-api-key", "k")
	sp.Attributes().PutDouble("nan", math.NaN())
	sp.Events().AppendEmpty().SetName("exception")
	sp = ss.Spans().AppendEmpty()
	sp.SetName("db.query")
	sp.SetKind(ptrace.SpanKindClient)
	sp.Attributes().PutStr("db.statement", "SELECT * FROM orders WHERE id = 12345")
	return td
}

// spanAttrs returns name: attributes (without nan) of every span.
func spanAttrs(td ptrace.Traces) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				a := sp.Attributes().AsRaw()
				delete(a, "nan")
				out[sp.Name()] = a
			}
		}
	}
	return out
}

func TestTraces(t *testing.T) {
	orig := spanAttrs(traces())
	with := func(span string, change func(map[string]any)) map[string]map[string]any {
		m := spanAttrs(traces())
		change(m[span])
		return m
	}
	cases := []struct {
		name, options string
		check         func(ptrace.Traces) any
		want          any
	}{
		{"flat list, span context inferred, where clause", "    trace_statements:\n      - set(span.attributes[\"test\"], \"pass\") where span.name == \"GET /health\"",
			func(td ptrace.Traces) any { return spanAttrs(td) },
			with("GET /health", func(a map[string]any) { a["test"] = "pass" })},
		{"statements run in order", "    trace_statements:\n      - set(span.attributes[\"a\"], \"1\")\n      - set(span.attributes[\"b\"], span.attributes[\"a\"])\n      - delete_key(span.attributes, \"a\")",
			func(td ptrace.Traces) any { return spanAttrs(td)["db.query"] },
			map[string]any{"db.statement": "SELECT * FROM orders WHERE id = 12345", "b": "1"}},
		{"upstream basic example", "    trace_statements:\n" +
			"      - keep_keys(span.attributes, [\"service.name\", \"http.route\", \"process.command_line\"])\n" +
			"      - replace_pattern(span.attributes[\"process.command_line\"], \"password\\\\=[^\\\\s]*(\\\\s?)\", \"password=***\")\n" +
			"      - limit(span.attributes, 100, [])\n      - truncate_all(span.attributes, 4096)",
			func(td ptrace.Traces) any { return spanAttrs(td) },
			map[string]map[string]any{"GET /health": {"http.route": "/health", "process.command_line": "app --password=***--v"}, "db.query": {}}},
		{"older groups with context and paths without prefix", "    trace_statements:\n      - context: span\n        statements:\n          - set(attributes[\"peer\"], \"db\") where kind == SPAN_KIND_CLIENT\n          - set(name, \"SELECT orders\") where attributes[\"db.statement\"] != nil",
			func(td ptrace.Traces) any {
				var names []string
				for _, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
					names = append(names, sp.Name())
				}
				return []any{names, spanAttrs(td)["SELECT orders"]["peer"]}
			}, []any{[]string{"GET /health", "SELECT orders"}, "db"}},
		{"group conditions: statements run where one holds", "    trace_statements:\n      - conditions:\n          - span.kind == SPAN_KIND_CLIENT\n          - span.name == \"nothing\"\n        statements:\n          - replace_pattern(span.attributes[\"db.statement\"], \"\\\\d+\", \"?\")",
			func(td ptrace.Traces) any { return spanAttrs(td) },
			with("db.query", func(a map[string]any) { a["db.statement"] = "SELECT * FROM orders WHERE id = ?" })},
		{"resource context", "    trace_statements:\n      - context: resource\n        statements: ['delete_key(attributes, \"host.name\")', 'set(attributes[\"deployment.environment.name\"], \"prod\")']",
			func(td ptrace.Traces) any { return td.ResourceSpans().At(0).Resource().Attributes().AsRaw() },
			map[string]any{"service.name": "checkout", "deployment.environment.name": "prod"}},
		{"resource inferred", "    trace_statements:\n      - delete_matching_keys(resource.attributes, \"^host\\\\.\")",
			func(td ptrace.Traces) any { return td.ResourceSpans().At(0).Resource().Attributes().AsRaw() },
			map[string]any{"service.name": "checkout"}},
		{"scope context", "    trace_statements:\n      - set(scope.attributes[\"seen\"], scope.name)",
			func(td ptrace.Traces) any {
				return td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Attributes().AsRaw()
			},
			map[string]any{"seen": "lib"}},
		{"span event context with span paths", "    trace_statements:\n      - set(spanevent.attributes[\"span\"], span.name) where spanevent.name == \"exception\"",
			func(td ptrace.Traces) any {
				return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().At(0).Attributes().AsRaw()
			}, map[string]any{"span": "GET /health"}},
		{"replace_all_patterns on keys", "    trace_statements:\n      - replace_all_patterns(span.attributes, \"key\", \"^http\\\\.request\\\\.header\\\\..*\", \"http.request.header.redacted\")",
			func(td ptrace.Traces) any { return spanAttrs(td)["GET /health"]["http.request.header.redacted"] }, "k"},
		{"no statements", "", func(td ptrace.Traces) any { return spanAttrs(td) }, orig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decode(t, c.options)
			if err != nil {
				t.Fatal(err)
			}
			td := traces()
			if err := p.ProcessTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
			if got := c.check(td); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	sm := rm.ScopeMetrics().AppendEmpty()
	h := sm.Metrics().AppendEmpty()
	h.SetName("http.server.request.duration")
	h.SetEmptyHistogram().DataPoints().AppendEmpty().Attributes().PutStr("http.route", "/health")
	s := sm.Metrics().AppendEmpty()
	s.SetName("requests")
	dp := s.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("http.route", "/orders")
	dp.Attributes().PutStr("request_id", "r-1")
	return md
}

func TestMetrics(t *testing.T) {
	cases := []struct {
		name, options string
		check         func(pmetric.Metrics) any
		want          any
	}{
		{"metric context with a resource statement (upstream example)", "    metric_statements:\n      - set(resource.attributes[\"test\"], \"passed\")\n      - set(metric.description, \"test passed\")",
			func(md pmetric.Metrics) any {
				ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
				return []any{md.ResourceMetrics().At(0).Resource().Attributes().AsRaw(), ms.At(0).Description(), ms.At(1).Description()}
			}, []any{map[string]any{"test": "passed"}, "test passed", "test passed"}},
		{"datapoint context inferred from the where clause", "    metric_statements:\n      - set(metric.description, \"health\") where datapoint.attributes[\"http.route\"] == \"/health\"",
			func(md pmetric.Metrics) any {
				ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
				return []string{ms.At(0).Description(), ms.At(1).Description()}
			}, []string{"health", ""}},
		{"datapoint attributes of every type", "    metric_statements:\n      - context: datapoint\n        statements: ['delete_key(attributes, \"request_id\")', 'set(attributes[\"x\"], metric.name)']",
			func(md pmetric.Metrics) any {
				ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
				return []any{ms.At(0).Histogram().DataPoints().At(0).Attributes().AsRaw(), ms.At(1).Sum().DataPoints().At(0).Attributes().AsRaw()}
			}, []any{map[string]any{"http.route": "/health", "x": "http.server.request.duration"}, map[string]any{"http.route": "/orders", "x": "requests"}}},
		{"metric type enum", "    metric_statements:\n      - set(metric.unit, \"s\") where metric.type == METRIC_DATA_TYPE_HISTOGRAM",
			func(md pmetric.Metrics) any {
				ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
				return []string{ms.At(0).Unit(), ms.At(1).Unit()}
			}, []string{"s", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decode(t, c.options)
			if err != nil {
				t.Fatal(err)
			}
			md := metrics()
			if err := p.ProcessMetrics(context.Background(), md); err != nil {
				t.Fatal(err)
			}
			if got := c.check(md); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	p, err := decode(t, "    log_statements:\n"+
		"      - set(log.severity_text, \"FAIL\") where log.body == \"request failed\"\n"+
		"      - replace_all_patterns(log.attributes, \"value\", \"/account/\\\\d{4}\", \"/account/{accountId}\")\n"+
		"      - replace_pattern(log.body, \"password=[^\\\\s]*\", \"password=***\")\n"+
		"      - set(log.attributes[\"sev\"], log.severity_number) where log.severity_number >= SEVERITY_NUMBER_WARN")
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	a := lrs.AppendEmpty()
	a.Body().SetStr("request failed")
	a.SetSeverityNumber(plog.SeverityNumberError)
	a.Attributes().PutStr("url.path", "/account/1234/orders")
	b := lrs.AppendEmpty()
	b.Body().SetStr("login password=hunter2 ok")
	if err := p.ProcessLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	got := []any{a.SeverityText(), a.Attributes().AsRaw(), b.Body().Str(), b.SeverityText(), b.Attributes().Len()}
	want := []any{"FAIL", map[string]any{"url.path": "/account/{accountId}/orders", "sev": int64(17)}, "login password=*** ok", "", 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

// TestErrorMode runs a statement that fails (set of an int span name), a
// where clause and a group condition that fail (IsMatch on NaN), with a
// statement after them that works.
func TestErrorMode(t *testing.T) {
	statements := "      - set(span.name, 5)\n      - set(span.attributes[\"a\"], \"1\") where IsMatch(span.attributes[\"nan\"], \"x\")\n      - set(span.attributes[\"after\"], true)"
	cases := []struct {
		name, options string
		wantErr, log  string
		after         bool
	}{
		{"default is ignore", "    trace_statements:\n" + statements, "",
			`level=WARN msg="transform processor: statements or conditions failed and were skipped (error_mode ignore)" signal=traces context=span errors=3 first="failed to execute statement: statement \"set(span.name, 5)\": expected string but got int64"`, true},
		{"silent", "    error_mode: silent\n    trace_statements:\n" + statements, "", "", true},
		{"propagate", "    error_mode: propagate\n    trace_statements:\n" + statements,
			`failed to execute statement: statement "set(span.name, 5)": expected string but got int64`, "", false},
		{"propagate from a where clause", "    error_mode: propagate\n    trace_statements:\n      - set(span.attributes[\"a\"], \"1\") where IsMatch(span.attributes[\"nan\"], \"x\")",
			`failed to execute statement: statement "set(span.attributes[\"a\"], \"1\") where IsMatch(span.attributes[\"nan\"], \"x\")": condition: IsMatch: cannot convert float64 to a string: json: unsupported value: NaN`, "", false},
		{"a group condition that fails is not met", "    trace_statements:\n      - error_mode: silent\n        conditions: ['IsMatch(span.attributes[\"nan\"], \"x\")', 'span.name == \"GET /health\"']\n        statements: ['set(span.attributes[\"after\"], true)']",
			"", "", true},
		{"propagate from a group condition", "    trace_statements:\n      - error_mode: propagate\n        conditions: ['IsMatch(span.attributes[\"nan\"], \"x\")']\n        statements: ['set(span.attributes[\"after\"], true)']",
			`failed to eval condition: IsMatch(span.attributes["nan"], "x"), IsMatch: cannot convert float64 to a string`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decode(t, c.options)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			p.log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
			td := traces()
			err = p.ProcessTraces(context.Background(), td)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(buf.String()); got != c.log {
				t.Errorf("log\n  %s\nwant\n  %s", got, c.log)
			}
			health := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			if v, _ := health.Attributes().Get("after"); v.Bool() != c.after {
				t.Errorf("the statement after the failing ones: ran %v, want %v", v.Bool(), c.after)
			}
			if _, ok := health.Attributes().Get("a"); ok {
				t.Error("a statement whose where clause failed ran")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"    trace_statements:\n      - merge_maps(span.attributes, resource.attributes, \"upsert\")",
			`config.yaml:8:9: processors.transform/x.trace_statements[0]: unsupported function "merge_maps"; supported editors: delete_key, delete_matching_keys, keep_keys, limit, replace_all_patterns, replace_pattern, set, truncate_all at 1:1 in "merge_maps(span.attributes, resource.attributes, \"upsert\")"`},
		{"    log_statements:\n      - context: log\n        statements:\n          - set(attributes[\"x\"], Concat([\"a\", \"!\"], \"\"))",
			`config.yaml:10:13: processors.transform/x.log_statements[0].statements[0]: unsupported function "Concat"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:22 in "set(attributes[\"x\"], Concat([\"a\", \"!\"], \"\"))"`},
		{"    metric_statements:\n      - convert_sum_to_gauge() where metric.name == \"x\"",
			`config.yaml:8:9: processors.transform/x.metric_statements[0]: unsupported function "convert_sum_to_gauge"; supported editors: delete_key, delete_matching_keys, keep_keys, limit, replace_all_patterns, replace_pattern, set, truncate_all at 1:1 in "convert_sum_to_gauge() where metric.name == \"x\""`},
		{"    trace_statements:\n      - set(span.name, \"x\")\n      - set(attributes[\"a\"], \"b\")",
			`config.yaml:9:9: processors.transform/x.trace_statements[1]: path attributes["a"] does not start with a context (resource, scope, span, spanevent), so its context cannot be inferred; write it with one, e.g. span.attributes["a"], or set context in a group of its own at 1:5 in "set(attributes[\"a\"], \"b\")"`},
		{"    metric_statements:\n      - context: exemplar\n        statements: ['set(attributes[\"a\"], \"b\")']",
			`config.yaml:8:18: processors.transform/x.metric_statements[0].context: the exemplar context is not supported; supported: resource, scope, metric, datapoint`},
		{"    log_statements:\n      - context: span\n        statements: ['set(attributes[\"a\"], \"b\")']",
			`config.yaml:8:18: processors.transform/x.log_statements[0].context: unsupported value "span"; supported: resource, scope, log`},
		{"    trace_statements:\n      - context: span\n        conditions: ['kind == 2']",
			`config.yaml:8:9: processors.transform/x.trace_statements[0]: statements is required: a list of statements`},
		{"    trace_statements:\n      - set(span.name, \"x\")\n      - statements: ['set(span.name, \"y\")']",
			`config.yaml:8:7: processors.transform/x.trace_statements: configuring multiple configuration styles is not supported: write only statements (strings) or only groups {context, error_mode, conditions, statements}`},
		{"    trace_statements:\n      - context: span\n        statements: ['set(name, \"x\") where']",
			`config.yaml:9:22: processors.transform/x.trace_statements[0].statements[0]: expected a value but found end of input at 1:21 in "set(name, \"x\") where"`},
		{"    trace_statements:\n      - context: span\n        conditions: ['name = \"x\"']\n        statements: ['set(name, \"y\")']",
			`config.yaml:9:22: processors.transform/x.trace_statements[0].conditions[0]: unexpected "=" at 1:6 in "name = \"x\""`},
		{"    trace_statements:\n      - statements: ['set(span.name, \"y\")']\n        cache: true",
			`config.yaml:9:9: processors.transform/x.trace_statements[0]: unknown key "cache"; supported: context, error_mode, conditions, statements, shared_cache`},
		{"    flatten:\n      log: true", `config.yaml:8:12: processors.transform/x.flatten.log: not supported: statements change the resource and scope that the log records of a batch share`},
		{"    profile_statements: []", `config.yaml:7:5: processors.transform/x.profile_statements: profiles are not a signal lambdaotel carries; remove it`},
		{"    error_mode: loud", `config.yaml:7:17: processors.transform/x.error_mode: unsupported value "loud"; supported: ignore, silent, propagate`},
		{"    trace_statements:\n      - ''", `config.yaml:8:9: processors.transform/x.trace_statements[0]: a statement cannot be empty`},
		{"    trace_statements:\n      - set(span.attributes, resource.attributes)",
			`config.yaml:8:9: processors.transform/x.trace_statements[0]: set: setting a whole map (span.attributes) is not supported; set its keys at 1:1 in "set(span.attributes, resource.attributes)"`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := decode(t, c.options)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant  %s", err, c.want)
			}
		})
	}
}
