package redactionprocessor

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

func decode(t *testing.T, options string) (any, error) {
	t.Helper()
	yml := "receivers:\n  otlp:\n    protocols:\n      http:\nprocessors:\n  redaction/x:\n" + options + "\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [redaction/x]\n      exporters: [debug]\n"
	cfg, err := config.Parse([]byte(yml), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return cfg.Processors["redaction/x"].Options, nil
}

// TestRedact: the collector's README rules, case by case. Digests were
// computed independently with Python's hashlib (md5, sha1, sha3_256 of
// "4111111111111111").
func TestRedact(t *testing.T) {
	in := map[string]any{"id": "u-1", "card": "visa 4111111111111111 ok", "note": "fine", "api_token": "abc123", "email": "bob@mycompany.com", "safe": "4111111111111111", "n": int64(4111111111111111)}
	cases := []struct {
		name, options string
		want          map[string]any
	}{
		{"allowed_keys: the others removed, silent by default", "allowed_keys: [id, note]",
			map[string]any{"id": "u-1", "note": "fine"}},
		{"empty allowed_keys fails closed", "summary: silent",
			map[string]any{}},
		{"blocked_values masked, matching part only", "allow_all_keys: true\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']",
			map[string]any{"id": "u-1", "card": "visa **** ok", "note": "fine", "api_token": "abc123", "email": "bob@mycompany.com", "safe": "****", "n": int64(4111111111111111)}},
		{"redact_all_types checks an int's string form", "allow_all_keys: true\nredact_all_types: true\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']\nallowed_keys: []",
			map[string]any{"id": "u-1", "card": "visa **** ok", "note": "fine", "api_token": "abc123", "email": "bob@mycompany.com", "safe": "****", "n": "****"}},
		{"ignored_keys pass untouched", "allow_all_keys: true\nignored_keys: [safe]\nblocked_values: ['4[0-9]{15}']",
			map[string]any{"id": "u-1", "card": "visa **** ok", "note": "fine", "api_token": "abc123", "email": "bob@mycompany.com", "safe": "4111111111111111", "n": int64(4111111111111111)}},
		{"blocked_key_patterns mask the whole value", "allow_all_keys: true\nblocked_key_patterns: ['.*token.*']",
			map[string]any{"id": "u-1", "card": "visa 4111111111111111 ok", "note": "fine", "api_token": "****", "email": "bob@mycompany.com", "safe": "4111111111111111", "n": int64(4111111111111111)}},
		{"allowed_values win over blocked_values", "allow_all_keys: true\nblocked_values: ['mycompany\\.com', '4[0-9]{15}']\nallowed_values: ['.+@mycompany\\.com']",
			map[string]any{"id": "u-1", "card": "visa **** ok", "note": "fine", "api_token": "abc123", "email": "bob@mycompany.com", "safe": "****", "n": int64(4111111111111111)}},
		{"hash md5", "allowed_keys: [safe]\nblocked_values: ['4[0-9]{15}']\nhash_function: md5", map[string]any{"safe": "5910f4ea0062a0e29afd3dccc741e3ce"}},
		{"hash sha1", "allowed_keys: [safe]\nblocked_values: ['4[0-9]{15}']\nhash_function: sha1", map[string]any{"safe": "68bfb396f35af3876fc509665b3dc23a0930aab1"}},
		{"hash sha3 (SHA3-256)", "allowed_keys: [safe]\nblocked_values: ['4[0-9]{15}']\nhash_function: sha3", map[string]any{"safe": "6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922"}},
		{"summary debug", "allowed_keys: [id, card, api_token, email, safe]\nignored_keys: [note]\nblocked_key_patterns: ['token']\nblocked_values: ['4[0-9]{15}']\nallowed_values: ['@mycompany']\nsummary: debug",
			map[string]any{"id": "u-1", "card": "visa **** ok", "note": "fine", "api_token": "****", "email": "bob@mycompany.com", "safe": "****",
				"redaction.redacted.keys": "n", "redaction.redacted.count": int64(1),
				"redaction.masked.keys": "api_token,card,safe", "redaction.masked.count": int64(3),
				"redaction.allowed.keys": "email", "redaction.allowed.count": int64(1), "redaction.ignored.count": int64(1)}},
		{"summary info: counts only", "allowed_keys: [id]\nsummary: info",
			map[string]any{"id": "u-1", "redaction.redacted.count": int64(6)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := decode(t, "    "+strings.ReplaceAll(c.options, "\n", "\n    "))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			ev := s.Events().AppendEmpty()
			for _, m := range []interface{ FromRaw(map[string]any) error }{rs.Resource().Attributes(), s.Attributes(), ev.Attributes()} {
				if err := m.FromRaw(in); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.(*Processor).ProcessTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]map[string]any{"resource": rs.Resource().Attributes().AsRaw(), "span": s.Attributes().AsRaw(), "span event": ev.Attributes().AsRaw()} {
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s: %v\nwant %v", what, got, c.want)
				}
			}
		})
	}
}

