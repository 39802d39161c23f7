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

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline/config"
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
		{"", "config.yaml:6:3: processors.attributes/x: actions is required: a list of {key or pattern, action: delete}"},
		{"    [a]", `config.yaml:7:5: processors.attributes/x: expected a mapping (key: value), got a list`},
		{"    actions: []", "config.yaml:7:14: processors.attributes/x.actions: expected a non-empty list of {key or pattern, action: delete}, got a list"},
		{"    actions:\n      - {key: a, action: delete}\n    include:\n      match_type: strict",
			"config.yaml:9:5: processors.attributes/x.include: not supported: the attributes processor applies its actions to every span, data point and log record"},
		{"    actions:\n      - {key: a, action: delete}\n    exclude: {}",
			"config.yaml:9:5: processors.attributes/x.exclude: not supported: the attributes processor applies its actions to every span, data point and log record"},
		{"    action: delete\n    actions:\n      - {key: a, action: delete}", `config.yaml:7:5: processors.attributes/x: unknown key "action"; supported: actions, include, exclude`},
		{"    actions:\n      - {key: a, action: upsert, value: b}", `config.yaml:8:26: processors.attributes/x.actions[0].action: "upsert" is not supported; supported: delete`},
		{"    actions:\n      - {key: a, action: delete}\n      - {key: a, action: hash}", `config.yaml:9:26: processors.attributes/x.actions[1].action: "hash" is not supported; supported: delete`},
		{"    actions:\n      - {key: a, action: remove}", `config.yaml:8:26: processors.attributes/x.actions[0].action: unknown action "remove"; supported: delete`},
		{"    actions:\n      - {key: a}", `config.yaml:8:9: processors.attributes/x.actions[0]: action is required; supported: delete`},
		{"    actions:\n      - {action: delete}", `config.yaml:8:9: processors.attributes/x.actions[0]: action delete needs key or pattern`},
		{"    actions:\n      - {key: a, action: delete, value: b}", `config.yaml:8:34: processors.attributes/x.actions[0]: action delete takes key or pattern, not value`},
		{"    actions:\n      - {pattern: '(', action: delete}", "config.yaml:8:19: processors.attributes/x.actions[0].pattern: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"    actions:\n      - {key: [a], action: delete}", `config.yaml:8:15: processors.attributes/x.actions[0].key: expected a single value, got a list`},
		{"    actions:\n      - {keys: a, action: delete}", `config.yaml:8:10: processors.attributes/x.actions[0]: unknown key "keys"; supported: key, pattern, action, value, from_attribute, from_context, converted_type`},
		{"    actions:\n      - delete", `config.yaml:8:9: processors.attributes/x.actions[0]: expected a mapping (key: value), got "delete"`},
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

func indent(s string) string { return "      " + strings.ReplaceAll(s, "\n", "\n      ") }

func fill(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
