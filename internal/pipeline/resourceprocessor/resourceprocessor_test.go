package resourceprocessor

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// The configuration parser finds the resource processor's Decode through
// the registry, as in the extension.
func init() { processor.Register(Factory) }

func TestActions(t *testing.T) {
	base := map[string]any{
		"service.name": "checkout",
		"faas.name":    "checkout-fn",
		"stage":        "dev",
		"count":        int64(3),
		"tags":         []any{"a", "b"},
	}
	tests := []struct {
		name    string
		actions []AttributeAction
		want    map[string]any
	}{
		{
			name:    "insert adds an absent key",
			actions: []AttributeAction{{Key: "deployment.environment", Action: Insert, Value: "prod"}},
			want:    with(base, "deployment.environment", "prod"),
		},
		{
			name:    "insert keeps a present key",
			actions: []AttributeAction{{Key: "stage", Action: Insert, Value: "prod"}},
			want:    base,
		},
		{
			name:    "update changes a present key",
			actions: []AttributeAction{{Key: "stage", Action: Update, Value: "prod"}},
			want:    with(base, "stage", "prod"),
		},
		{
			name:    "update ignores an absent key",
			actions: []AttributeAction{{Key: "region", Action: Update, Value: "eu-west-1"}},
			want:    base,
		},
		{
			name: "upsert sets present and absent keys",
			actions: []AttributeAction{
				{Key: "stage", Action: Upsert, Value: "prod"},
				{Key: "region", Action: Upsert, Value: "eu-west-1"},
			},
			want: with(with(base, "stage", "prod"), "region", "eu-west-1"),
		},
		{
			name: "delete removes a key, absent keys are fine",
			actions: []AttributeAction{
				{Key: "tags", Action: Delete},
				{Key: "nope", Action: Delete},
			},
			want: without(base, "tags"),
		},
		{
			name: "value types",
			actions: []AttributeAction{
				{Key: "s", Action: Insert, Value: "x"},
				{Key: "i", Action: Insert, Value: int64(42)},
				{Key: "i32", Action: Insert, Value: 7},
				{Key: "f", Action: Insert, Value: 0.5},
				{Key: "b", Action: Insert, Value: true},
				{Key: "count", Action: Update, Value: "three"},
			},
			want: with(with(with(with(with(with(base, "s", "x"), "i", int64(42)), "i32", int64(7)), "f", 0.5), "b", true), "count", "three"),
		},
		{
			name:    "from_attribute copies another attribute",
			actions: []AttributeAction{{Key: "service.namespace", Action: Insert, FromAttribute: "faas.name"}},
			want:    with(base, "service.namespace", "checkout-fn"),
		},
		{
			name:    "from_attribute copies non-string values",
			actions: []AttributeAction{{Key: "labels", Action: Upsert, FromAttribute: "tags"}},
			want:    with(base, "labels", []any{"a", "b"}),
		},
		{
			name:    "from_attribute overwrites with update",
			actions: []AttributeAction{{Key: "service.name", Action: Update, FromAttribute: "faas.name"}},
			want:    with(base, "service.name", "checkout-fn"),
		},
		{
			name:    "from_attribute with an absent source does nothing",
			actions: []AttributeAction{{Key: "stage", Action: Upsert, FromAttribute: "nope"}},
			want:    base,
		},
		{
			name:    "from_attribute naming itself does nothing",
			actions: []AttributeAction{{Key: "stage", Action: Upsert, FromAttribute: "stage"}},
			want:    base,
		},
		{
			name: "actions run in order",
			actions: []AttributeAction{
				{Key: "old.name", Action: Insert, FromAttribute: "service.name"},
				{Key: "service.name", Action: Upsert, Value: "renamed"},
				{Key: "stage", Action: Delete},
				{Key: "stage", Action: Insert, Value: "prod"},
			},
			want: with(with(with(base, "old.name", "checkout"), "service.name", "renamed"), "stage", "prod"),
		},
		{
			name:    "no actions",
			actions: nil,
			want:    base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Attributes: tt.actions})
			if err != nil {
				t.Fatal(err)
			}

			td := ptrace.NewTraces()
			md := pmetric.NewMetrics()
			ld := plog.NewLogs()
			for i := 0; i < 2; i++ { // every resource, not just the first
				fill(t, td.ResourceSpans().AppendEmpty().Resource().Attributes().FromRaw(base))
				fill(t, md.ResourceMetrics().AppendEmpty().Resource().Attributes().FromRaw(base))
				fill(t, ld.ResourceLogs().AppendEmpty().Resource().Attributes().FromRaw(base))
			}
			// A span's own attributes are not the resource's: left alone.
			span := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			span.Attributes().PutStr("stage", "span-level")

			if err := p.ProcessTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
			if err := p.ProcessMetrics(context.Background(), md); err != nil {
				t.Fatal(err)
			}
			if err := p.ProcessLogs(context.Background(), ld); err != nil {
				t.Fatal(err)
			}

			for i := 0; i < 2; i++ {
				check(t, "traces", td.ResourceSpans().At(i).Resource().Attributes().AsRaw(), tt.want)
				check(t, "metrics", md.ResourceMetrics().At(i).Resource().Attributes().AsRaw(), tt.want)
				check(t, "logs", ld.ResourceLogs().At(i).Resource().Attributes().AsRaw(), tt.want)
			}
			if v, _ := span.Attributes().Get("stage"); v.Str() != "span-level" {
				t.Errorf("span attribute changed to %q", v.Str())
			}
		})
	}
}

