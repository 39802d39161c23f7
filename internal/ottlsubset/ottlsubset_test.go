package ottlsubset

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanItem is a server span of a health check that failed, with its
// resource and scope.
func spanItem() *Item {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("faas.name", "checkout-fn")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/lambdaotel/lambdaotel")
	ss.Scope().SetVersion("1.2.3")
	sp := ss.Spans().AppendEmpty()
	sp.SetName("GET /health")
	sp.SetKind(ptrace.SpanKindServer)
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("boom")
	sp.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	sp.SetSpanID(pcommon.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})
	sp.SetStartTimestamp(pcommon.Timestamp(1_000_000_000))
	sp.SetEndTimestamp(pcommon.Timestamp(1_750_000_000))
	a := sp.Attributes()
	a.PutStr("http.route", "/health")
	a.PutStr("http.request.method", "GET")
	a.PutInt("http.response.status_code", 503)
	a.PutDouble("ratio", 0.5)
	a.PutBool("retry", true)
	a.PutEmptyBytes("raw").FromRaw([]byte{0xca, 0xfe})
	_ = a.PutEmptySlice("list").FromRaw([]any{int64(1), "a"})
	a.PutEmptyMap("obj").PutInt("a", 1)
	a.PutEmpty("empty")
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "TimeoutError")
	ev.Attributes().PutBool("grpc", true)
	return &Item{Resource: rs.Resource(), Scope: ss.Scope(), Span: sp, SpanEvent: ev}
}

func logItem() *Item {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr("login failed password=hunter2 user=bob")
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Attributes().PutStr("faas.invocation_id", "abc")
	return &Item{Resource: rl.Resource(), Scope: sl.Scope(), Log: lr}
}

func dataPointItem() *Item {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	sm := rm.ScopeMetrics().AppendEmpty()
	m := sm.Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("s")
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("http.route", "/health")
	return &Item{Resource: rm.Resource(), Scope: sm.Scope(), Metric: m, DataPoint: dp}
}

func numberPointItem() *Item {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	sm := rm.ScopeMetrics().AppendEmpty()
	m := sm.Metrics().AppendEmpty()
	m.SetName("queue.depth")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(42)
	return &Item{Resource: rm.Resource(), Scope: sm.Scope(), Metric: m, DataPoint: dp}
}

