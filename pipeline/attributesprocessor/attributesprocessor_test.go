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
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/processor"
	"github.com/lambdaotel/lambdaotel/pipeline/config"
)

func decode(t *testing.T, src string) (any, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	return Decode(n)
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
			cfg, err := decode(t, "actions:\n"+indent(c.actions))
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
	cases := []struct{ src, want string }{
		{"", "actions is required: a list of {key or pattern, action: delete}"},
		{"[a]", `expected a mapping with actions, got a list at line 1`},
		{"actions: []", "actions: expected a non-empty list of {key or pattern, action: delete}"},
		{"actions:\n  - {key: a, action: delete}\ninclude:\n  match_type: strict", "include (line 3) is not supported: the attributes processor applies its actions to every span, data point and log record"},
		{"actions:\n  - {key: a, action: delete}\nexclude: {}", "exclude (line 3) is not supported: the attributes processor applies its actions to every span, data point and log record"},
		{"action: delete", `unknown option "action" (line 1); supported: actions`},
		{"actions:\n  - {key: a, action: upsert, value: b}", `actions[0] (line 2): action "upsert" is not supported; supported: delete`},
		{"actions:\n  - {key: a, action: delete}\n  - {key: a, action: hash}", `actions[1] (line 3): action "hash" is not supported; supported: delete`},
		{"actions:\n  - {key: a, action: remove}", `actions[0] (line 2): unknown action "remove"; supported: delete`},
		{"actions:\n  - {key: a}", `actions[0] (line 2): action is required; supported: delete`},
		{"actions:\n  - {action: delete}", `actions[0] (line 2): action delete needs key or pattern`},
		{"actions:\n  - {key: a, action: delete, value: b}", `actions[0] (line 2): action delete takes key or pattern, not value`},
		{"actions:\n  - {pattern: '(', action: delete}", "actions[0] (line 2): pattern \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"actions:\n  - {key: [a], action: delete}", `actions[0] (line 2): key: expected a string, got a list`},
		{"actions:\n  - {keys: a, action: delete}", `actions[0] (line 2): unknown option "keys"; supported: key, pattern, action`},
		{"actions:\n  - delete", `actions[0] (line 2): expected a mapping {key or pattern, action: delete}, got "delete"`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := decode(t, c.src)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v, want %s", err, c.want)
			}
		})
	}
}

// TestInConfiguration parses a configuration with the processor as the
// extension does: config check names what it does, and a mistake is
// reported with the file, line and processor id.
func TestInConfiguration(t *testing.T) {
	processor.Register(Factory)
	const file = `receivers:
  otlp:
    protocols:
      http:
processors:
  attributes/scrub:
    actions:
      - key: db.statement
        action: delete
      - pattern: ^secret
        action: delete
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [attributes/scrub]
      exporters: [debug]
`
	cfg, err := config.Parse([]byte(file), "config.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Processors["attributes/scrub"]
	if pc == nil || pc.Ignored() {
		t.Fatalf("processor %+v", pc)
	}
	if s := cfg.Summary(); !strings.Contains(s, `attributes/scrub: attributes: delete db.statement; delete keys matching "^secret"`) {
		t.Errorf("summary does not describe the processor:\n%s", s)
	}
	bad := strings.Replace(file, "action: delete\n      - pattern", "action: upsert\n      - pattern", 1)
	_, err = config.Parse([]byte(bad), "config.yaml", func(string) string { return "" })
	if want := `config.yaml:6:3: processors.attributes/scrub: actions[0] (line 8): action "upsert" is not supported; supported: delete`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to contain %s", err, want)
	}
	other := strings.Replace(file, "attributes/scrub", "span/x", 1)
	_, err = config.Parse([]byte(other), "config.yaml", func(string) string { return "" })
	if want := `processors: unknown type "span"; supported: attributes, batch, decouple, memory_limiter, resource`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to contain %s", err, want)
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func fill(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
