package extension_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// Fake credentials of the function's execution role, as Lambda gives them.
const (
	fakeKeyID  = "AKIDLAMBDAEXAMPLE"
	fakeSecret = "fake/secret+key/for/the/stand-in"
	fakeToken  = "fake-session-token"
	awsRegion  = "eu-west-1"
)

// startAWS starts the AWS stand-in for a function named fn; set, if
// given, changes it before it starts.
func startAWS(t *testing.T, fn string, set ...func(*awsstandin.Server)) *awsstandin.Server {
	t.Helper()
	s := &awsstandin.Server{
		Region: awsRegion, AccessKeyID: fakeKeyID, SecretAccessKey: fakeSecret, SessionToken: fakeToken,
		LogStreams: map[string]bool{"/aws/lambda/" + fn + "/lambdaotel": true},
		Secrets:    map[string]string{"backend-key": "s3cr3t-backend-key-e2e"},
		Roles:      map[string]bool{"arn:aws:iam::123456789012:role/otel-export": true},
	}
	for _, f := range set {
		f(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	lambdatest.Forward(t, s.URL)
	return s
}

// awsEnv is what the sandbox gives the function and the extension to
// reach the stand-in: credentials and the SDKs' AWS_ENDPOINT_URL_*.
func awsEnv(s *awsstandin.Server) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": fakeKeyID, "AWS_SECRET_ACCESS_KEY": fakeSecret, "AWS_SESSION_TOKEN": fakeToken,
		"AWS_ENDPOINT_URL_XRAY": s.URL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": s.URL,
		"AWS_ENDPOINT_URL_STS": s.URL, "AWS_ENDPOINT_URL_SECRETS_MANAGER": s.URL,
	}
}

// checkSigned fails the test for any request the stand-in refused, and
// returns the number of requests per service.
func checkSigned(t *testing.T, s *awsstandin.Server) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, r := range s.Requests() {
		n[r.Service]++
		if r.Status != http.StatusOK {
			t.Errorf("%s %s: %d %s: %s", r.Service, r.Operation, r.Status, r.Code, r.Message)
		}
	}
	return n
}

func spanNames(tds []ptrace.Traces) map[string]int {
	names := map[string]int{}
	for _, td := range tds {
		rs := td.ResourceSpans()
		for i := range rs.Len() {
			ss := rs.At(i).ScopeSpans()
			for j := range ss.Len() {
				sp := ss.At(j).Spans()
				for k := range sp.Len() {
					names[sp.At(k).Name()]++
				}
			}
		}
	}
	return names
}