// TestConditions evaluates conditions from the filter processor's
// documentation, from user configurations and from OTTL's language
// documentation, with the result OTTL gives.
func TestConditions(t *testing.T) {
	span, log, dp, num := spanItem(), logItem(), dataPointItem(), numberPointItem()
	cases := []struct {
		ctx  Context
		cond string
		it   *Item
		want bool
	}{
		// filter processor README and common health-check drops
		{Span, `attributes["http.route"] == "/health"`, span, true},
		{Span, `attributes["container.name"] == "app_container_1"`, span, false},
		{Span, `resource.attributes["service.name"] == "checkout"`, span, true},
		{Span, `name == "app_3"`, span, false},
		{Span, `name == "GET /health"`, span, true},
		{Span, `span.name == "GET /health"`, span, true},
		{Span, `IsMatch(attributes["http.route"], "^/health")`, span, true},
		{Span, `IsMatch(name, ".*/ready.*")`, span, false},
		{Span, `attributes["http.request.method"] == nil`, span, false},
		{Span, `attributes["http.request.method"] != nil`, span, true},
		{Span, `attributes["missing"] == nil`, span, true},
		{Span, `attributes["empty"] == nil`, span, true},
		{Span, `kind == SPAN_KIND_SERVER`, span, true},
		{Span, `kind != SPAN_KIND_SERVER and kind != SPAN_KIND_CONSUMER`, span, false},
		{Span, `kind == 2`, span, true},
		{Span, `kind == +2 and kind != -2 and kind > 0`, span, true},
		{Span, `kind.string == "Server"`, span, true},
		{Span, `status.code == STATUS_CODE_ERROR`, span, true},
		{Span, `status.code != STATUS_CODE_ERROR`, span, false},
		{Span, `status.message == "boom"`, span, true},
		{Span, `trace_id.string == "4bf92f3577b34da6a3ce929d0e0e4736"`, span, true},
		{Span, `span_id.string == "00f067aa0ba902b7"`, span, true},
		{Span, `parent_span_id.string == "0000000000000000"`, span, true},
		{Span, `end_time_unix_nano > 1500000000`, span, true},
		{Span, `instrumentation_scope.name == "github.com/lambdaotel/lambdaotel"`, span, true},
		{Span, `scope.version == "1.2.3"`, span, true},
		{Span, `attributes["http.response.status_code"] >= 500`, span, true},
		{Span, `attributes["http.response.status_code"] < 500.5`, span, false},
		{Span, `attributes["http.response.status_code"] == 503.0`, span, true},
		{Span, `attributes["ratio"] > 0.25`, span, true},
		{Span, `attributes["ratio"] <= .5`, span, true},
		{Span, `attributes["retry"] == true`, span, true},
		{Span, `attributes["raw"] == 0xcafe`, span, true},
		{Span, `attributes["raw"] != 0xCAFF`, span, true},
		{Span, `attributes["list"] == [1, "a"]`, span, true},
		{Span, `attributes["list"] == ["a", 1]`, span, false},
		{Span, `IsMap(attributes["obj"]) and IsList(attributes["list"])`, span, true},
		{Span, `IsString(name) and IsInt(kind) and IsDouble(attributes["ratio"]) and IsBool(attributes["retry"])`, span, true},
		{Span, `IsString(attributes["missing"])`, span, false},
		{Span, `IsRootSpan() and kind == SPAN_KIND_SERVER`, span, true},
		{Span, `not IsRootSpan()`, span, false},
		// IsMatch converts non-strings as OTTL's StringLikeGetter does
		{Span, `IsMatch(attributes["http.response.status_code"], "^5\\d\\d$")`, span, true},
		{Span, `IsMatch(attributes["raw"], "^cafe$")`, span, true},
		{Span, `IsMatch(attributes["obj"], "^\\{\"a\":1\\}$")`, span, true},
		{Span, `IsMatch(attributes["missing"], ".*")`, span, false},
		{Span, `IsMatch(attributes["retry"], "true")`, span, true},
		// type mismatches are false for every operator but != (OTTL comparison rules)
		{Span, `attributes["http.response.status_code"] == "503"`, span, false},
		{Span, `attributes["http.response.status_code"] != "503"`, span, true},
		{Span, `attributes["http.response.status_code"] > "1"`, span, false},
		{Span, `name < 5`, span, false},
		{Span, `attributes["retry"] == 1`, span, false},
		{Span, `attributes["missing"] < 1`, span, false},
		{Span, `attributes["missing"] >= nil`, span, true},
		{Span, `nil == nil`, span, true},
		{Span, `nil != nil`, span, false},
		{Span, `true > false`, span, true},
		{Span, `"a" < "b"`, span, true},
		{Span, `1 == 1.0`, span, true},
		{Span, `attributes["obj"] > attributes["obj"]`, span, false},
		{Span, `attributes["obj"] == attributes["obj"]`, span, true},
		// math on int paths and literals: * and / before + and -, left to right
		{Span, `end_time_unix_nano - start_time_unix_nano > 1000000`, span, true},
		{Span, `(end_time_unix_nano - start_time_unix_nano) / 1000000 >= 750`, span, true},
		{Span, `(end_time_unix_nano - start_time_unix_nano) / 1000000 > 750`, span, false},
		{Span, `1 + 2 * 3 == 7 and (1 + 2) * 3 == 9 and 10 - 2 - 3 == 5 and 7 / 2 == 3`, span, true},
		{Span, `1.5 * 2.0 == 3.0 and 1.0 / 4.0 == .25`, span, true},
		{Span, `(kind) == 2 and (kind == 2) and ((kind + 1) * 2 == 6)`, span, true},
		{Span, strings.Repeat("(", 64) + "kind == 2" + strings.Repeat(")", 64), span, true},
		{Span, `kind * -1 == -2`, span, true},
		{Log, `severity_number - 4 >= SEVERITY_NUMBER_INFO`, log, false},
		// boolean structure: and binds tighter than or; not applies to one value
		{Span, `true or false and false`, span, true},
		{Span, `(true or false) and false`, span, false},
		{Span, `not true or true`, span, true},
		{Span, `not (true or true)`, span, false},
		{Span, `not name == "x"`, span, true},
		{Span, `not IsMatch(name, "health")`, span, false},
		{Span, `IsMatch(name, "health") == false`, span, false},
		{Span, "name == \"GET /health\"\n and kind == SPAN_KIND_SERVER", span, true},
		{Span, `name=="GET /health"and kind==SPAN_KIND_SERVER`, span, true},
		{Span, `attributes["a\"b"] == nil`, span, true},
		// span events
		{SpanEvent, `attributes["grpc"] == true`, span, true},
		{SpanEvent, `IsMatch(name, ".*grpc.*")`, span, false},
		{SpanEvent, `name == "exception" and span.name == "GET /health"`, span, true},
		{SpanEvent, `spanevent.attributes["exception.type"] == "TimeoutError"`, span, true},
		{SpanEvent, `resource.attributes["faas.name"] == "checkout-fn"`, span, true},
		{SpanEvent, `span.kind == SPAN_KIND_SERVER and span.status.code == STATUS_CODE_ERROR`, span, true},
		// logs
		{Log, `IsMatch(body, ".*password.*")`, log, true},
		{Log, `severity_number < SEVERITY_NUMBER_WARN`, log, true},
		{Log, `severity_number >= SEVERITY_NUMBER_INFO and severity_number <= SEVERITY_NUMBER_INFO4`, log, true},
		{Log, `severity_text == "DEBUG"`, log, false},
		{Log, `body.string == "login failed password=hunter2 user=bob"`, log, true},
		{Log, `log.attributes["faas.invocation_id"] == "abc"`, log, true},
		// metrics and data points
		{Metric, `name == "http.server.request.duration" and unit == "s"`, dp, true},
		{Metric, `type == METRIC_DATA_TYPE_HISTOGRAM`, dp, true},
		{DataPoint, `metric.type == METRIC_DATA_TYPE_SUMMARY`, dp, false},
		{DataPoint, `metric.name == "http.server.request.duration" and attributes["http.route"] == "/health"`, dp, true},
		{DataPoint, `resource.attributes["service.name"] == "checkout"`, dp, true},
		{DataPoint, `value_int == nil`, dp, true},
		{DataPoint, `value_int == 42`, num, true},
		{DataPoint, `value_double == 0.0`, num, true},
		// resource and scope contexts
		{Resource, `attributes["service.name"] == "checkout"`, span, true},
		{Resource, `resource.attributes["faas.name"] == "x"`, span, false},
		{Scope, `name == "github.com/lambdaotel/lambdaotel" and version != ""`, span, true},
	}
	for _, c := range cases {
		cond, err := ParseCondition(c.ctx, c.cond)
		if err != nil {
			t.Errorf("%s: ParseCondition(%q): %v", c.ctx, c.cond, err)
			continue
		}
		if got := cond.Eval(c.it); got != c.want {
			t.Errorf("%s: %q = %v, want %v", c.ctx, c.cond, got, c.want)
		}
	}
}

