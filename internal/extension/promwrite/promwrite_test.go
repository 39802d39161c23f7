package promwrite

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// Fake credentials of the function's execution role.
const (
	keyID     = "AKIDLAMBDAEXAMPLE"
	secret    = "fake/secret+key/for/the/stand-in"
	token     = "fake-session-token"
	region    = "eu-west-1"
	workspace = "ws-00000000-e2e0-0000-0000-000000000000"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

// binary builds a main package of the lambdaotel module in that module
// (two directories up), not in this one: the extension and the function
// under test are linked with the versions of lambdaotel's go.mod, not with
// those the Prometheus module would bring in here.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[pkg]; ok {
		return b
	}
	if binDir == "" {
		var err error
		if binDir, err = os.MkdirTemp("", "lambdaotel-promwrite-"); err != nil {
			t.Fatal(err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// config sends the function's metrics and the platform's to Amazon
// Managed Service for Prometheus (the stand-in), signed with sigv4auth.
const config = `
lambdaotel:
  flush:
    strategy: end
  spill:
    enabled: false
extensions:
  sigv4auth:
    region: eu-west-1
    service: aps
receivers:
  telemetryapi:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
exporters:
  prometheusremotewrite:
    endpoint: %AWS%/workspaces/` + workspace + `/api/v1/remote_write
    auth:
      authenticator: sigv4auth
    external_labels:
      deployment: e2e
    send_metadata: true
    remote_write_queue:
      enabled: true
  debug:
service:
  extensions: [sigv4auth]
  pipelines:
    metrics:
      receivers: [otlp, telemetryapi]
      exporters: [prometheusremotewrite]
    traces:
      receivers: [otlp]
      exporters: [debug]
    logs:
      receivers: [otlp]
      exporters: [debug]
`

// series is a decoded series: its labels and samples.
type series struct {
	labels    map[string]string
	samples   []prompb.Sample
	exemplars []prompb.Exemplar
}

// TestRemoteWriteToAMP runs a function using the OpenTelemetry Go SDK in
// the sandbox with the extension exporting to a stand-in of Amazon Managed
// Service for Prometheus. Every request is SigV4-signed for service aps
// (verified by the stand-in's own implementation), carries the remote
// write headers, and decodes with the Prometheus project's own
// prompb.WriteRequest: the SDK's counter with its labels, job and the
// external label; the platform's delta counters and histograms made
// cumulative; target_info; metadata; labels sorted as the specification
// asks.
func TestRemoteWriteToAMP(t *testing.T) {
	aws := &awsstandin.Server{Region: region, AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token}
	if err := aws.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aws.Close() })
	lambdatest.Forward(t, aws.URL)

	dir := t.TempDir()
	httpPort := 4318
	if sandbox.NetworkSupport() != nil {
		httpPort = lambdatest.FreePort(t)
	}
	layer, task := filepath.Join(dir, "layer"), filepath.Join(dir, "task")
	buildtest.Install(t, binary(t, "./cmd/lambdaotel-extension"), filepath.Join(layer, "extensions", "lambdaotel"))
	buildtest.Install(t, binary(t, "./internal/fixtures/otelfunc"), filepath.Join(task, "bootstrap"))
	cfgFile := filepath.Join(dir, "config.yaml")
	text := strings.NewReplacer("%HTTP_PORT%", strconv.Itoa(httpPort), "%AWS%", aws.URL).Replace(config)
	if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lambdatest.LogBuffer{}
	env := lambdatest.StartSandbox(t, sandbox.Config{
		TaskRoot: task, Layers: []string{layer}, FunctionName: "orders", Region: region,
		Env: map[string]string{
			"LAMBDAOTEL_CONFIG":           cfgFile,
			"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			"AWS_ACCESS_KEY_ID":           keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
		},
	}, logs)
	const invocations = 3
	var ids []string
	for k := range invocations {
		res := lambdatest.Invoke(t, env, `{"spans":1}`)
		if res.Error != nil {
			t.Fatalf("invocation %d: %v", k, res.Error)
		}
		ids = append(ids, strings.Trim(string(res.Payload), `"`))
	}
	env.Shutdown() // the final flush sends the last invocation's platform metrics

	if !strings.Contains(logs.String(), "remote_write_queue: accepted and ignored") {
		t.Errorf("no warning for remote_write_queue in the log:\n%s", logs.String())
	}
	for _, bad := range []string{"export failed", "the backend rejected", "data points not sent"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the log says %q:\n%s", bad, logs.String())
		}
	}
	reqs := aws.Requests()
	if len(reqs) == 0 {
		t.Fatalf("no request reached the stand-in; logs:\n%s", logs.String())
	}
	for _, r := range reqs {
		if r.Service != "aps" || r.Operation != "RemoteWrite" || r.Status != 200 || r.AccessKey != keyID {
			t.Errorf("request %s %s: %d %s %s (signed by %q)", r.Service, r.Operation, r.Status, r.Code, r.Message, r.AccessKey)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "lambdaotel/") {
			t.Errorf("User-Agent %q", ua)
		}
	}

	// Decode every request with prompb; the newest sample of each series.
	all := map[string]*series{}
	families := map[string]prompb.MetricMetadata_MetricType{}
	for i, body := range aws.RemoteWrites() {
		var wr prompb.WriteRequest
		if err := wr.Unmarshal(body); err != nil {
			t.Fatalf("request %d: prompb cannot decode it: %v", i, err)
		}
		for _, ts := range wr.Timeseries {
			names := make([]string, len(ts.Labels))
			ls := map[string]string{}
			for j, l := range ts.Labels {
				names[j] = l.Name
				ls[l.Name] = l.Value
			}
			if !sort.StringsAreSorted(names) {
				t.Errorf("labels not sorted: %v", names)
			}
			for j := 1; j < len(ts.Samples); j++ {
				if ts.Samples[j].Timestamp < ts.Samples[j-1].Timestamp {
					t.Errorf("%v: samples out of order", ls)
				}
			}
			key := fmt.Sprint(ls)
			if all[key] == nil {
				all[key] = &series{labels: ls}
			}
			all[key].samples = append(all[key].samples, ts.Samples...)
			all[key].exemplars = append(all[key].exemplars, ts.Exemplars...)
		}
		for _, m := range wr.Metadata {
			families[m.MetricFamilyName] = m.Type
		}
	}
	find := func(name string, match map[string]string) []*series {
		var out []*series
	next:
		for _, s := range all {
			if s.labels["__name__"] != name {
				continue
			}
			for k, v := range match {
				if s.labels[k] != v {
					continue next
				}
			}
			out = append(out, s)
		}
		return out
	}
	last := func(s *series) float64 {
		newest := s.samples[0]
		for _, x := range s.samples {
			if x.Timestamp >= newest.Timestamp {
				newest = x
			}
		}
		return newest.Value
	}
	var names []string
	for _, s := range all {
		names = append(names, s.labels["__name__"])
	}
	sort.Strings(names)
	t.Logf("series received: %s", strings.Join(names, " "))

	// The SDK's counter fixture.invocations, one series per request_id.
	for _, id := range ids {
		got := find("fixture_invocations_total", map[string]string{"request_id": id, "job": "otelfunc", "deployment": "e2e"})
		if len(got) != 1 || last(got[0]) != 1 || got[0].labels["instance"] == "" {
			t.Errorf("fixture_invocations_total{request_id=%q}: %v", id, got)
			continue
		}
		// The SDK samples the counter's exemplar in the invocation's span.
		if ex := got[0].exemplars; len(ex) == 0 || len(ex[0].Labels) < 2 || ex[0].Labels[0].Name != "trace_id" || len(ex[0].Labels[0].Value) != 32 || ex[0].Value != 1 {
			t.Errorf("exemplars of fixture_invocations_total{request_id=%q}: %+v", id, ex)
		}
	}
	if families["fixture_invocations_total"] != prompb.MetricMetadata_COUNTER {
		t.Errorf("metadata of fixture_invocations_total: %v (families %v)", families["fixture_invocations_total"], families)
	}
	// target_info: the SDK's resource attributes.
	if ti := find("target_info", map[string]string{"job": "otelfunc", "telemetry_sdk_language": "go"}); len(ti) != 1 || last(ti[0]) != 1 {
		t.Errorf("target_info of otelfunc: %v", ti)
	}
	// The platform's delta counter and histogram, made cumulative.
	total := 0.0
	for _, s := range find("faas_invocations_total", nil) {
		total += last(s)
		if s.labels["job"] == "" || s.labels["deployment"] != "e2e" {
			t.Errorf("faas_invocations_total labels: %v", s.labels)
		}
	}
	if total != invocations {
		t.Errorf("faas_invocations_total: %v at the end, want %d", total, invocations)
	}
	count := 0.0
	for _, s := range find("faas_invoke_duration_seconds_count", nil) {
		count += last(s)
	}
	inf := 0.0
	for _, s := range find("faas_invoke_duration_seconds_bucket", map[string]string{"le": "+Inf"}) {
		inf += last(s)
	}
	if count != invocations || inf != invocations || len(find("faas_invoke_duration_seconds_sum", nil)) == 0 {
		t.Errorf("faas_invoke_duration_seconds: count %v, le=+Inf %v, want %d", count, inf, invocations)
	}
	if families["faas_invoke_duration_seconds"] != prompb.MetricMetadata_HISTOGRAM {
		t.Errorf("metadata of faas_invoke_duration_seconds: %v", families["faas_invoke_duration_seconds"])
	}
	for _, s := range all {
		for _, x := range s.samples {
			if math.IsNaN(x.Value) {
				t.Errorf("%v: NaN sample", s.labels)
			}
		}
	}
}
