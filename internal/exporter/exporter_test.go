package exporter_test

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// greeter is the configuration of a type registered by this test only.
type greeter struct{ greeting string }

func (g *greeter) Describe([]pipeline.Signal) string { return "greets with " + g.greeting }

// A type is its Factory and the call to Register (in the extension, one
// line of the configuration's list): the configuration then reads it under
// its name and alias, refuses it in pipelines of other signals, lists it
// among the supported types and describes it, with nothing else changed.
func init() {
	exporter.Register(exporter.Factory{
		Type:    "greeter",
		Aliases: []exporter.Alias{{Name: "hello", Note: `"hello" is an old name of "greeter"`}},
		Signals: []pipeline.Signal{pipeline.Logs},
		Decode: func(d exporter.Decoder, key, value *yaml.Node, path string) any {
			f := d.Options(value, path, []string{"greeting"}, exporter.IgnoredKeys)
			s, _ := d.Scalar(f["greeting"].Value, path+".greeting")
			if s == "" {
				d.Errorf(key, "%s: greeting is required", path)
			}
			return &greeter{greeting: s}
		},
		New: func(string, any, exporter.Settings) (pipeline.Exporter, error) {
			return nil, errors.New("not made in this test")
		},
	})
}

func TestRegisteredType(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    string   // "" for none
		warnings   []string // substrings
		summary    string   // substring
	}{
		{
			name: "read and described",
			yaml: "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {hello/a: {greeting: hi, sending_queue: {}}}\n" +
				"service: {pipelines: {logs: {receivers: [otlp], exporters: [hello/a]}}}\n",
			warnings: []string{`exporter hello/a: "hello" is an old name of "greeter"`, "exporters.hello/a.sending_queue: accepted and ignored"},
			summary:  "hello/a: greets with hi",
		},
		{
			name: "its own mistakes",
			yaml: "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {greeter: {}}\n" +
				"service: {pipelines: {logs: {receivers: [otlp], exporters: [greeter]}}}\n",
			wantErr: "t.yaml:2:13: exporters.greeter: greeting is required",
		},
		{
			name: "its signals only",
			yaml: "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {greeter: {greeting: hi}}\n" +
				"service: {pipelines: {traces: {receivers: [otlp], exporters: [greeter]}}}\n",
			wantErr: `exporter "greeter" (greeter) exports logs only; remove it from this traces pipeline`,
		},
		{
			name: "listed among the supported types",
			yaml: "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {nope: {}}\n" +
				"service: {pipelines: {logs: {receivers: [otlp], exporters: [nope]}}}\n",
			wantErr: `exporters: unknown type "nope"; supported: otlp, otlphttp, debug, awsxray, awsemf, prometheusremotewrite, greeter`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), "t.yaml", func(string) string { return "" })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, ok := cfg.Exporters["hello/a"].Config().(*greeter); !ok || g.greeting != "hi" || cfg.Exporters["hello/a"].Type != "greeter" {
				t.Errorf("exporter %+v, want type greeter with greeting hi in Options", cfg.Exporters["hello/a"])
			}
			warnings := strings.Join(cfg.Warnings, "\n")
			for _, w := range tt.warnings {
				if !strings.Contains(warnings, w) {
					t.Errorf("warnings %q, want one containing %q", cfg.Warnings, w)
				}
			}
			if s := cfg.Summary(); !strings.Contains(s, tt.summary) {
				t.Errorf("summary %q, want it to contain %q", s, tt.summary)
			}
		})
	}
}

// TestRegistry: a type is found by its name, an alias by its name with its
// note, and a name registered twice is a mistake of the program.
func TestRegistry(t *testing.T) {
	if f, ok := exporter.Lookup("greeter"); !ok || f.Type != "greeter" {
		t.Fatalf("Lookup(greeter) = %v, %v", f.Type, ok)
	}
	if _, ok := exporter.Lookup("hello"); ok {
		t.Error("Lookup finds an alias; it takes types only")
	}
	for _, tt := range []struct{ name, typ, note string }{
		{"hello", "greeter", `"hello" is an old name of "greeter"`},
		{"otlp_http", "otlphttp", ""},
		{"logging", "debug", `"logging" is the collector's deprecated name of "debug"; running it as debug (loglevel is mapped onto verbosity)`},
		{"greeter", "greeter", ""},
		{"unknown", "unknown", ""},
	} {
		if typ, note := exporter.Canonical(tt.name); typ != tt.typ || note != tt.note {
			t.Errorf("Canonical(%s) = %q, %q; want %q, %q", tt.name, typ, note, tt.typ, tt.note)
		}
	}
	f, _ := exporter.Lookup("greeter")
	if ok, _ := f.Exports(pipeline.Logs); !ok {
		t.Error("greeter does not export logs")
	}
	if ok, only := f.Exports(pipeline.Metrics); ok || only != "logs" {
		t.Errorf("Exports(metrics) = %v, %q; want false, logs", ok, only)
	}
	for _, dup := range []exporter.Factory{
		{Type: "greeter"},
		{Type: "other", Aliases: []exporter.Alias{{Name: "otlp_grpc"}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) twice did not panic", dup.Type)
				}
			}()
			dup.Decode = func(exporter.Decoder, *yaml.Node, *yaml.Node, string) any { return nil }
			dup.New = func(string, any, exporter.Settings) (pipeline.Exporter, error) { return nil, nil }
			exporter.Register(dup)
		}()
	}
}