// TestCompare checks the comparison rules of OTTL's LANGUAGE.md
// ("Comparison Rules") value by value.
func TestCompare(t *testing.T) {
	m1, m2 := pcommon.NewMap(), pcommon.NewMap()
	m1.PutStr("a", "b")
	m2.PutStr("a", "b")
	ops := []cmpOp{opEq, opNe, opLt, opLte, opGte, opGt}
	cases := []struct {
		a, b any
		want [6]bool // ==, !=, <, <=, >=, >
	}{
		{nil, nil, [6]bool{true, false, false, true, true, false}},
		{nil, "x", [6]bool{false, true, false, false, false, false}},
		{"x", nil, [6]bool{false, true, false, false, false, false}},
		{int64(1), int64(2), [6]bool{false, true, true, true, false, false}},
		{int64(2), 1.5, [6]bool{false, true, false, false, true, true}},
		{1.5, int64(2), [6]bool{false, true, true, true, false, false}},
		{"a", "b", [6]bool{false, true, true, true, false, false}},
		{"1", int64(1), [6]bool{false, true, false, false, false, false}},
		{true, false, [6]bool{false, true, false, false, true, true}},
		{false, false, [6]bool{true, false, false, true, true, false}},
		{true, "true", [6]bool{false, true, false, false, false, false}},
		{[]byte{1}, []byte{2}, [6]bool{false, true, true, true, false, false}},
		{[]byte{1}, nil, [6]bool{false, true, false, false, false, false}},
		{[]byte(nil), nil, [6]bool{true, false, false, true, true, false}},
		{m1, m2, [6]bool{true, false, false, false, false, false}},
		{m1, "x", [6]bool{false, true, false, false, false, false}},
		{[]any{"a"}, []any{"a"}, [6]bool{true, false, false, false, false, false}},
		{math.NaN(), math.NaN(), [6]bool{false, true, false, false, false, false}},
	}
	for _, c := range cases {
		for i, op := range ops {
			if got := compare(c.a, c.b, op); got != c.want[i] {
				t.Errorf("compare(%#v, %#v, %v) = %v, want %v", c.a, c.b, []string{"==", "!=", "<", "<=", ">=", ">"}[i], got, c.want[i])
			}
		}
	}
}

