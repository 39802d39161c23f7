package attributesprocessor

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

// configFile is a configuration with the processor attributes/x, whose
// options start at line 7.
func configFile(options string) string {
	return `receivers:
  otlp:
    protocols:
      http:
processors:
  attributes/x:
` + options + `
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [attributes/x]
      exporters: [debug]
`
}

// decode parses options (indented under the processor) as the extension does.
func decode(t *testing.T, options string) (any, error) {
	t.Helper()
	cfg, err := config.Parse([]byte(configFile(options)), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return cfg.Processors["attributes/x"].Options, nil
}

func TestDelete(t *testing.T) {
	base := map[string]any{"db.statement": "SELECT 1", "secret.token": "t", "secret_key": "k", "http.method": "GET", "count": int64(2)}
	cases := []struct {
		name    string
		actions string
		want    []string // the keys left
	}{
		{"by key", "- {key: db.statement, action: delete}", []string{"count", "http.method", "secret.token", "secret_key"}},
		{"an absent key changes nothing", "- {key: nonesuch, action: delete}", []string{"count", "db.statement", "http.method", "secret.token", "secret_key"}},
		{"by pattern, unanchored as upstream", "- {pattern: 'secret', action: delete}", []string{"count", "db.statement", "http.method"}},
		{"by anchored pattern", "- {pattern: '^secret\\.', action: delete}", []string{"count", "db.statement", "http.method", "secret_key"}},
		{"key and pattern in one action", "- {key: count, pattern: '^http', action: delete}", []string{"db.statement", "secret.token", "secret_key"}},
		{"actions in order", "- {key: db.statement, action: delete}\n- {pattern: '_key$', action: delete}", []string{"count", "http.method", "secret.token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decode(t, "    actions:\n"+indent(c.actions))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			fill(t, rs.Resource().Attributes().FromRaw(base))
			span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			fill(t, span.Attributes().FromRaw(base))
			ld := plog.NewLogs()
			lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			fill(t, lr.Attributes().FromRaw(base))
			md := pmetric.NewMetrics()
			ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
			g := ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
			fill(t, g.Attributes().FromRaw(base))
			s := ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
			fill(t, s.Attributes().FromRaw(base))
			h := ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
			fill(t, h.Attributes().FromRaw(base))
			eh := ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
			fill(t, eh.Attributes().FromRaw(base))
			su := ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty()
			fill(t, su.Attributes().FromRaw(base))

			pr := p.(*Processor)
			fill(t, pr.ProcessTraces(context.Background(), td))
			fill(t, pr.ProcessLogs(context.Background(), ld))
			fill(t, pr.ProcessMetrics(context.Background(), md))

			for what, got := range map[string]map[string]any{
				"span": span.Attributes().AsRaw(), "log record": lr.Attributes().AsRaw(),
				"gauge point": g.Attributes().AsRaw(), "sum point": s.Attributes().AsRaw(), "histogram point": h.Attributes().AsRaw(),
				"exponential histogram point": eh.Attributes().AsRaw(), "summary point": su.Attributes().AsRaw(),
			} {
				if keys := sortedKeys(got); !reflect.DeepEqual(keys, c.want) {
					t.Errorf("%s keeps %v, want %v", what, keys, c.want)
				}
			}
			if got := rs.Resource().Attributes().Len(); got != len(base) {
				t.Errorf("the resource has %d attributes, want %d: resource attributes are the resource processor's", got, len(base))
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"", "config.yaml:6:3: processors.attributes/x: actions is required: a list of {key, action, ...}; actions: insert, update, upsert, delete, hash, extract, convert"},
		{"    [a]", `config.yaml:7:5: processors.attributes/x: expected a mapping (key: value), got a list`},
		{"    actions: []", "config.yaml:7:14: processors.attributes/x.actions: expected a non-empty list of {key, action, ...}, got a list"},
		{"    action: delete\n    actions:\n      - {key: a, action: delete}", `config.yaml:7:5: processors.attributes/x: unknown key "action"; supported: actions, include, exclude`},
		{"    actions:\n      - {key: a, action: remove}", `config.yaml:8:26: processors.attributes/x.actions[0].action: unknown action "remove"; actions: insert, update, upsert, delete, hash, extract, convert`},
		{"    actions:\n      - {key: a}", `config.yaml:8:9: processors.attributes/x.actions[0]: action is required; actions: insert, update, upsert, delete, hash, extract, convert`},
		{"    actions:\n      - {action: delete}", `config.yaml:8:9: processors.attributes/x.actions[0]: action delete needs key or pattern`},
		{"    actions:\n      - {action: hash}", `config.yaml:8:9: processors.attributes/x.actions[0]: action hash needs key or pattern`},
		{"    actions:\n      - {key: a, action: delete, value: b}", `config.yaml:8:34: processors.attributes/x.actions[0]: action delete does not take value`},
		{"    actions:\n      - {key: a, action: hash, from_attribute: b}", `config.yaml:8:32: processors.attributes/x.actions[0]: action hash does not take from_attribute`},
		{"    actions:\n      - {pattern: '(', action: delete}", "config.yaml:8:19: processors.attributes/x.actions[0].pattern: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"    actions:\n      - {key: [a], action: delete}", `config.yaml:8:15: processors.attributes/x.actions[0].key: expected a single value, got a list`},
		{"    actions:\n      - {keys: a, action: delete}", `config.yaml:8:10: processors.attributes/x.actions[0]: unknown key "keys"; supported: key, action, value, from_attribute, from_context, default_value, pattern, converted_type`},
		{"    actions:\n      - delete", `config.yaml:8:9: processors.attributes/x.actions[0]: expected a mapping (key: value), got "delete"`},
		{"    actions:\n      - {key: a, action: upsert}", `config.yaml:8:9: processors.attributes/x.actions[0]: action upsert needs value, from_attribute or default_value`},
		{"    actions:\n      - {action: insert, value: 1}", `config.yaml:8:9: processors.attributes/x.actions[0]: action insert needs key`},
		{"    actions:\n      - {key: a, action: update, value: 1, from_attribute: b}", `config.yaml:8:9: processors.attributes/x.actions[0]: action update takes one of value, from_attribute, from_context, not several`},
		{"    actions:\n      - {key: a, action: upsert, value: [1]}", `config.yaml:8:41: processors.attributes/x.actions[0].value: expected a single value (a string, number or true/false), got a list`},
		{"    actions:\n      - {key: a, action: upsert, value: 1, pattern: x}", `config.yaml:8:44: processors.attributes/x.actions[0]: action upsert does not take pattern`},
		{"    actions:\n      - {key: a, action: upsert, from_context: metadata.tenant}", `config.yaml:8:34: processors.attributes/x.actions[0].from_context: not supported: the extension merges the function's requests before its processors run, so there is no request context (metadata, auth, client.address) to read; use value or from_attribute`},
		{"    actions:\n      - {key: a, action: extract}", `config.yaml:8:9: processors.attributes/x.actions[0]: action extract needs pattern, a regular expression with named groups such as (?P<name>...)`},
		{"    actions:\n      - {key: a, action: extract, pattern: '^a$'}", `config.yaml:8:44: processors.attributes/x.actions[0].pattern: "^a$" has no named groups such as (?P<name>...): there is nothing to extract`},
		{"    actions:\n      - {key: a, action: extract, pattern: '^(?P<x>a)(b)$'}", `config.yaml:8:44: processors.attributes/x.actions[0].pattern: "^(?P<x>a)(b)$" has a group without a name; every group names the attribute it extracts (use (?:...) to group without extracting)`},
		{"    actions:\n      - {key: a, action: convert}", `config.yaml:8:9: processors.attributes/x.actions[0]: action convert needs converted_type: int, double or string`},
		{"    actions:\n      - {key: a, action: convert, converted_type: float}", `config.yaml:8:51: processors.attributes/x.actions[0].converted_type: unsupported value "float"; supported: int, double, string`},
		{"    actions:\n      - {key: a, action: delete}\n    include:\n      services: [a]", `config.yaml:9:5: processors.attributes/x.include: match_type is required: strict or regexp`},
		{"    actions:\n      - {key: a, action: delete}\n    include:\n      match_type: exact\n      services: [a]", `config.yaml:10:19: processors.attributes/x.include.match_type: unsupported value "exact"; supported: strict, regexp`},
		{"    actions:\n      - {key: a, action: delete}\n    exclude:\n      match_type: regexp\n      span_names: ['(']", "config.yaml:11:20: processors.attributes/x.exclude.span_names: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"    actions:\n      - {key: a, action: delete}\n    exclude:\n      match_type: strict\n      span_kinds: [server]", `config.yaml:11:19: processors.attributes/x.exclude.span_kinds: "server" is not a span kind; with match_type strict use one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER`},
		{"    actions:\n      - {key: a, action: delete}\n    exclude:\n      match_type: regexp\n      attributes: [{key: a, value: 1}]", `config.yaml:11:36: processors.attributes/x.exclude.attributes[0].value: match_type regexp takes a string (a regular expression), got 1`},
		{"    actions:\n      - {key: a, action: delete}\n    exclude:\n      match_type: strict\n      attributes: [{value: 1}]", `config.yaml:11:20: processors.attributes/x.exclude.attributes[0]: key is required (an attribute name)`},
		{"    actions:\n      - {key: a, action: delete}\n    include:\n      match_type: strict\n      log_severity_number: {min: LOUD}", `config.yaml:11:34: processors.attributes/x.include.log_severity_number.min: "LOUD" is not a severity: a number from 1 to 24 or a name such as INFO, WARN, ERROR3`},
		{"    actions:\n      - {key: a, action: delete}\n    include:\n      match_type: strict\n      names: [a]", `config.yaml:11:7: processors.attributes/x.include: unknown key "names"; supported: match_type, regexp, services, span_names, span_kinds, log_bodies, log_severity_texts, log_severity_number, metric_names, attributes, resources, libraries`},
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

// TestActions runs each action on one span's attributes; the expected
// values follow the collector's README and its attraction package: hash
// is the hex SHA-256 of the value's bytes (a string's bytes, an int's
// and a double's 8 little-endian bytes, a bool's byte 1/0), computed
// here independently with Python's hashlib.
func TestActions(t *testing.T) {
	base := map[string]any{"email": "alice@example.com", "n": int64(42), "f": 1.5, "ok": true, "code": "200", "route": "/users/123/orders/9", "ratio": "0.25", "bad": "x1"}
	cases := []struct {
		name, actions string
		want          map[string]any // the attributes that differ from base; nil value: removed
	}{
		{"insert sets an absent key", "- {key: region, value: eu-west-1, action: insert}", map[string]any{"region": "eu-west-1"}},
		{"insert leaves a present key", "- {key: code, value: 500, action: insert}", nil},
		{"update changes a present key, with its type", "- {key: code, value: 500, action: update}", map[string]any{"code": int64(500)}},
		{"update leaves an absent key absent", "- {key: region, value: x, action: update}", nil},
		{"upsert sets either way", "- {key: code, value: true, action: upsert}\n- {key: region, value: 2.5, action: upsert}", map[string]any{"code": true, "region": 2.5}},
		{"from_attribute copies the value", "- {key: copy, from_attribute: n, action: upsert}", map[string]any{"copy": int64(42)}},
		{"from_attribute absent: nothing", "- {key: copy, from_attribute: nonesuch, action: upsert}", nil},
		{"default_value when the source is absent", "- {key: region, from_attribute: cloud.region, default_value: us-east-1, action: insert}", map[string]any{"region": "us-east-1"}},
		{"default_value unused when the source exists", "- {key: region, from_attribute: code, default_value: none, action: insert}", map[string]any{"region": "200"}},
		{"a quoted number stays a string", "- {key: account_id, value: '2245', action: insert}", map[string]any{"account_id": "2245"}},
		{"hash a string", "- {key: email, action: hash}", map[string]any{"email": "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"}},
		{"hash an int, a double, a bool", "- {key: n, action: hash}\n- {key: f, action: hash}\n- {key: ok, action: hash}", map[string]any{
			"n": "ed049108bc18f2c64369e8d0ea42850bdd1a7d1dd340cfde716315579702a76c", "f": "e163f8cb0f7067a7fc78ca859a77f849aea3214f38fb75b884e4a16be725c905", "ok": "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"}},
		{"hash by pattern", "- {pattern: '^e', action: hash}", map[string]any{"email": "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"}},
		{"hash of an absent key: nothing", "- {key: nonesuch, action: hash}", nil},
		{"extract named groups, key kept", "- {key: route, pattern: '^/users/(?P<user_id>\\d+)/orders/(?P<order_id>\\d+)$', action: extract}", map[string]any{"user_id": "123", "order_id": "9"}},
		{"extract without a match: nothing", "- {key: email, pattern: '^(?P<user>\\d+)$', action: extract}", nil},
		{"extract from a non-string: nothing", "- {key: n, pattern: '(?P<d>\\d)', action: extract}", nil},
		{"convert to int", "- {key: code, action: convert, converted_type: int}\n- {key: f, action: convert, converted_type: int}\n- {key: ok, action: convert, converted_type: int}", map[string]any{"code": int64(200), "f": int64(1), "ok": int64(1)}},
		{"convert to double", "- {key: ratio, action: convert, converted_type: double}\n- {key: n, action: convert, converted_type: double}", map[string]any{"ratio": 0.25, "n": 42.0}},
		{"convert to string", "- {key: n, action: convert, converted_type: string}\n- {key: ok, action: convert, converted_type: string}", map[string]any{"n": "42", "ok": "true"}},
		{"a string that is no number stays", "- {key: bad, action: convert, converted_type: int}\n- {key: bad, action: convert, converted_type: double}", nil},
		{"actions in order", "- {key: tmp, from_attribute: email, action: insert}\n- {key: tmp, action: hash}\n- {key: email, action: delete}", map[string]any{"email": nil, "tmp": "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"}},
		{"the action name in capitals", "- {key: code, action: DELETE}", map[string]any{"code": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decode(t, "    actions:\n"+indent(c.actions))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			td := ptrace.NewTraces()
			span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			fill(t, span.Attributes().FromRaw(base))
			fill(t, p.(*Processor).ProcessTraces(context.Background(), td))
			want := maps.Clone(base)
			for k, v := range c.want {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if got := span.Attributes().AsRaw(); !reflect.DeepEqual(got, want) {
				t.Errorf("attributes\n%v\nwant\n%v", got, want)
			}
		})
	}
}
func indent(s string) string { return "      " + strings.ReplaceAll(s, "\n", "\n      ") }

func fill(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