// TestLogsAndMetrics: log bodies (a string, and the keys of a mapping)
// and data points are redacted as attributes are.
func TestLogsAndMetrics(t *testing.T) {
	cfg, err := decode(t, "    allowed_keys: [user, card]\n    blocked_values: ['4[0-9]{15}']\n    summary: debug")
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := New(cfg)
	p := pr.(*Processor)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	str := lrs.AppendEmpty()
	str.Body().SetStr("charged 4111111111111111")
	mp := lrs.AppendEmpty()
	if err := mp.Body().SetEmptyMap().FromRaw(map[string]any{"user": map[string]any{"card": "4111111111111111", "ssn": "x"}, "password": "p"}); err != nil {
		t.Fatal(err)
	}
	if err := p.ProcessLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if got := str.Body().Str(); got != "charged ****" {
		t.Errorf("string body %q", got)
	}
	if got, want := str.Attributes().AsRaw(), map[string]any{"redaction.body.masked.keys": "body", "redaction.body.masked.count": int64(1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("string body summary %v, want %v", got, want)
	}
	if got, want := mp.Body().AsRaw(), map[string]any{"user": map[string]any{"card": "****"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("map body %v, want %v", got, want)
	}
	if got, want := mp.Attributes().AsRaw(), map[string]any{"redaction.body.redacted.keys": "password,user.ssn", "redaction.body.redacted.count": int64(2),
		"redaction.body.masked.keys": "user.card", "redaction.body.masked.count": int64(1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("map body summary %v, want %v", got, want)
	}

	md := pmetric.NewMetrics()
	dp := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("card", "4111111111111111")
	dp.Attributes().PutStr("route", "/x")
	if err := p.ProcessMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if got, want := dp.Attributes().AsRaw(), map[string]any{"card": "****", "redaction.masked.keys": "card", "redaction.masked.count": int64(1),
		"redaction.redacted.keys": "route", "redaction.redacted.count": int64(1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("data point %v, want %v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"    url_sanitizer: {enabled: true}", "config.yaml:7:5: processors.redaction/x.url_sanitizer: not supported: URL sanitization is not implemented: mask the variable parts with blocked_values, or keep the URL attributes out of allowed_keys"},
		{"    db_sanitizer: {sql: {enabled: true}}", "config.yaml:7:5: processors.redaction/x.db_sanitizer: not supported: database statement sanitization is not implemented: keep db.statement/db.query.text out of allowed_keys, or mask literals with blocked_values"},
		{"    hash_function: sha256", `config.yaml:7:20: processors.redaction/x.hash_function: unsupported value "sha256"; supported: md5, sha1, sha3`},
		{"    summary: verbose", `config.yaml:7:14: processors.redaction/x.summary: unsupported value "verbose"; supported: debug, info, silent`},
		{"    blocked_values: ['[']", "config.yaml:7:22: processors.redaction/x.blocked_values: \"[\" is not a valid regular expression: error parsing regexp: missing closing ]: `[`"},
		{"    allowed_key: [a]", `config.yaml:7:5: processors.redaction/x: unknown key "allowed_key"; supported: allow_all_keys, allowed_keys, ignored_keys, blocked_key_patterns, blocked_values, allowed_values, redact_all_types, hash_function, summary, db_sanitizer, skip_conditions, url_sanitizer`},
		{"    allow_all_keys: yes please", `config.yaml:7:21: processors.redaction/x.allow_all_keys: expected true or false, got "yes please"`},
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
