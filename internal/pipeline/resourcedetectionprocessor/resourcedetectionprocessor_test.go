package resourcedetectionprocessor

import (
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourceprocessor"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

// minimal is a valid configuration with one traces pipeline.
const minimal = `receivers:
  otlp:
    protocols:
      grpc:
exporters:
  otlp:
    endpoint: otlp.example.com:4317
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
`

// envMap returns a getenv over m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
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
	lambdaAttrs := func(a resourceprocessor.Action) []resourceprocessor.AttributeAction {
		return []resourceprocessor.AttributeAction{
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
	envAttrs := []resourceprocessor.AttributeAction{
		{Key: "deployment.environment.name", Action: resourceprocessor.Upsert, Value: "prod"},
		{Key: "team", Action: resourceprocessor.Upsert, Value: "a b"},
		{Key: "cloud.region", Action: resourceprocessor.Upsert, Value: "us-east-2"},
	}
	tests := []struct {
		name, settings string
		env            map[string]string
		want           []resourceprocessor.AttributeAction
	}{
		{"lambda", "    detectors: [lambda]\n", lambdaEnv, lambdaAttrs(resourceprocessor.Upsert)},
		{"lambda, override false", "    detectors: [lambda]\n    override: false\n", lambdaEnv, lambdaAttrs(resourceprocessor.Insert)},
		{"env", "    detectors: [env]\n    timeout: 2s\n", lambdaEnv, envAttrs},
		{"env first wins cloud.region", "    detectors: [env, lambda]\n", lambdaEnv, append(append([]resourceprocessor.AttributeAction{}, envAttrs...), func() []resourceprocessor.AttributeAction {
			var out []resourceprocessor.AttributeAction
			for _, a := range lambdaAttrs(resourceprocessor.Upsert) {
				if a.Key != "cloud.region" {
					out = append(out, a)
				}
			}
			return out
		}()...)},
		{"lambda attributes switched off", "    detectors: [lambda]\n    lambda:\n      resource_attributes:\n        faas.max_memory: {enabled: false}\n        aws.log.group.names: {enabled: false}\n        aws.log.stream.names: {enabled: false}\n        faas.instance: {enabled: false}\n", lambdaEnv, lambdaAttrs(resourceprocessor.Upsert)[:5]},
		{"outside Lambda nothing is detected", "    detectors: [lambda, env]\n", nil, nil},
		{"system", "    detectors: [system]\n    system:\n      hostname_sources: [os]\n      resource_attributes:\n        host.arch: {enabled: true}\n", nil, []resourceprocessor.AttributeAction{
			{Key: "host.name", Action: resourceprocessor.Upsert, Value: host},
			{Key: "os.type", Action: resourceprocessor.Upsert, Value: runtime.GOOS},
			{Key: "host.arch", Action: resourceprocessor.Upsert, Value: runtime.GOARCH},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(minimal+"processors:\n  resourcedetection:\n"+tt.settings,
				"      exporters: [otlp]", "      processors: [resourcedetection]\n      exporters: [otlp]", 1)
			cfg, err := config.Parse([]byte(yaml), "config.yaml", envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Processors["resourcedetection"]
			rc, _ := p.Options.(*resourceprocessor.Config)
			if p == nil || rc == nil {
				t.Fatalf("processor %+v: want resource actions", p)
			}
			if !reflect.DeepEqual(rc.Attributes, tt.want) && !(len(tt.want) == 0 && len(rc.Attributes) == 0) {
				t.Errorf("actions:\n got %+v\nwant %+v", rc.Attributes, tt.want)
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
			_, err := config.Parse([]byte(yaml), "config.yaml", envMap(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v: want one containing %q", err, tt.want)
			}
		})
	}
}
