package deploy_test

import (
	"path/filepath"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// checkAWSEnv checks that the variables a deployment sets with the aws
// destination make the extension send traces to X-Ray and logs to
// CloudWatch Logs, signed, into the stream the deployment creates.
func checkAWSEnv(t *testing.T, where string, env map[string]string, stream string) {
	t.Helper()
	env["AWS_REGION"], env["AWS_LAMBDA_FUNCTION_NAME"] = "eu-west-1", "pets"
	cfg, err := config.Default(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for s, want := range map[pipeline.Signal]string{
		pipeline.Traces: "https://xray.eu-west-1.amazonaws.com/v1/traces",
		pipeline.Logs:   "https://logs.eu-west-1.amazonaws.com/v1/logs",
	} {
		ps := cfg.PipelinesFor(s)
		if len(ps) != 1 {
			t.Fatalf("%s: %d %s pipelines", where, len(ps), s)
		}
		e := cfg.Exporters[ps[0].Exporters[0]]
		switch {
		case s == pipeline.Traces:
			// The awsxray exporter signs its requests itself.
			if e.AWSXRay == nil || e.AWSXRay.TracesURL(func(k string) string { return env[k] }) != want {
				t.Errorf("%s: %s go to %+v, want the awsxray exporter to %s", where, s, e, want)
			}
		case e.OTLPHTTP == nil || e.OTLPHTTP.URL(s) != want || cfg.Extensions[e.Auth] == nil:
			t.Errorf("%s: %s go to %+v, want %s signed", where, s, e, want)
		}
	}
	if stream != config.DefaultAWSLogStream {
		t.Errorf("%s: the deployment creates the log stream %q; the extension writes to %q", where, stream, config.DefaultAWSLogStream)
	}
}

// TestSAMTemplateAWS checks the SAM template's Destination=aws.
func TestSAMTemplateAWS(t *testing.T) {
	tp := readTemplate(t, filepath.Join("sam", "template.yaml"))
	params := map[string]string{"Destination": "aws", "Architecture": "x86_64"}
	globals, _ := tp.section("Globals")["Function"].(map[string]any)
	props := tp.resolve(t, globals, params).(map[string]any)
	vars, _ := props["Environment"].(map[string]any)["Variables"].(map[string]any)
	env := map[string]string{}
	for k, v := range vars {
		if s, ok := v.(string); ok {
			env[k] = s
		}
	}
	streams := 0
	for name, r := range tp.section("Resources") {
		r := r.(map[string]any)
		if r["Type"] != "AWS::Logs::LogStream" {
			continue
		}
		streams++
		if !tp.condition(t, r["Condition"].(string), params) || tp.condition(t, r["Condition"].(string), map[string]string{"Destination": "otlp"}) {
			t.Errorf("log stream %s is not made for aws only", name)
		}
		p := r["Properties"].(map[string]any)
		checkAWSEnv(t, "sam "+name, env, p["LogStreamName"].(string))
	}
	if streams != 2 {
		t.Errorf("%d log streams, want one per function", streams)
	}
}

// TestTerraformModuleAWS checks the Terraform module's destination = "aws".
func TestTerraformModuleAWS(t *testing.T) {
	m := readModule(t, "terraform")
	ctx := m.evalContext(t, map[string]string{"destination": "aws"})
	env := map[string]string{}
	for k, v := range ctx.Variables["local"].GetAttr("environment").AsValueMap() {
		env[k] = v.AsString()
	}
	groups := ctx.Variables["local"].GetAttr("aws_log_groups").LengthInt()
	if groups != 2 {
		t.Errorf("%d log groups with destination aws, want one per function", groups)
	}
	if n := m.evalContext(t, map[string]string{}).Variables["local"].GetAttr("aws_log_groups").LengthInt(); n != 0 {
		t.Errorf("%d log groups with destination otlp, want none", n)
	}
	stream := m.blocks["resource.aws_cloudwatch_log_stream.otlp"]
	if stream == nil {
		t.Fatal("no aws_cloudwatch_log_stream.otlp")
	}
	checkAWSEnv(t, "terraform", env, eval(t, "log stream", stream, "name", ctx).AsString())
}