// TestStatements applies statements from the transform processor's
// documentation and user configurations and checks their effect.
func TestStatements(t *testing.T) {
	cases := []struct {
		ctx   Context
		stmts []string
		it    func() *Item
		check func(*Item) any
		want  any
	}{
		{Span, []string{`set(attributes["test"], "pass") where name == "GET /health"`}, spanItem,
			func(it *Item) any { v, _ := it.Span.Attributes().Get("test"); return v.AsRaw() }, "pass"},
		{Span, []string{`set(attributes["test"], "pass") where name == "operationA"`}, spanItem,
			func(it *Item) any { _, ok := it.Span.Attributes().Get("test"); return ok }, false},
		{Span, []string{`set(attributes["x"], attributes["missing"])`}, spanItem,
			func(it *Item) any { _, ok := it.Span.Attributes().Get("x"); return ok }, false},
		{Span, []string{`set(attributes["copy"], resource.attributes["service.name"])`}, spanItem,
			func(it *Item) any { v, _ := it.Span.Attributes().Get("copy"); return v.AsRaw() }, "checkout"},
		{Span, []string{`set(attributes["n"], 7)`, `set(attributes["f"], 1.5)`, `set(attributes["b"], false)`, `set(attributes["l"], ["a", 2])`},
			spanItem, func(it *Item) any {
				a := it.Span.Attributes().AsRaw()
				return []any{a["n"], a["f"], a["b"], a["l"]}
			}, []any{int64(7), 1.5, false, []any{"a", int64(2)}}},
		{Span, []string{`set(attributes["o2"], attributes["obj"])`, `set(attributes["obj"], attributes["obj"])`}, spanItem,
			func(it *Item) any { a := it.Span.Attributes().AsRaw(); return []any{a["o2"], a["obj"]} },
			[]any{map[string]any{"a": int64(1)}, map[string]any{"a": int64(1)}}},
		{Span, []string{`set(name, "health") where IsMatch(name, "health")`, `set(status.code, STATUS_CODE_OK)`, `set(kind, SPAN_KIND_INTERNAL)`, `set(status.message, "")`},
			spanItem, func(it *Item) any {
				return []any{it.Span.Name(), it.Span.Status().Code(), it.Span.Kind(), it.Span.Status().Message()}
			}, []any{"health", ptrace.StatusCodeOk, ptrace.SpanKindInternal, ""}},
		{Span, []string{`delete_key(attributes, "http.route")`, `delete_key(resource.attributes, "faas.name")`}, spanItem,
			func(it *Item) any {
				_, a := it.Span.Attributes().Get("http.route")
				_, b := it.Resource.Attributes().Get("faas.name")
				return []bool{a, b}
			}, []bool{false, false}},
		{Span, []string{`delete_matching_keys(attributes, "^http\\.")`}, spanItem,
			func(it *Item) any { return sortedKeys(it.Span.Attributes().AsRaw()) }, "empty, list, obj, ratio, raw, retry"},
		{Resource, []string{`keep_keys(attributes, ["service.name", "cloud.region"])`}, spanItem,
			func(it *Item) any { return it.Resource.Attributes().AsRaw() }, map[string]any{"service.name": "checkout"}},
		{Span, []string{`keep_keys(attributes, [])`}, spanItem,
			func(it *Item) any { return it.Span.Attributes().Len() }, 0},
		{Log, []string{`replace_pattern(body, "password=[^\\s]*(\\s?)", "password=***$1")`}, logItem,
			func(it *Item) any { return it.Log.Body().Str() }, "login failed password=*** user=bob"},
		{Span, []string{`replace_pattern(name, "^GET ", "")`, `replace_pattern(attributes["http.response.status_code"], "5", "x")`}, spanItem,
			func(it *Item) any {
				v, _ := it.Span.Attributes().Get("http.response.status_code")
				return []any{it.Span.Name(), v.AsRaw()}
			},
			[]any{"/health", int64(503)}},
		{Span, []string{`replace_all_patterns(attributes, "value", "^/health$", "/{probe}")`}, spanItem,
			func(it *Item) any { v, _ := it.Span.Attributes().Get("http.route"); return v.Str() }, "/{probe}"},
		{Span, []string{`replace_all_patterns(attributes, "key", "^http\\.", "h.")`}, spanItem,
			func(it *Item) any { return sortedKeys(it.Span.Attributes().AsRaw()) },
			"empty, h.request.method, h.response.status_code, h.route, list, obj, ratio, raw, retry"},
		{Span, []string{`truncate_all(attributes, 3)`}, spanItem,
			func(it *Item) any {
				a := it.Span.Attributes().AsRaw()
				return []any{a["http.route"], a["http.response.status_code"]}
			},
			[]any{"/he", int64(503)}},
		{Span, []string{`limit(attributes, 2, ["retry"])`}, spanItem,
			func(it *Item) any { a := it.Span.Attributes(); _, ok := a.Get("retry"); return []any{a.Len(), ok} }, []any{2, true}},
		{Span, []string{`limit(attributes, 100, [])`}, spanItem,
			func(it *Item) any { return it.Span.Attributes().Len() }, 9},
		{Span, []string{`set(attributes["duration_ms"], (end_time_unix_nano - start_time_unix_nano) / 1000000)`}, spanItem,
			func(it *Item) any { v, _ := it.Span.Attributes().Get("duration_ms"); return v.AsRaw() }, int64(750)},
		{Log, []string{`set(severity_text, "FAIL") where body == "request failed"`}, logItem,
			func(it *Item) any { return it.Log.SeverityText() }, "INFO"},
		{Log, []string{`set(body, attributes["faas.invocation_id"])`}, logItem,
			func(it *Item) any { return it.Log.Body().Str() }, "abc"},
		{Metric, []string{`set(description, "Sum") where type == METRIC_DATA_TYPE_HISTOGRAM`, `set(name, "renamed")`}, dataPointItem,
			func(it *Item) any { return []string{it.Metric.Description(), it.Metric.Name()} }, []string{"Sum", "renamed"}},
		{DataPoint, []string{`set(attributes["test"], "pass") where metric.name == "http.server.request.duration"`}, dataPointItem,
			func(it *Item) any { v, _ := dpAttributes(it).Get("test"); return v.AsRaw() }, "pass"},
		{Scope, []string{`set(attributes["x"], name)`}, spanItem,
			func(it *Item) any { v, _ := it.Scope.Attributes().Get("x"); return v.AsRaw() }, "github.com/lambdaotel/lambdaotel"},
	}
	for _, c := range cases {
		stmts, err := ParseStatements(c.ctx, c.stmts)
		if err != nil {
			t.Errorf("%s: %v", c.ctx, err)
			continue
		}
		it := c.it()
		for _, s := range stmts {
			if err := s.Execute(it); err != nil {
				t.Errorf("%s: Execute: %v", c.ctx, err)
			}
		}
		if got := c.check(it); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q: got %#v, want %#v", c.ctx, c.stmts, got, c.want)
		}
	}
}

