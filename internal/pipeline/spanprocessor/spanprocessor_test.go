package spanprocessor

import (
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

// decode parses options (indented under the processor span/x, from line
// 7) as the extension does.
func decode(t *testing.T, options string) (any, error) {
	t.Helper()
	yml := "receivers:\n  otlp:\n    protocols:\n      http:\nprocessors:\n  span/x:\n" + options + "\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [span/x]\n      exporters: [debug]\n"
	cfg, err := config.Parse([]byte(yml), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return cfg.Processors["span/x"].Options, nil
}

// TestRename follows the collector's README and span processor: the
// examples there give the expected names.
func TestRename(t *testing.T) {
	attrs := map[string]any{"db.svc": "location", "operation": "get", "id": int64(1234), "ok": true, "ratio": 0.5}
	cases := []struct {
		name, options, span string
		wantName            string
		wantAttrs           map[string]any // added or changed
		wantStatus          ptrace.StatusCode
		wantMessage         string
	}{
		{"from_attributes with separator (README example)", "name: {from_attributes: [db.svc, operation], separator: '::'}", "x", "location::get", nil, 0, ""},
		{"from_attributes without separator", "name: {from_attributes: [db.svc, operation]}", "x", "locationget", nil, 0, ""},
		{"numbers and booleans formatted", "name: {from_attributes: [id, ok, ratio], separator: '-'}", "x", "1234-true-0.5", nil, 0, ""},
		{"a missing attribute: name kept", "name: {from_attributes: [db.svc, nonesuch]}", "x", "x", nil, 0, ""},
		{"to_attributes (README example)", "name: {to_attributes: {rules: ['^\\/api\\/v1\\/document\\/(?P<documentId>.*)\\/update$']}}", "/api/v1/document/12345678/update",
			"/api/v1/document/{documentId}/update", map[string]any{"documentId": "12345678"}, 0, ""},
		{"rules in order on the new name", "name: {to_attributes: {rules: ['^/users/(?P<user>[0-9]+)', '/orders/(?P<order>[0-9]+)$']}}", "/users/7/orders/9",
			"/users/{user}/orders/{order}", map[string]any{"user": "7", "order": "9"}, 0, ""},
		{"break_after_match", "name: {to_attributes: {rules: ['^/users/(?P<user>[0-9]+)', '/orders/(?P<order>[0-9]+)$'], break_after_match: true}}", "/users/7/orders/9",
			"/users/{user}/orders/9", map[string]any{"user": "7"}, 0, ""},
		{"keep_original_name", "name: {to_attributes: {rules: ['^/users/(?P<user>[0-9]+)'], keep_original_name: true}}", "/users/7",
			"/users/7", map[string]any{"user": "7"}, 0, ""},
		{"an existing attribute is overwritten", "name: {to_attributes: {rules: ['^(?P<operation>[a-z]+) ']}}", "put thing",
			"{operation} thing", map[string]any{"operation": "put"}, 0, ""},
		{"no match: nothing", "name: {to_attributes: {rules: ['^/users/(?P<user>[0-9]+)$']}}", "/orders/1", "/orders/1", nil, 0, ""},
		{"from then to", "name: {from_attributes: [db.svc, id], separator: /, to_attributes: {rules: ['/(?P<num>[0-9]+)$']}}", "x",
			"location/{num}", map[string]any{"num": "1234"}, 0, ""},
		{"status Error with description", "status: {code: Error, description: 'some error description'}", "x", "x", nil, ptrace.StatusCodeError, "some error description"},
		{"status Ok clears the message", "status: {code: Ok}", "x", "x", nil, ptrace.StatusCodeOk, ""},
		{"include by span name", "name: {from_attributes: [operation]}\ninclude: {match_type: regexp, span_names: ['^db ']}", "db query", "get", nil, 0, ""},
		{"include not matched: unchanged", "name: {from_attributes: [operation]}\ninclude: {match_type: regexp, span_names: ['^db ']}", "http get", "http get", nil, 0, ""},
		{"exclude by attribute", "name: {from_attributes: [operation]}\nexclude: {match_type: strict, attributes: [{key: db.svc, value: location}]}", "x", "x", nil, 0, ""},
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
			s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			s.SetName(c.span)
			if err := s.Attributes().FromRaw(attrs); err != nil {
				t.Fatal(err)
			}
			s.Status().SetMessage("before")
			if err := p.(*Processor).ProcessTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
			if s.Name() != c.wantName {
				t.Errorf("name %q, want %q", s.Name(), c.wantName)
			}
			want := maps.Clone(attrs)
			maps.Copy(want, c.wantAttrs)
			if got := s.Attributes().AsRaw(); !reflect.DeepEqual(got, want) {
				t.Errorf("attributes %v, want %v", got, want)
			}
			if c.wantStatus != 0 && (s.Status().Code() != c.wantStatus || s.Status().Message() != c.wantMessage) {
				t.Errorf("status %v %q, want %v %q", s.Status().Code(), s.Status().Message(), c.wantStatus, c.wantMessage)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"", "config.yaml:6:3: processors.span/x: nothing to do: give name.from_attributes, name.to_attributes.rules or status"},
		{"    name: {separator: '-'}", "config.yaml:6:3: processors.span/x: nothing to do: give name.from_attributes, name.to_attributes.rules or status"},
		{"    name: {from: [a]}", `config.yaml:7:12: processors.span/x.name: unknown key "from"; supported: from_attributes, separator, to_attributes`},
		{"    name: {to_attributes: {break_after_match: true}}", "config.yaml:7:12: processors.span/x.name.to_attributes: rules is required: a list of regular expressions with named groups"},
		{"    name: {to_attributes: {rules: ['(']}}", "config.yaml:7:36: processors.span/x.name.to_attributes.rules: \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"    status: {code: error}", `config.yaml:7:20: processors.span/x.status.code: "error" is not a status code; use Ok, Error or Unset (as written)`},
		{"    status: {description: x}", "config.yaml:7:5: processors.span/x.status: code is required: Ok, Error or Unset"},
		{"    status: {code: Ok, description: x}", "config.yaml:7:37: processors.span/x.status.description: only for code Error, not Ok"},
		{"    status: {code: Ok}\n    include: {match_type: strict}", ""},
		{"    status: {code: Ok}\n    rename: x", `config.yaml:8:5: processors.span/x: unknown key "rename"; supported: name, status, include, exclude`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := decode(t, c.options)
			if (err == nil) != (c.want == "") || (err != nil && err.Error() != c.want) {
				t.Errorf("error %v\nwant  %s", err, c.want)
			}
		})
	}
}

// TestCheckSignal: an include block with a metrics property is refused
// as upstream refuses it when it builds the traces processor.
func TestCheckSignal(t *testing.T) {
	cfg, err := decode(t, "    status: {code: Ok}\n    include: {match_type: strict, metric_names: [a]}")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := New(cfg)
	want := "include: metric_names cannot match traces; for traces use services, span_names, span_kinds, attributes, resources, libraries"
	if err := p.(processor.SignalChecker).CheckSignal("traces"); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
