package config

import (
	"os"
	"reflect"
	"runtime"
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

// lambdaEnv is the environment Lambda gives a function, as the detectors read it.
var lambdaEnv = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME":        "orders",
	"AWS_REGION":                      "eu-west-1",
	"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
	"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/orders",
	"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/12/04/[$LATEST]0123456789abcdef",
	"OTEL_RESOURCE_ATTRIBUTES":        "deployment.environment.name=prod,team=a%20b,cloud.region=us-east-2",
}

// TestResourceDetection: the detectors' attributes become resource actions,
// upsert by default (override: true), insert with override: false, the
// first detector winning a key both find.
func TestResourceDetection(t *testing.T) {
	host, _ := os.Hostname()
	lambdaAttrs := func(a Action) []AttributeAction {
		return []AttributeAction{
			{Key: "cloud.provider", Action: a, Value: "aws"},
			{Key: "cloud.platform", Action: a, Value: "aws_lambda"},
			{Key: "cloud.region", Action: a, Value: "eu-west-1"},
			{Key: "faas.name", Action: a, Value: "orders"},
			{Key: "faas.version", Action: a, Value: "$LATEST"},
			{Key: "faas.instance", Action: a, Value: "2026/12/04/[$LATEST]0123456789abcdef"},
			{Key: "faas.max_memory", Action: a, Value: int64(512)},
			{Key: "aws.log.group.names", Action: a, Value: []string{"/aws/lambda/orders"}},
			{Key: "aws.log.stream.names", Action: a, Value: []string{"2026/12/04/[$LATEST]0123456789abcdef"}},
		}
	}
	envAttrs := []AttributeAction{
		{Key: "deployment.environment.name", Action: Upsert, Value: "prod"},
		{Key: "team", Action: Upsert, Value: "a b"},
		{Key: "cloud.region", Action: Upsert, Value: "us-east-2"},
	}
	tests := []struct {
		name, settings string
		env            map[string]string
		want           []AttributeAction
	}{
		{"lambda", "    detectors: [lambda]\n", lambdaEnv, lambdaAttrs(Upsert)},
		{"lambda, override false", "    detectors: [lambda]\n    override: false\n", lambdaEnv, lambdaAttrs(Insert)},
		{"env", "    detectors: [env]\n    timeout: 2s\n", lambdaEnv, envAttrs},
		{"env first wins cloud.region", "    detectors: [env, lambda]\n", lambdaEnv, append(append([]AttributeAction{}, envAttrs...), func() []AttributeAction {
			var out []AttributeAction
			for _, a := range lambdaAttrs(Upsert) {
				if a.Key != "cloud.region" {
					out = append(out, a)
				}
			}
			return out
		}()...)},
		{"lambda attributes switched off", "    detectors: [lambda]\n    lambda:\n      resource_attributes:\n        faas.max_memory: {enabled: false}\n        aws.log.group.names: {enabled: false}\n        aws.log.stream.names: {enabled: false}\n        faas.instance: {enabled: false}\n", lambdaEnv, lambdaAttrs(Upsert)[:5]},
		{"outside Lambda nothing is detected", "    detectors: [lambda, env]\n", nil, nil},
		{"system", "    detectors: [system]\n    system:\n      hostname_sources: [os]\n      resource_attributes:\n        host.arch: {enabled: true}\n", nil, []AttributeAction{
			{Key: "host.name", Action: Upsert, Value: host},
			{Key: "os.type", Action: Upsert, Value: runtime.GOOS},
			{Key: "host.arch", Action: Upsert, Value: runtime.GOARCH},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(minimal+"processors:\n  resourcedetection:\n"+tt.settings,
				"      exporters: [otlp]", "      processors: [resourcedetection]\n      exporters: [otlp]", 1)
			cfg, err := Parse([]byte(yaml), "config.yaml", envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Processors["resourcedetection"]
			if p == nil || p.Resource == nil {
				t.Fatalf("processor %+v: want resource actions", p)
			}
			if !reflect.DeepEqual(p.Resource.Attributes, tt.want) && !(len(tt.want) == 0 && len(p.Resource.Attributes) == 0) {
				t.Errorf("actions:\n got %+v\nwant %+v", p.Resource.Attributes, tt.want)
			}
		})
	}
}

// TestResourceDetectionErrors: what cannot be detected in Lambda is refused
// with what to use instead.
func TestResourceDetectionErrors(t *testing.T) {
	tests := []struct {
		name, settings string
		env            map[string]string
		want           string
	}{
		{"no detectors", "    timeout: 2s\n", nil, "processors.resourcedetection: detectors is required: a list of env, lambda, system"},
		{"ec2", "    detectors: [lambda, ec2]\n", nil, `detector "ec2" does not apply in Lambda; supported: env, lambda, system`},
		{"hostname from dns", "    detectors: [system]\n    system:\n      hostname_sources: [dns]\n", nil, `processors.resourcedetection.system.hostname_sources: source "dns" is not supported in Lambda; supported: os`},
		{"bad OTEL_RESOURCE_ATTRIBUTES", "    detectors: [env]\n", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1,b"}, `detector env: OTEL_RESOURCE_ATTRIBUTES has an invalid pair "b"; want key=value[,key=value]`},
		{"unknown key", "    detectors: [env]\n    refresh_interval: 5m\n", nil, `processors.resourcedetection: unknown key "refresh_interval"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(minimal+"processors:\n  resourcedetection:\n"+tt.settings,
				"      exporters: [otlp]", "      processors: [resourcedetection]\n      exporters: [otlp]", 1)
			_, err := Parse([]byte(yaml), "config.yaml", envMap(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v: want one containing %q", err, tt.want)
			}
		})
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