func TestExecuteTypeError(t *testing.T) {
	s, err := ParseStatement(Span, `set(name, 5)`)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Execute(spanItem())
	if err == nil || !strings.Contains(err.Error(), `statement "set(name, 5)": expected string but got int64`) {
		t.Fatalf("got %v", err)
	}
}

// TestRefused checks that what the subset does not support (or OTTL
// itself rejects) is refused with a message naming it and its position.
func TestRefused(t *testing.T) {
	cases := []struct {
		ctx       Context
		src       string
		statement bool
		want      string
	}{
		{Log, `ParseJSON(body) == nil`, false, `unsupported function "ParseJSON"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:1`},
		{Span, `name == "a" and Len(name) > 3`, false, `unsupported function "Len"`},
		{Span, `merge_maps(attributes, resource.attributes, "upsert")`, true, `unsupported function "merge_maps"; supported editors: delete_key, delete_matching_keys, keep_keys, limit, replace_all_patterns, replace_pattern, set, truncate_all at 1:1`},
		{Span, `replace_all_matches(attributes, "/user/*", "/user/{id}")`, true, `unsupported function "replace_all_matches"`},
		{Span, `duration > 5`, false, `unsupported path field "duration" in the span context; supported paths: attributes, attributes["key"], dropped_attributes_count`},
		{Span, `attributes["n"] + 1 > 2`, false, `math (+) is supported only on int and float literals and int paths, not path attributes["n"] at 1:17`},
		{Span, `name + "x" == "y"`, false, `math (+) is supported only on int and float literals and int paths, not path name`},
		{Span, `kind + 1.5 > 2`, false, `math mixing ints and floats is not supported (+) at 1:6`},
		{Span, `end_time_unix_nano / kind > 1`, false, `division is supported only by a non-zero literal at 1:20`},
		{Span, `kind / 0 == 1`, false, `attempted to divide by 0 at 1:6`},
		{Span, `kind / (1 - 1) == 1`, false, `division is supported only by a non-zero literal`},
		{Span, `SPAN_KIND_SERVER + 1 == 3`, false, `math (+) is supported only on int and float literals and int paths, not SPAN_KIND_SERVER`},
		{Span, `kind + SPAN_KIND_SERVER == 4`, false, `math is supported only on int and float literals and int paths, not SPAN_KIND_SERVER at 1:8`},
		{Span, `(kind + IsRootSpan()) == 1`, false, `math is supported only on int and float literals and int paths, not IsRootSpan(...) at 1:9`},
		{Span, `-(kind) == -2`, false, `expected a value but found "-"`},
		{Span, `end_time_unix_nano -1 > 0`, false, `unexpected "-1" at 1:20`},
		{Span, `attributes["a"]["b"] == 1`, false, `nested indexing of attributes is not supported at 1:16`},
		{Span, `attributes[0] == 1`, false, `attributes can be indexed only by a string key at 1:11`},
		{Span, `name["x"] == 1`, false, `path field "name" cannot be indexed at 1:5`},
		{Span, `trace_id == nil`, false, `path "trace_id" is not supported by itself`},
		{Span, `name`, false, `expected a comparison operator (==, !=, <, <=, >, >=) after path name at 1:5`},
		{Span, `name == `, false, `expected a value but found end of input at 1:9`},
		{Span, `name == "x" and`, false, `expected a value but found end of input at 1:16`},
		{Span, `(name == "x"`, false, `expected ")" but found end of input at 1:13`},
		{Span, `(end_time_unix_nano - start_time_unix_nano) < Duration("1s")`, false, `unsupported function "Duration"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 1:47`},
		{Span, `name == "x")`, false, `unexpected ")" at 1:12`},
		{Span, `not not true`, false, `"not" cannot follow "not"`},
		{Span, `name == "x" == true`, false, `a comparison cannot be compared again`},
		{Span, `name == 'x'`, false, `unexpected character '\''`},
		{Span, `name == "x`, false, `unterminated string literal at 1:9`},
		{Span, `name == "\d"`, false, `invalid string literal`},
		{Span, `kind == 02`, false, `int literal 02 with a leading zero is not supported at 1:9`},
		{Span, `kind == 99999999999999999999`, false, `invalid int literal 99999999999999999999`},
		{Span, `kind == SPAN_KIND_SERVERX`, false, `enum symbol SPAN_KIND_SERVERX is not known in the span context`},
		{Log, `kind == SPAN_KIND_SERVER`, false, `unsupported path field "kind" in the log context`},
		{Log, `severity_number == SPAN_KIND_SERVER`, false, `enum symbol SPAN_KIND_SERVER is not known in the log context`},
		{Span, `attributes == {"a": 1}`, false, `map literals ({...}) are not supported at 1:15`},
		{Span, `IsMatch(name, "(")`, false, `IsMatch: the pattern supplied to IsMatch is not a valid regexp pattern: error parsing regexp: missing closing )`},
		{Span, `IsMatch(name, attributes["p"])`, false, `pattern must be a string literal, not path attributes["p"]`},
		{Span, `IsMatch(target=name, pattern="x")`, false, `named arguments (target=...) are not supported`},
		{Span, `IsMatch(name)`, false, `expected 2 arguments but got 1`},
		{Span, `Concat(["a", "b"], "") == "ab"`, false, `unsupported function "Concat"`},
		{Log, `IsRootSpan()`, false, `IsRootSpan is available only in the span context, not log`},
		{Span, `IsRootSpan(name)`, false, `expected 0 arguments but got 1`},
		{DataPoint, `HasAttrOnDatapoint("k", "v")`, false, `unsupported function "HasAttrOnDatapoint"`},
		{Span, `cache["x"] == nil`, false, `unsupported path field "cache" in the span context`},
		{Span, `isMatch(name, "x")`, false, `converter names must start with an uppercase letter but got "isMatch"`},
		{Span, `IsMatch(name, "x")["k"] == nil`, false, `indexing the result of IsMatch is not supported`},
		{Span, `name == "a" where`, false, `unexpected "where"`},
		{Span, `Set(name, "x")`, true, `editor names must start with a lowercase letter but got "Set"`},
		{Span, `set(name, "x") where`, true, `expected a value but found end of input`},
		{Span, `set(name, "x") name == "y"`, true, `unexpected "name"`},
		{Span, `set(attributes, resource.attributes)`, true, `setting a whole map (attributes) is not supported`},
		{Span, `set(kind.string, "Server")`, true, `the target must be a path that can be set, not path kind.string`},
		{Span, `set("x", "y")`, true, `the target must be a path that can be set`},
		{Span, `delete_key(name, "x")`, true, `the first argument must be an attribute map path`},
		{Span, `keep_keys(attributes, "a")`, true, `keys must be a list of string literals`},
		{Span, `keep_keys(attributes, ["a", 1])`, true, `keys must be a list of string literals, but holds 1`},
		{Span, `replace_pattern(name, "a", "b", SHA256)`, true, `function-name arguments (SHA256) are not supported at 1:33`},
		{Span, `replace_pattern(name, "a", "b", "%s!")`, true, `the optional function and format arguments are not supported`},
		{Span, `set(attributes["a"], "b", "upsert")`, true, `expected 2 arguments but got 3`},
		{Span, `replace_all_patterns(attributes, "keys", "a", "b")`, true, `invalid mode keys, must be either 'key' or 'value'`},
		{Span, `delete_matching_keys(attributes, "[")`, true, `the regex pattern supplied to delete_matching_keys is not a valid pattern`},
		{Span, `truncate_all(attributes, -1)`, true, `invalid limit for truncate_all function, -1 cannot be negative`},
		{Span, `limit(attributes, 1, ["a", "b"])`, true, `invalid limit for limit function, 1 cannot be less than number of priority attributes 2`},
		{Span, `limit(attributes, 1)`, true, `expected 3 arguments but got 2`},
		{Span, `set(attributes["x"], attributes["y"] * 2)`, true, `math (*) is supported only on int and float literals and int paths`},
		{Span, "set(name,\n  Upper(name))", true, `unsupported function "Upper"; supported converters: IsBool, IsDouble, IsInt, IsList, IsMap, IsMatch, IsRootSpan, IsString at 2:3`},
		{Span, `set(name, "x")["k"]`, true, `only paths and converters may be indexed, not editors`},
		{Context("span_event"), `name == "x"`, false, `unknown context "span_event"`},
		{Span, strings.Repeat("(", 65) + "kind == 2" + strings.Repeat(")", 65), false, `nesting deeper than 64 is not supported at 1:65`},
	}
	for _, c := range cases {
		var err error
		if c.statement {
			_, err = ParseStatement(c.ctx, c.src)
		} else {
			_, err = ParseCondition(c.ctx, c.src)
		}
		if err == nil {
			t.Errorf("%s: %q: parsed, want error containing %q", c.ctx, c.src, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q:\n got  %v\n want %q", c.ctx, c.src, err, c.want)
		}
	}
}

// TestLexerMatchesOTTL cuts texts as OTTL's lexer does (rules tried in
// order: bytes, float, int, string, not/or/and as words, comparison,
// math operators, booleans as words, punctuation, upper, lower).
func TestLexerMatchesOTTL(t *testing.T) {
	cases := []struct {
		src  string
		want string
	}{
		{`attributes["k"] == -1.5e3`, `lower:attributes [ string:"k" ] cmp:== float:-1.5e3`},
		{`a>=+2`, `lower:a cmp:>= int:+2`},
		{`0xAbc .5 5.`, `bytes:0xAbc float:.5 int:5 .`},
		{`notx not_a not andor and`, `lower:notx lower:not_a not lower:andor and`},
		{`IsMatch truex true`, `upper:I lower:s upper:M lower:atch lower:truex bool:true`},
		{`SPAN_KIND_SERVER`, `upper:SPAN_KIND_SERVER`},
		{`"a\"b" "\\"`, `string:"a\"b" string:"\\"`},
	}
	names := map[tokKind]string{tBytes: "bytes", tFloat: "float", tInt: "int", tString: "string", tCmp: "cmp", tBool: "bool", tUpper: "upper", tLower: "lower"}
	for _, c := range cases {
		toks, err := lex(c.src)
		if err != nil {
			t.Errorf("lex(%q): %v", c.src, err)
			continue
		}
		var parts []string
		for _, tk := range toks[:len(toks)-1] {
			if n, ok := names[tk.kind]; ok {
				parts = append(parts, n+":"+tk.text)
			} else {
				parts = append(parts, tk.text)
			}
		}
		if got := strings.Join(parts, " "); got != c.want {
			t.Errorf("lex(%q)\n got  %s\n want %s", c.src, got, c.want)
		}
	}
}

func TestConditionString(t *testing.T) {
	s, err := ParseStatement(Span, `set(name, "x") where kind == SPAN_KIND_CLIENT`)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != `set(name, "x") where kind == SPAN_KIND_CLIENT` || s.where.String() != `kind == SPAN_KIND_CLIENT` {
		t.Fatalf("got %q / %q", s.String(), s.where.String())
	}
}
