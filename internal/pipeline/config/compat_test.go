package config

import (
	"strings"
	"testing"
)

// TestLoggingAlias: the collector's old "logging" exporter runs as debug,
// its loglevel mapped onto verbosity, with one warning naming the alias.
func TestLoggingAlias(t *testing.T) {
	tests := []struct {
		name, exporter string
		verbosity      string
		warnings       []string
	}{
		{"bare", "  logging:\n", "basic", []string{`exporter logging: "logging" is the collector's deprecated name of "debug"; running it as debug (loglevel is mapped onto verbosity)`}},
		{"loglevel debug", "  logging:\n    loglevel: debug\n", "detailed", nil},
		{"loglevel info", "  logging:\n    loglevel: info\n", "basic", nil},
		{"verbosity wins over loglevel", "  logging:\n    verbosity: normal\n    loglevel: debug\n", "normal", []string{"exporter logging: loglevel is ignored: verbosity normal is set"}},
		{"named", "  logging/x:\n    verbosity: detailed\n", "detailed", []string{`exporter logging/x: "logging" is the collector's deprecated name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.TrimSuffix(strings.TrimSpace(strings.SplitN(tt.exporter, "\n", 2)[0]), ":")
			yaml := "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n" + tt.exporter +
				"service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [" + id + "]\n"
			cfg, err := Parse([]byte(yaml), "config.yaml", envMap(nil))
			if err != nil {
				t.Fatal(err)
			}
			ex := cfg.Exporters[id]
			if ex.Type != "debug" || ex.Debug == nil || ex.Debug.Verbosity != tt.verbosity {
				t.Fatalf("exporter %+v (debug %+v): want type debug with verbosity %s", ex, ex.Debug, tt.verbosity)
			}
			n := 0
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "deprecated name") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("warnings %q: want exactly one naming the deprecated alias", cfg.Warnings)
			}
			for _, want := range tt.warnings {
				if !strings.Contains(strings.Join(cfg.Warnings, "\n"), want) {
					t.Errorf("warnings %q: want one containing %q", cfg.Warnings, want)
				}
			}
		})
	}
}

// TestColdstartProcessor: accepted, ignored, with a warning saying where
// the cold start already is.
func TestColdstartProcessor(t *testing.T) {
	yaml := minimal + "processors:\n  coldstart:\n"
	yaml = strings.Replace(yaml, "      exporters: [otlp]", "      processors: [coldstart]\n      exporters: [otlp]", 1)
	cfg, err := Parse([]byte(yaml), "config.yaml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Processors["coldstart"]; p == nil || !p.Ignored() {
		t.Fatalf("processor %+v: want coldstart accepted and ignored", p)
	}
	if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "processor coldstart: accepted and ignored: the cold start is already on the spans") || !strings.Contains(w, "faas.coldstart=true") {
		t.Errorf("warnings %q: want one saying faas.coldstart is already on the spans", cfg.Warnings)
	}
}

// TestCompressionValues: zstd is accepted by both OTLP exporters.
func TestCompressionValues(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"gzip", CompressionGzip}, {"zstd", CompressionZstd}, {"ZSTD", CompressionZstd}, {"none", CompressionNone}, {`""`, CompressionNone}} {
		yaml := "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlp:\n    endpoint: otlp.example.com:4317\n    compression: " + tt.in +
			"\n  otlphttp:\n    endpoint: https://otlp.example.com\n    compression: " + tt.in +
			"\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp, otlphttp]\n"
		cfg, err := Parse([]byte(yaml), "config.yaml", envMap(nil))
		if err != nil {
			t.Fatalf("compression %s: %v", tt.in, err)
		}
		if g, h := cfg.Exporters["otlp"].OTLP.Compression, cfg.Exporters["otlphttp"].OTLPHTTP.Compression; g != tt.want || h != tt.want {
			t.Errorf("compression %s: otlp %q, otlphttp %q; want %q", tt.in, g, h, tt.want)
		}
	}
}

// TestBareDollarVariable: $NAME, the collector's old form, is kept as
// written; when NAME is set, one warning says how to write it.
func TestBareDollarVariable(t *testing.T) {
	yaml := strings.Replace(minimal, "exporters:\n", "exporters:\n  debug/x:\n    verbosity: \"$LEVEL $UNSET $LEVEL ^a$ $1\"\n", 1)
	cfg, err := Parse([]byte(yaml), "config.yaml", envMap(map[string]string{"LEVEL": "detailed"}))
	if err == nil {
		t.Fatalf("want the verbosity refused as written, got %+v", cfg.Exporters["debug/x"].Debug)
	}
	yaml = strings.Replace(minimal, "exporters:\n", "exporters:\n  otlphttp/x:\n    endpoint: https://example.com\n    headers: {x-key: \"$KEY $UNSET $KEY ^a$ $1\"}\n", 1)
	cfg, err = Parse([]byte(yaml), "config.yaml", envMap(map[string]string{"KEY": "secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Exporters["otlphttp/x"].OTLPHTTP.Headers["x-key"]; got != "$KEY $UNSET $KEY ^a$ $1" {
		t.Errorf("header %q, want it kept as written", got)
	}
	n := 0
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "$KEY is kept as written") && strings.Contains(w, "write ${env:KEY}") {
			n++
		}
		if strings.Contains(w, "UNSET") {
			t.Errorf("warning about an unset variable: %s", w)
		}
	}
	if n != 1 {
		t.Errorf("warnings %q: want one about $KEY", cfg.Warnings)
	}
}

// TestTopLevelInsecure: an exporter's insecure where old collectors had it
// is read as tls.insecure, with a warning; with a tls section too, refused.
func TestTopLevelInsecure(t *testing.T) {
	for _, tt := range []struct {
		name, exporter, err string
	}{
		{name: "otlp", exporter: "  otlp/x:\n    endpoint: localhost:55681\n    insecure: true\n"},
		{name: "otlphttp", exporter: "  otlphttp/x:\n    endpoint: http://localhost:55681\n    insecure: true\n"},
		{name: "both", exporter: "  otlp/x:\n    endpoint: localhost:55681\n    insecure: true\n    tls: {insecure: true}\n", err: "exporters.otlp/x.insecure: set tls.insecure instead, not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(minimal, "exporters:\n", "exporters:\n"+tt.exporter, 1)
			cfg, err := Parse([]byte(yaml), "config.yaml", envMap(nil))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ex := cfg.Exporters[tt.name+"/x"]
			if (ex.OTLP != nil && !ex.OTLP.TLS.Insecure) || (ex.OTLPHTTP != nil && !ex.OTLPHTTP.TLS.Insecure) {
				t.Errorf("tls.insecure not set: %+v", ex)
			}
			if !strings.Contains(strings.Join(cfg.Warnings, "\n"), "insecure: the collector's old place of tls.insecure") {
				t.Errorf("warnings %q", cfg.Warnings)
			}
		})
	}
}
