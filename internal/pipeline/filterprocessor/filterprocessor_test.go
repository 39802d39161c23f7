package filterprocessor

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() {
	if _, ok := processor.Lookup("filter"); !ok { // registered once per test binary, whatever -count
		processor.Register(Factory)
	}
}

// configFile is a configuration with the processor filter/x, whose
// options start at line 7.
func configFile(options string) string {
	return `receivers:
  otlp:
    protocols:
      http:
processors:
  filter/x:
` + options + `
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [filter/x]
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
	p, err := New(cfg.Processors["filter/x"].Options)
	if err != nil {
		return nil, err
	}
	return p.(*Processor), nil
}

// traces: two resources; checkout has scopes lib.a (a health check with
// two events, a failed request with one) and lib.b (a client child span);
// billing has one internal span with a NaN attribute.
func traces() ptrace.Traces {
	td := ptrace.NewTraces()
	span := func(ss ptrace.ScopeSpans, name string, kind ptrace.SpanKind, ms int64, attrs map[string]any, events ...string) ptrace.Span {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(name)
		sp.SetKind(kind)
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{byte(ss.Spans().Len())})
		sp.SetStartTimestamp(pcommon.Timestamp(1e9))
		sp.SetEndTimestamp(pcommon.Timestamp(1e9 + ms*1e6))
		if err := sp.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
		for _, e := range events {
			ev := sp.Events().AppendEmpty()
			ev.SetName(e)
			ev.Attributes().PutBool("grpc", e == "exception")
		}
		return sp
	}
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("host.name", "localhost")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lib.a")
	span(ss, "GET /health", ptrace.SpanKindServer, 2, map[string]any{"http.route": "/health"}, "exception", "log")
	failed := span(ss, "GET /orders", ptrace.SpanKindServer, 900, map[string]any{"http.route": "/orders"}, "retry")
	failed.Status().SetCode(ptrace.StatusCodeError)
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lib.b")
	child := span(ss, "db.query", ptrace.SpanKindClient, 5, nil)
	child.SetParentSpanID(pcommon.SpanID{9})
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "billing")
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lib.a")
	span(ss, "charge", ptrace.SpanKindInternal, 1, map[string]any{"nan": math.NaN()})
	return td
}

// describeTraces lists service/scope/span[events].
func describeTraces(td ptrace.Traces) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		if rs.ScopeSpans().Len() == 0 {
			out = append(out, svc.Str()+"/(empty)")
		}
		for _, ss := range rs.ScopeSpans().All() {
			if ss.Spans().Len() == 0 {
				out = append(out, svc.Str()+"/"+ss.Scope().Name()+"/(empty)")
			}
			for _, sp := range ss.Spans().All() {
				var evs []string
				for _, ev := range sp.Events().All() {
					evs = append(evs, ev.Name())
				}
				out = append(out, fmt.Sprintf("%s/%s/%s[%s]", svc.Str(), ss.Scope().Name(), sp.Name(), strings.Join(evs, ",")))
			}
		}
	}
	return out
}

const (
	health  = "checkout/lib.a/GET /health[exception,log]"
	orders  = "checkout/lib.a/GET /orders[retry]"
	dbQuery = "checkout/lib.b/db.query[]"
	charge  = "billing/lib.a/charge[]"
)

// TestTraces drops spans, span events, scopes and resources by the
// conditions of the upstream documentation and of typical Lambda
// configurations, in the three ways of writing them.
func TestTraces(t *testing.T) {
	cases := []struct {
		name, options string
		want          []string
	}{
		{"nothing configured", "", []string{health, orders, dbQuery, charge}},
		{"older traces.span list", "    traces:\n      span:\n        - 'attributes[\"http.route\"] == \"/health\"'",
			[]string{orders, dbQuery, charge}},
		{"conditions are ORed", "    traces:\n      span:\n        - 'name == \"GET /health\"'\n        - 'kind == SPAN_KIND_CLIENT'",
			[]string{orders, charge}},
		{"inferred span context", "    trace_conditions:\n      - 'span.name == \"GET /health\"'", []string{orders, dbQuery, charge}},
		{"resource drops all it holds", "    trace_conditions:\n      - 'resource.attributes[\"service.name\"] == \"billing\"'",
			[]string{health, orders, dbQuery}},
		{"older traces.resource list", "    traces:\n      resource:\n        - 'attributes[\"service.name\"] == \"checkout\"'", []string{charge}},
		{"scope drops its spans", "    trace_conditions:\n      - 'scope.name == \"lib.b\"'", []string{health, orders, charge}},
		{"span events only; the span stays without them", "    traces:\n      spanevent:\n        - 'attributes[\"grpc\"] == true'\n        - 'IsMatch(name, \"^lo\")'",
			[]string{"checkout/lib.a/GET /health[]", orders, dbQuery, charge}},
		{"a span dropped takes its events", "    trace_conditions:\n      - 'span.name == \"GET /health\"'\n      - 'spanevent.name == \"retry\"'",
			[]string{"checkout/lib.a/GET /orders[]", dbQuery, charge}},
		{"a condition with resource and spanevent paths runs per span event", "    trace_conditions:\n      - 'resource.attributes[\"host.name\"] == \"localhost\" or spanevent.name == \"grpc.timeout\"'",
			[]string{"checkout/lib.a/GET /health[]", "checkout/lib.a/GET /orders[]", dbQuery, charge}},
		{"all spans of a scope and resource dropped: both go", "    trace_conditions:\n      - 'span.kind == SPAN_KIND_SERVER or span.name == \"charge\"'",
			[]string{dbQuery}},
		{"status, kind and not", "    trace_conditions:\n      - 'span.status.code != STATUS_CODE_ERROR and span.kind == SPAN_KIND_SERVER and not IsMatch(span.name, \"orders\")'",
			[]string{orders, dbQuery, charge}},
		{"duration by math on int paths", "    trace_conditions:\n      - '(span.end_time_unix_nano - span.start_time_unix_nano) / 1000000 < 500 and span.status.code != STATUS_CODE_ERROR'",
			[]string{orders}},
		{"advanced group with context for IsRootSpan", "    trace_conditions:\n      - context: span\n        conditions:\n          - IsRootSpan()\n      - conditions:\n          - spanevent.name == \"log\"",
			[]string{dbQuery}},
		{"advanced groups, inferred", "    trace_conditions:\n      - conditions: ['span.name == \"db.query\"']\n      - error_mode: propagate\n        conditions: ['spanevent.name == \"exception\"']",
			[]string{"checkout/lib.a/GET /health[log]", orders, charge}},
		{"non-HTTP spans (upstream example)", "    trace_conditions:\n      - 'span.attributes[\"http.route\"] == nil'", []string{health, orders}},
		{"older lists with context prefixes", "    traces:\n      span:\n        - 'span.attributes[\"http.route\"] != nil and resource.attributes[\"service.name\"] == \"checkout\"'",
			[]string{dbQuery, charge}},
		{"error_mode top-level", "    error_mode: silent\n    trace_conditions: ['span.name == \"charge\"']", []string{health, orders, dbQuery}},
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
			if got := describeTraces(td); !reflect.DeepEqual(got, c.want) {
				t.Errorf("left\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestEmptyContainers: a scope or resource that was empty before is
// removed too once conditions of its level or below run, as upstream.
func TestEmptyContainers(t *testing.T) {
	p, err := decode(t, "    trace_conditions: ['span.name == \"nothing\"']")
	if err != nil {
		t.Fatal(err)
	}
	td := traces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", "empty")
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "emptyscope")
	rs.ScopeSpans().AppendEmpty().Scope().SetName("s")
	if err := p.ProcessTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if got, want := describeTraces(td), []string{health, orders, dbQuery, charge}; !reflect.DeepEqual(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}

func metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("meter")
	h := sm.Metrics().AppendEmpty()
	h.SetName("http.server.request.duration")
	h.SetEmptyHistogram()
	for _, r := range []string{"/health", "/orders"} {
		h.Histogram().DataPoints().AppendEmpty().Attributes().PutStr("http.route", r)
	}
	g := sm.Metrics().AppendEmpty()
	g.SetName("queue.depth")
	g.SetEmptyGauge()
	for _, v := range []int64{42, 4} {
		dp := g.Gauge().DataPoints().AppendEmpty()
		dp.SetIntValue(v)
		dp.Attributes().PutStr("v", fmt.Sprint(v))
	}
	s := sm.Metrics().AppendEmpty()
	s.SetName("requests")
	s.SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("v", "1")
	su := sm.Metrics().AppendEmpty()
	su.SetName("latency.summary")
	su.SetEmptySummary().DataPoints().AppendEmpty().Attributes().PutStr("v", "s")
	eh := sm.Metrics().AppendEmpty()
	eh.SetName("latency.exp")
	eh.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Attributes().PutStr("v", "e")
	return md
}

// describeMetrics lists metric[point attribute values].
func describeMetrics(md pmetric.Metrics) []string {
	var out []string
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				var pts []string
				add := func(a pcommon.Map) {
					for _, v := range a.All() {
						pts = append(pts, v.AsString())
					}
				}
				switch m.Type() {
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						add(dp.Attributes())
					}
				case pmetric.MetricTypeGauge:
					for _, dp := range m.Gauge().DataPoints().All() {
						add(dp.Attributes())
					}
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						add(dp.Attributes())
					}
				case pmetric.MetricTypeSummary:
					for _, dp := range m.Summary().DataPoints().All() {
						add(dp.Attributes())
					}
				case pmetric.MetricTypeExponentialHistogram:
					for _, dp := range m.ExponentialHistogram().DataPoints().All() {
						add(dp.Attributes())
					}
				}
				out = append(out, m.Name()+"["+strings.Join(pts, ",")+"]")
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	all := []string{"http.server.request.duration[/health,/orders]", "queue.depth[42,4]", "requests[1]", "latency.summary[s]", "latency.exp[e]"}
	cases := []struct {
		name, options string
		want          []string
	}{
		{"nothing configured", "", all},
		{"older metrics.metric list", "    metrics:\n      metric:\n        - 'name == \"queue.depth\"'\n        - 'type == METRIC_DATA_TYPE_SUMMARY'",
			[]string{all[0], all[2], all[4]}},
		{"data point by attribute", "    metric_conditions:\n      - 'datapoint.attributes[\"http.route\"] == \"/health\"'",
			[]string{"http.server.request.duration[/orders]", all[1], all[2], all[3], all[4]}},
		{"metric and value (upstream example)", "    metric_conditions:\n      - 'metric.name == \"queue.depth\" and datapoint.value_int == 4'",
			[]string{all[0], "queue.depth[42]", all[2], all[3], all[4]}},
		{"a metric whose points are all dropped is dropped", "    metrics:\n      datapoint:\n        - 'metric.name == \"queue.depth\" or IsMatch(attributes[\"v\"], \"^[se]$\")'",
			[]string{all[0], all[2]}},
		{"resource", "    metric_conditions:\n      - 'resource.attributes[\"service.name\"] == \"checkout\"'", nil},
		{"metric type in the datapoint context", "    metrics:\n      datapoint:\n        - 'metric.type == METRIC_DATA_TYPE_HISTOGRAM'",
			[]string{all[1], all[2], all[3], all[4]}},
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
			if got := describeMetrics(md); !reflect.DeepEqual(got, c.want) {
				t.Errorf("left %v, want %v", got, c.want)
			}
		})
	}
}

func logs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, r := range []struct {
		body string
		sev  plog.SeverityNumber
	}{{"login password=x", plog.SeverityNumberInfo}, {"slow", plog.SeverityNumberWarn}, {"cache miss", plog.SeverityNumberDebug}} {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(r.body)
		lr.SetSeverityNumber(r.sev)
		lr.SetSeverityText(r.sev.String())
	}
	return ld
}

func describeLogs(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().AsString())
			}
		}
	}
	return out
}

func TestLogs(t *testing.T) {
	cases := []struct {
		name, options string
		want          []string
	}{
		{"older logs.log_record list", "    logs:\n      log_record:\n        - 'IsMatch(body, \".*password.*\")'\n        - 'severity_number < SEVERITY_NUMBER_INFO'",
			[]string{"slow"}},
		{"severity below WARN", "    log_conditions:\n      - 'log.severity_number < SEVERITY_NUMBER_WARN'", []string{"slow"}},
		{"severity text", "    log_conditions:\n      - 'log.severity_text == \"Debug\"'", []string{"login password=x", "slow"}},
		{"resource", "    log_conditions:\n      - 'resource.attributes[\"service.name\"] == \"checkout\"'", nil},
		{"older logs.resource list", "    logs:\n      resource:\n        - 'attributes[\"service.name\"] == \"other\"'", []string{"login password=x", "slow", "cache miss"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decode(t, c.options)
			if err != nil {
				t.Fatal(err)
			}
			ld := logs()
			if err := p.ProcessLogs(context.Background(), ld); err != nil {
				t.Fatal(err)
			}
			if got := describeLogs(ld); !reflect.DeepEqual(got, c.want) {
				t.Errorf("left %q, want %q", got, c.want)
			}
		})
	}
}

// TestErrorMode evaluates a condition that fails (IsMatch on a NaN
// attribute) next to one that drops "charge": ignore and silent take it as
// not met and go on (ignore logs it once per batch), propagate fails the
// batch.
func TestErrorMode(t *testing.T) {
	conditions := "    trace_conditions:\n      - 'IsMatch(span.attributes[\"nan\"], \"x\")'\n      - 'span.name == \"charge\"'"
	cases := []struct {
		name, options string
		wantErr, log  string
		want          []string
	}{
		{"default is ignore", conditions, "", `level=WARN msg="filter processor: conditions failed to evaluate and were taken as not met (error_mode ignore)" signal=traces errors=1 first="failed to eval condition: IsMatch(span.attributes[\"nan\"], \"x\"), IsMatch: cannot convert float64 to a string: json: unsupported value: NaN"`,
			[]string{health, orders, dbQuery}},
		{"silent", "    error_mode: silent\n" + conditions, "", "", []string{health, orders, dbQuery}},
		{"propagate", "    error_mode: propagate\n" + conditions,
			`failed to eval condition: IsMatch(span.attributes["nan"], "x"), IsMatch: cannot convert float64 to a string: json: unsupported value: NaN`, "", nil},
		{"a group's mode overrides the top-level", "    error_mode: propagate\n    trace_conditions:\n      - error_mode: silent\n        conditions: ['IsMatch(span.attributes[\"nan\"], \"x\")', 'span.name == \"charge\"']",
			"", "", []string{health, orders, dbQuery}},
		{"older lists use the top-level mode", "    error_mode: propagate\n    traces:\n      span: ['IsMatch(attributes[\"nan\"], \"x\")']",
			`failed to eval condition: IsMatch(attributes["nan"], "x")`, "", nil},
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
			if got := describeTraces(td); !reflect.DeepEqual(got, c.want) {
				t.Errorf("left %v, want %v", got, c.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"    [a]", `config.yaml:7:5: processors.filter/x: expected a mapping (key: value), got a list`},
		{"    error_mode: fail", `config.yaml:7:17: processors.filter/x.error_mode: unsupported value "fail"; supported: ignore, silent, propagate`},
		{"    trace_condition: []", `config.yaml:7:5: processors.filter/x: unknown key "trace_condition"; supported: error_mode, trace_conditions, metric_conditions, log_conditions, traces, metrics, logs, spans, profile_conditions, profiles`},
		{"    traces:\n      span: ['Len(name) > 3']",
			`config.yaml:8:14: processors.filter/x.traces.span[0]: unsupported function "Len"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:1 in "Len(name) > 3"`},
		{"    traces:\n      span_event: ['name == \"x\"']",
			`config.yaml:8:7: processors.filter/x.traces: unknown key "span_event"; supported: resource, span, spanevent`},
		{"    traces:\n      spanevent:\n        - IsRootSpan()",
			`config.yaml:9:11: processors.filter/x.traces.spanevent[0]: IsRootSpan: IsRootSpan is available only in the span context, not spanevent at 1:1 in "IsRootSpan()"`},
		{"    trace_conditions:\n      - 'name == \"x\"'",
			`config.yaml:8:9: processors.filter/x.trace_conditions[0]: path name does not start with a context (resource, scope, span, spanevent), so its context cannot be inferred; write it with one, e.g. span.name, or set context in a group of its own at 1:1 in "name == \"x\""`},
		{"    trace_conditions:\n      - 'IsRootSpan() or spanevent.name == \"bar\"'",
			`config.yaml:8:9: processors.filter/x.trace_conditions[0]: IsRootSpan is available only in the span context, but the paths make it spanevent; put it in a group with context: span at 1:1 in "IsRootSpan() or spanevent.name == \"bar\""`},
		{"    log_conditions:\n      - 'span.name == \"x\"'",
			`config.yaml:8:9: processors.filter/x.log_conditions[0]: path span.name: the span context is not available here; available: log, resource, scope at 1:1 in "span.name == \"x\""`},
		{"    metric_conditions:\n      - 'HasAttrOnDatapoint(\"k\", \"v\")'",
			`config.yaml:8:9: processors.filter/x.metric_conditions[0]: unsupported function "HasAttrOnDatapoint"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:1 in "HasAttrOnDatapoint(\"k\", \"v\")"`},
		{"    metric_conditions:\n      - 'IsString(\"k\")'",
			`config.yaml:8:9: processors.filter/x.metric_conditions[0]: cannot infer the context: no path names one (datapoint, metric, resource, scope); set context in a group at 1:1 in "IsString(\"k\")"`},
		{"    metric_conditions:\n      - context: metric\n        conditions: ['HasAttrOnDatapoint(\"k\", \"v\")']",
			`config.yaml:9:22: processors.filter/x.metric_conditions[0].conditions[0]: unsupported function "HasAttrOnDatapoint"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:1 in "HasAttrOnDatapoint(\"k\", \"v\")"`},
		{"    trace_conditions:\n      - 'span.name == \"x\"'\n      - conditions: ['span.name == \"y\"']",
			`config.yaml:8:7: processors.filter/x.trace_conditions: configuring multiple configuration styles is not supported: write only conditions (strings) or only groups {context, error_mode, conditions}`},
		{"    trace_conditions:\n      - context: log\n        conditions: ['body == \"x\"']",
			`config.yaml:8:18: processors.filter/x.trace_conditions[0].context: unsupported value "log"; supported: resource, scope, span, spanevent`},
		{"    trace_conditions:\n      - context: span",
			`config.yaml:8:9: processors.filter/x.trace_conditions[0]: conditions is required: a list of conditions`},
		{"    trace_conditions:\n      - conditions: ['span.name == \"y\"']\n        statements: []",
			`config.yaml:9:9: processors.filter/x.trace_conditions[0]: unknown key "statements"; supported: context, error_mode, conditions`},
		{"    trace_conditions:\n      - ''", `config.yaml:8:9: processors.filter/x.trace_conditions[0]: condition cannot be empty`},
		{"    trace_conditions: 'span.name == \"x\"'",
			`config.yaml:7:23: processors.filter/x.trace_conditions: expected a list of conditions or of {context, error_mode, conditions}, got "span.name == \"x\""`},
		{"    trace_conditions: ['span.name == \"x\"']\n    traces:\n      span: ['name == \"y\"']",
			`config.yaml:8:5: processors.filter/x: use either trace_conditions or traces, not both (the collector would ignore traces)`},
		{"    trace_conditions:\n      - '(span.end_time - span.start_time) < Duration(\"1s\") and span.status.code != STATUS_CODE_ERROR'",
			`config.yaml:8:9: processors.filter/x.trace_conditions[0]: unsupported function "Duration"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:37 in "(span.end_time - span.start_time) < Duration(\"1s\") and span.status.code != STATUS_CODE_ERROR"`},
		{"    profile_conditions: []", `config.yaml:7:5: processors.filter/x.profile_conditions: profiles are not a signal lambdaotel carries; remove it`},
		{"    traces:\n      span:\n        - 'attributes[\"a\"] + 1 > 2'",
			`config.yaml:9:11: processors.filter/x.traces.span[0]: math (+) is supported only on int and float literals and int paths, not path attributes["a"] at 1:17 in "attributes[\"a\"] + 1 > 2"`},
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