// TestAWSShortcut runs a function with LAMBDAOTEL_EXPORTER=aws (and
// LAMBDAOTEL_AWS_METRICS=true) and no configuration file: its spans reach
// the X-Ray OTLP stand-in, its logs the CloudWatch Logs one and its
// metrics CloudWatch's, every request gzip-compressed and SigV4-signed
// (verified by the stand-in's own implementation) with the credentials of
// the container credentials endpoint (fetched once), the logs with the
// function's log group and the default stream. Not parallel: the built-in default listens on the standard
// ports 4317 and 4318.
func TestAWSShortcut(t *testing.T) {
	const fn = "aws-shortcut"
	aws := startAWS(t, fn, func(s *awsstandin.Server) { s.ContainerToken = "container-token" })
	extEnv := awsEnv(aws)
	// The credentials come from the container credentials endpoint here,
	// as on Lambda Managed Instances and SnapStart.
	delete(extEnv, "AWS_ACCESS_KEY_ID")
	delete(extEnv, "AWS_SECRET_ACCESS_KEY")
	delete(extEnv, "AWS_SESSION_TOKEN")
	extEnv["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = aws.URL + "/container-credentials"
	extEnv["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-token"
	extEnv["AWS_ENDPOINT_URL_CLOUDWATCH"] = aws.URL
	extEnv["LAMBDAOTEL_AWS_METRICS"] = "true"
	extEnv["LAMBDAOTEL_CONFIG"] = "" // the built-in default
	extEnv["LAMBDAOTEL_EXPORTER"] = "aws"
	extEnv["LAMBDAOTEL_FLUSH_STRATEGY"] = "end"
	extEnv["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
	e := startEnv(t, envOptions{extEnv: extEnv, sandbox: sandbox.Config{FunctionName: fn, Region: awsRegion}})
	const invocations, children, logs = 2, 3, 2
	for k := range invocations {
		if res := e.invoke(t, fmt.Sprintf(`{"spans":%d,"logs":%d}`, children, logs)); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	names := spanNames(aws.Traces())
	if names["handler"] != invocations || names["child-0"] != invocations {
		t.Errorf("spans at X-Ray: %v; want %d handler and child spans", names, invocations)
	}
	sdkLogs := 0
	for _, ld := range aws.Logs() {
		rl := ld.ResourceLogs()
		for i := range rl.Len() {
			sl := rl.At(i).ScopeLogs()
			for j := range sl.Len() {
				if sl.At(j).Scope().Name() == "otelfunc" {
					sdkLogs += sl.At(j).LogRecords().Len()
				}
			}
		}
	}
	if sdkLogs != invocations*logs {
		t.Errorf("%d of the function's log records at CloudWatch Logs, want %d", sdkLogs, invocations*logs)
	}
	points := 0
	for _, md := range aws.Metrics() {
		points += md.DataPointCount()
	}
	if points == 0 {
		t.Errorf("no metric data points at CloudWatch's metrics endpoint")
	}
	n := checkSigned(t, aws)
	if n["xray"] == 0 || n["logs"] == 0 || n["monitoring"] == 0 || n["container-credentials"] != 1 {
		t.Errorf("requests per service: %v; want exports of each signal and one credentials fetch", n)
	}
	for _, r := range aws.Requests() {
		if r.Service == "container-credentials" {
			continue
		}
		if r.AccessKey != fakeKeyID || r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: signed by %q with Content-Encoding %q", r.Operation, r.AccessKey, r.Header.Get("Content-Encoding"))
		}
		if r.Service == "logs" && (r.Header.Get("X-Aws-Log-Group") != "/aws/lambda/"+fn || r.Header.Get("X-Aws-Log-Stream") != "lambdaotel") {
			t.Errorf("log group/stream headers: %q %q", r.Header.Get("X-Aws-Log-Group"), r.Header.Get("X-Aws-Log-Stream"))
		}
	}
}

// keyProxy stands before the sink as a backend that wants an API key:
// it refuses requests without it and counts those with it.
type keyProxy struct {
	key  string
	next http.Handler
	mu   sync.Mutex
	ok   int
	bad  int
}

func (p *keyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/metrics" {
		// A backend that echoes the key it got in its refusal: the
		// extension logs the refusal, and must not show the key.
		http.Error(w, "metrics are not enabled for API key "+r.Header.Get("X-Api-Key"), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	if r.Header.Get("X-Api-Key") != p.key {
		p.bad++
		p.mu.Unlock()
		http.Error(w, "invalid API key", http.StatusUnauthorized)
		return
	}
	p.ok++
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

// TestAWSSecretsAndAssumedRole runs a configuration whose backend API key
// comes from ${secretsmanager:...} and whose X-Ray exporter signs with an
// assumed role: the key reaches the backend on every request, X-Ray's
// requests are signed with the role's credentials from STS, each AWS call
// is verified by the stand-in, and the key appears in no output, not even
// where the backend echoes it in a refusal the extension logs.
func TestAWSSecretsAndAssumedRole(t *testing.T) {
	t.Parallel()
	const fn = "aws-secrets"
	aws := startAWS(t, fn)
	// The backend: a proxy checking the API key, in front of the sink.
	cfg := `
extensions:
  sigv4auth:
    service: xray
    assume_role:
      arn: arn:aws:iam::123456789012:role/otel-export
      sts_region: eu-west-1
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
exporters:
  otlphttp/xray:
    traces_endpoint: ${env:AWS_ENDPOINT_URL_XRAY}/v1/traces
    auth:
      authenticator: sigv4auth
  otlphttp/backend:
    endpoint: ${env:BACKEND}
    headers:
      x-api-key: ${secretsmanager:backend-key}
service:
  extensions: [sigv4auth]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp/xray, otlphttp/backend]
    logs:
      receivers: [otlp]
      exporters: [otlphttp/backend]
    metrics:
      receivers: [otlp]
      exporters: [otlphttp/backend]
lambdaotel:
  flush:
    strategy: end
`
	proxy := &keyProxy{key: "s3cr3t-backend-key-e2e"}
	extEnv := awsEnv(aws)
	// The sink is started by startEnv; the proxy forwards to it once known
	// (nothing is exported before the first invocation).
	var target atomic.Pointer[url.URL]
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(target.Load()).ServeHTTP(w, r)
	}))
	defer front.Close()
	proxy.next = front.Config.Handler
	back := httptest.NewServer(proxy)
	defer back.Close()
	lambdatest.Forward(t, back.URL)
	extEnv["BACKEND"] = back.URL
	e := startEnv(t, envOptions{config: cfg, extEnv: extEnv, sandbox: sandbox.Config{FunctionName: fn, Region: awsRegion}})
	sinkURL, _ := url.Parse("http://" + e.sink.HTTPAddr())
	target.Store(sinkURL)
	for k := range 2 {
		if res := e.invoke(t, `{"spans":2,"logs":1}`); res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
	}
	if got := e.sink.SpanCount(); got != 6 {
		t.Errorf("%d spans at the backend, want 6", got)
	}
	if got := e.sink.LogRecordCount(); got != 2 {
		t.Errorf("%d log records at the backend, want 2", got)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if proxy.ok == 0 || proxy.bad != 0 {
		t.Errorf("backend: %d requests with the key, %d without", proxy.ok, proxy.bad)
	}
	if names := spanNames(aws.Traces()); names["handler"] != 2 {
		t.Errorf("spans at X-Ray: %v", names)
	}
	n := checkSigned(t, aws)
	if n["sts"] != 1 || n["secretsmanager"] != 1 || n["xray"] == 0 {
		t.Errorf("AWS calls per service: %v; want 1 AssumeRole, 1 GetSecretValue (cached for the environment) and the exports", n)
	}
	for _, r := range aws.Requests() {
		want := fakeKeyID
		if r.Service == "xray" {
			want = "ASIA" // the assumed role's
		}
		if !strings.HasPrefix(r.AccessKey, want) {
			t.Errorf("%s %s signed by %q, want %s...", r.Service, r.Operation, r.AccessKey, want)
		}
	}
	e.sb.Shutdown()
	out := e.logs.String()
	for _, rep := range e.sb.Reports() {
		out += fmt.Sprintf("%+v\n", rep)
	}
	if strings.Contains(out, "s3cr3t-backend-key-e2e") {
		t.Errorf("the secret appears in the environment's output:\n%s", out)
	}
	if !strings.Contains(out, "metrics are not enabled for API key [redacted]") {
		t.Errorf("the backend's refusal, echoing the key, is not in the output redacted:\n%s", out)
	}
}

// TestAWSReferenceFails checks that a secret, parameter or configuration
// object that cannot be had fails the init with Extension.ConfigInvalid,
// naming the reference and AWS's error code, and no secret value.
func TestAWSReferenceFails(t *testing.T) {
	t.Parallel()
	aws := startAWS(t, "aws-fails", func(s *awsstandin.Server) {
		s.Denied = map[string]bool{"denied-key": true}
		s.Secrets["denied-key"] = "never-shown-value"
	})
	const cfg = "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:%HTTP_PORT%\nexporters:\n  otlphttp:\n    endpoint: http://%SINK_HTTP%\n    headers: {x-api-key: \"${secretsmanager:REF}\"}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n"
	for _, c := range []struct {
		name, ref string
		env       map[string]string
		want      string
	}{
		{"missing secret", "otel/missing", nil, "${secretsmanager:otel/missing}: cannot resolve: secretsmanager:GetSecretValue: ResourceNotFoundException"},
		{"denied secret", "denied-key", nil, "${secretsmanager:denied-key}: cannot resolve: secretsmanager:GetSecretValue: AccessDeniedException"},
		{"missing S3 object", "backend-key", map[string]string{"LAMBDAOTEL_CONFIG": "s3://cfg-bucket.s3.eu-west-1.amazonaws.com/missing.yaml", "AWS_ENDPOINT_URL_S3": aws.URL},
			"s3://cfg-bucket.s3.eu-west-1.amazonaws.com/missing.yaml: cannot fetch the configuration (named by LAMBDAOTEL_CONFIG): s3:GetObject s3://cfg-bucket/missing.yaml: NoSuchKey (HTTP 404)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lambdatest.Forward(t, aws.URL)
			extEnv := awsEnv(aws)
			for k, v := range c.env {
				extEnv[k] = v
			}
			e := startEnv(t, envOptions{config: strings.Replace(cfg, "REF", c.ref, 1), extEnv: extEnv, sandbox: sandbox.Config{FunctionName: "aws-fails", Region: awsRegion}})
			res := e.invoke(t, `{}`)
			if res.Error == nil || res.Error.Type != "Extension.ConfigInvalid" || res.Init == nil {
				t.Fatalf("result error %+v", res.Error)
			}
			if !strings.Contains(res.Init.ErrorMessage, c.want) || !strings.Contains(e.logs.String(), c.want) {
				t.Errorf("init error %q and logs do not say %q:\n%s", res.Init.ErrorMessage, c.want, e.logs.String())
			}
			if strings.Contains(e.logs.String()+res.Init.ErrorMessage, "never-shown-value") {
				t.Errorf("a secret value is shown")
			}
		})
	}
}
