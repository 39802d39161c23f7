package config

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
)

// standin starts the AWS stand-in with a few secrets, parameters and
// objects, and returns it with an environment pointing at it.
func standin(t *testing.T) (*awsstandin.Server, map[string]string) {
	t.Helper()
	s := &awsstandin.Server{
		Region: "eu-west-1", AccessKeyID: "AKIDFUNCTION", SecretAccessKey: "function-secret", SessionToken: "function-token",
		Secrets: map[string]string{
			"backend-key": "s3cr3t-api-key",
			"arn:aws:secretsmanager:eu-west-1:123456789012:secret:multi-AbCd": `{"api_key":"k-123","tenant":"t-9"}`,
			"denied": "never",
		},
		Parameters: map[string]string{"/lambdaotel/endpoint": "https://otlp.example.com:4318"},
		Denied:     map[string]bool{"denied": true},
		Objects:    map[string][]byte{"cfg-bucket/lambda/collector.yaml": []byte(authBase + "exporters:\n  otlphttp: {endpoint: \"${ssm:/lambdaotel/endpoint}\"}\n")},
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	env := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDFUNCTION", "AWS_SECRET_ACCESS_KEY": "function-secret", "AWS_SESSION_TOKEN": "function-token",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.URL, "AWS_ENDPOINT_URL_SSM": s.URL, "AWS_ENDPOINT_URL_S3": s.URL,
	}
	return s, env
}

// TestSecretReferences resolves ${secretsmanager:...} and ${ssm:...}
// through the stand-in, which verifies each call's signature and shape.
func TestSecretReferences(t *testing.T) {
	s, env := standin(t)
	cfg, err := Parse([]byte(authBase+`
exporters:
  otlphttp:
    endpoint: ${ssm:/lambdaotel/endpoint}
    headers:
      x-api-key: ${secretsmanager:backend-key}
      x-key: "${secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:multi-AbCd#api_key}"
      x-tenant: tenant=${secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:multi-AbCd#tenant}
`), "config.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Exporters["otlphttp"].OTLPHTTP
	if o.Endpoint != "https://otlp.example.com:4318" {
		t.Errorf("endpoint = %q", o.Endpoint)
	}
	want := map[string]string{"x-api-key": "s3cr3t-api-key", "x-key": "k-123", "x-tenant": "tenant=t-9"}
	for k, v := range want {
		if o.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, o.Headers[k], v)
		}
	}
	if len(cfg.Secrets) != 3 || !contains(cfg.Secrets, "s3cr3t-api-key") || !contains(cfg.Secrets, "k-123") {
		t.Errorf("Secrets = %d values, want the 3 resolved of 4 characters or more", len(cfg.Secrets))
	}
	if sum := cfg.Summary(); strings.Contains(sum, "s3cr3t") || strings.Contains(sum, "k-123") {
		t.Errorf("the summary shows a secret:\n%s", sum)
	}
	// One call per secret or parameter: the JSON secret is fetched once
	// for both of its keys.
	ops := map[string]int{}
	for _, r := range s.Requests() {
		if r.Status != http.StatusOK {
			t.Errorf("%s %s: %d %s %s", r.Service, r.Operation, r.Status, r.Code, r.Message)
		}
		ops[r.Service+" "+r.Operation]++
	}
	if ops["secretsmanager GetSecretValue"] != 2 || ops["ssm GetParameter"] != 1 || len(s.Requests()) != 3 {
		t.Errorf("calls = %v, want 2 GetSecretValue and 1 GetParameter", ops)
	}
}

// TestSecretReferenceErrors checks that a reference that cannot be
// resolved is named with the AWS error code, and no value appears.
func TestSecretReferenceErrors(t *testing.T) {
	_, env := standin(t)
	for _, tc := range []struct {
		name, ref, want string
		env             map[string]string
	}{
		{"not found", "${secretsmanager:nope}", `config.yaml:11:18: ${secretsmanager:nope}: cannot resolve: secretsmanager:GetSecretValue: ResourceNotFoundException (HTTP 400): Secrets Manager can't find the specified secret.`, nil},
		{"denied", "${secretsmanager:denied}", `${secretsmanager:denied}: cannot resolve: secretsmanager:GetSecretValue: AccessDeniedException (HTTP 400): User is not authorized`, nil},
		{"parameter not found", "${ssm:/nope}", `${ssm:/nope}: cannot resolve: ssm:GetParameter: ParameterNotFound (HTTP 400)`, nil},
		{"json key missing", "${secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:multi-AbCd#nokey}", `#nokey: no such key in the JSON object (2 keys: api_key, tenant)`, nil},
		{"not json", "${secretsmanager:backend-key#k}", `#k: the value is not a JSON object, so it has no keys`, nil},
		{"wrong secret key", "${secretsmanager:backend-key}", `UnrecognizedClientException`, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDOTHER"}},
		{"bad signature", "${secretsmanager:backend-key}", `InvalidSignatureException (HTTP 403): The request signature we calculated does not match`, map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tc.env[k]; ok {
					return v
				}
				return env[k]
			}
			_, err := Parse([]byte(authBase+"exporters:\n  otlphttp:\n    endpoint: https://x\n    headers: {k: \""+tc.ref+"\"}\n"), "config.yaml", getenv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant %s", err, tc.want)
			}
			for _, secret := range []string{"s3cr3t", "k-123", "never", "function-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows %q: %v", secret, err)
				}
			}
		})
	}
}

// TestLoadRemote loads the configuration from S3 (both URI forms) and
// over HTTP, from loopback stand-ins.
func TestLoadRemote(t *testing.T) {
	s, env := standin(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/collector.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Write(s.Objects["cfg-bucket/lambda/collector.yaml"])
	}))
	defer web.Close()
	for _, tc := range []struct{ name, variable, uri, wantErr string }{
		{"s3 upstream form", EnvCollectorURI, "s3://cfg-bucket.s3.eu-west-1.amazonaws.com/lambda/collector.yaml", ""},
		{"s3 short form", EnvConfig, "s3://cfg-bucket/lambda/collector.yaml", ""},
		{"http", EnvCollectorURI, web.URL + "/collector.yaml?token=abc", ""},
		{"s3 missing", EnvCollectorURI, "s3://cfg-bucket/nope.yaml", `s3://cfg-bucket/nope.yaml: cannot fetch the configuration (named by OPENTELEMETRY_COLLECTOR_CONFIG_URI): s3:GetObject s3://cfg-bucket/nope.yaml: NoSuchKey (HTTP 404): The specified key does not exist.`},
		{"http missing", EnvConfig, web.URL + "/nope.yaml?token=abc", `/nope.yaml: cannot fetch the configuration (named by LAMBDAOTEL_CONFIG): GET ` + web.URL + `/nope.yaml: 404 Not Found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{tc.variable: tc.uri}
			for k, v := range env {
				e[k] = v
			}
			cfg, err := Load(func(k string) string { return e[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "token=abc") {
					t.Fatalf("error = %v\nwant %s (and no query)", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Exporters["otlphttp"].OTLPHTTP.Endpoint; got != "https://otlp.example.com:4318" {
				t.Errorf("endpoint = %q", got)
			}
			if strings.Contains(cfg.Source, "token=abc") {
				t.Errorf("Source shows the query: %s", cfg.Source)
			}
		})
	}
}
