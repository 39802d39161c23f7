package awsxrayexporter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsxrayexporter"
)

const (
	keyID  = "AKIDFUNCTIONEXAMPLE"
	secret = "function/secret/key"
	token  = "function-session-token"
	role   = "arn:aws:iam::123456789012:role/xray-writer"
)

func standin(t *testing.T) *awsstandin.Server {
	t.Helper()
	s := &awsstandin.Server{Region: "eu-central-1", AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token,
		Roles: map[string]bool{role: true}, ExternalIDs: map[string]string{role: "tenant-42"}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func env(s *awsstandin.Server) func(string) string {
	m := map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
		"AWS_REGION": "eu-central-1", "AWS_ENDPOINT_URL_STS": s.URL}
	return func(k string) string { return m[k] }
}

func traces(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, n := range names {
		sp := spans.AppendEmpty()
		sp.SetName(n)
		sp.SetTraceID(pcommon.TraceID{0x67, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	}
	return td
}

// TestExport sends spans to the X-Ray stand-in, which verifies each
// request's SigV4 signature (service xray, the region given): with the
// function's credentials, with a role's (AssumeRole with the ExternalId its
// trust policy wants), through a proxy; spans the endpoint would refuse are
// counted as rejected while the others arrive.
func TestExport(t *testing.T) {
	s := standin(t)
	var proxied atomic.Int64
	target, _ := url.Parse(s.URL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	for _, c := range []struct {
		name    string
		cfg     awsxrayexporter.Config
		spans   ptrace.Traces
		key     string // prefix of the signing key
		wantErr string
		arrived int
	}{
		{name: "function credentials", cfg: awsxrayexporter.Config{Region: "eu-central-1"}, spans: traces("a", "b"), key: keyID, arrived: 2},
		{name: "region from AWS_REGION", spans: traces("a"), key: keyID, arrived: 1},
		{name: "assumed role with external id", cfg: awsxrayexporter.Config{RoleARN: role, ExternalID: "tenant-42"}, spans: traces("a"), key: "ASIA", arrived: 1},
		{name: "wrong external id", cfg: awsxrayexporter.Config{RoleARN: role, ExternalID: "other"}, spans: traces("a"), wantErr: "sts:AssumeRole " + role + ": AccessDenied"},
		{name: "wrong region", cfg: awsxrayexporter.Config{Region: "us-east-1"}, spans: traces("a"), wantErr: "403"},
		{name: "through a proxy", cfg: awsxrayexporter.Config{ProxyAddress: proxy.URL}, spans: traces("a"), key: keyID, arrived: 1},
		{name: "a span X-Ray would refuse is counted", spans: func() ptrace.Traces {
			td := traces("ok", "zero")
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetTraceID(pcommon.TraceID{})
			return td
		}(), key: keyID, arrived: 1, wantErr: "1 spans that X-Ray's OTLP endpoint would refuse were taken out before export (1: invalid trace or span id (all zeros))"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.Traces())
			nreq := len(s.Requests())
			cfg := c.cfg
			cfg.TracesURL, cfg.Getenv, cfg.Timeout = s.URL+"/v1/traces", env(s), 5*time.Second
			e, err := awsxrayexporter.New("awsxray", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			p0 := proxied.Load()
			err = e.ExportTraces(context.Background(), c.spans)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("export: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("export error %v, want %q", err, c.wantErr)
			}
			var ee *pipeline.ExportError
			if strings.Contains(c.name, "counted") && (!errors.As(err, &ee) || ee.Retryable || ee.Rejected != 1) {
				t.Errorf("want a permanent ExportError with 1 rejected, got %#v", err)
			}
			got := 0
			for _, td := range s.Traces()[before:] {
				got += td.SpanCount()
			}
			if got != c.arrived {
				t.Errorf("%d spans arrived, want %d", got, c.arrived)
			}
			for _, r := range s.Requests()[nreq:] {
				if r.Service == "xray" && r.Status == http.StatusOK && !strings.HasPrefix(r.AccessKey, c.key) {
					t.Errorf("signed by %q, want %s...", r.AccessKey, c.key)
				}
				if r.Service == "xray" && r.Status == http.StatusOK && r.Header.Get("Content-Encoding") != "gzip" {
					t.Errorf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
				}
			}
			if c.cfg.ProxyAddress != "" && proxied.Load() == p0 {
				t.Errorf("no request went through the proxy")
			}
		})
	}
}

// TestNewErrors checks what stops the exporter at init: no region, no
// credentials, a bad role ARN.
func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  awsxrayexporter.Config
		env  map[string]string
		want string
	}{
		{"no region", awsxrayexporter.Config{}, map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "no region for X-Ray's endpoint"},
		{"no credentials", awsxrayexporter.Config{TracesURL: "https://xray.us-east-1.amazonaws.com/v1/traces"}, nil, "no AWS credentials"},
		{"bad role", awsxrayexporter.Config{TracesURL: "https://xray.us-east-1.amazonaws.com/v1/traces", RoleARN: "role/x"}, map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, "is not a role ARN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Getenv = func(k string) string { return c.env[k] }
			_, err := awsxrayexporter.New("awsxray/x", c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "awsxray/x") {
				t.Errorf("error %v, want one naming the exporter and %q", err, c.want)
			}
		})
	}
}