// TestFromAttributeWhileGrowing copies into many new keys, so that the
// attribute map grows and moves while a source value is being read.
func TestFromAttributeWhileGrowing(t *testing.T) {
	var actions []AttributeAction
	want := map[string]any{"src": "value"}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		actions = append(actions, AttributeAction{Key: k, Action: Insert, FromAttribute: "src"})
		want[k] = "value"
	}
	p, err := New(Config{Attributes: actions})
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("src", "value")
	if err := p.ProcessTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	check(t, "traces", td.ResourceSpans().At(0).Resource().Attributes().AsRaw(), want)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		action AttributeAction
		want   string
	}{
		{"unknown action", AttributeAction{Key: "k", Action: "hash"}, `resource processor: attributes[0] (k): unsupported action "hash"; supported: insert, update, upsert, delete`},
		{"empty key", AttributeAction{Action: Delete}, "resource processor: attributes[0]: key is empty"},
		{"no value", AttributeAction{Key: "k", Action: Insert}, "resource processor: attributes[0] (insert k): no value and no from_attribute"},
		{"bad value type", AttributeAction{Key: "k", Action: Upsert, Value: []int{1}}, "resource processor: attributes[0] (upsert k): value [1] is a []int; want a string, integer, float or bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Attributes: []AttributeAction{tt.action}})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}

// TestWithParsedConfig runs the processor as the extension will: from a
// parsed configuration file.
func TestWithParsedConfig(t *testing.T) {
	yaml := `receivers:
  otlp:
    protocols:
      http:
processors:
  resource:
    attributes:
      - key: deployment.environment
        value: ${env:STAGE}
        action: upsert
      - key: cloud.provider
        value: aws
        action: insert
      - key: replicas
        value: 3
        action: insert
exporters:
  debug:
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [resource]
      exporters: [debug]
`
	cfg, err := config.Parse([]byte(yaml), "config.yaml", func(k string) string {
		return map[string]string{"STAGE": "prod"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(*cfg.Processors["resource"].Options.(*Config))
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("cloud.provider", "gcp")
	if err := p.ProcessLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	check(t, "logs", ld.ResourceLogs().At(0).Resource().Attributes().AsRaw(), map[string]any{
		"deployment.environment": "prod",
		"cloud.provider":         "gcp",
		"replicas":               int64(3),
	})
}

func fill(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, signal string, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s resource attributes:\n got %v\nwant %v", signal, got, want)
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[k] = v
	return out
}

func without(m map[string]any, k string) map[string]any {
	out := with(m, k, nil)
	delete(out, k)
	return out
}
