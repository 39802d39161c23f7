package sigv4auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
)

// TestAssumeRole gets a role's credentials from the STS stand-in (which
// verifies the call's signature and shape) and signs with them; a role
// that may not be assumed is refused with STS's error code.
func TestAssumeRole(t *testing.T) {
	s := &awsstandin.Server{Region: "eu-west-1", AccessKeyID: "AKIDFN", SecretAccessKey: "fn-secret",
		Roles: map[string]bool{"arn:aws:iam::123456789012:role/ok": true}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDFN", "AWS_SECRET_ACCESS_KEY": "fn-secret", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": s.URL}
	getenv := func(k string) string { return env[k] }

	signer, err := sigv4auth.New(sigv4auth.Config{Service: "xray", AssumeRole: sigv4auth.AssumeRole{RoleARN: "arn:aws:iam::123456789012:role/ok"}}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: signer.RoundTripper(nil)}
	for range 2 {
		resp, err := client.Post(s.URL+"/v1/traces", "application/x-protobuf", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %s", resp.Status)
		}
	}
	var sts, xray int
	for _, r := range s.Requests() {
		switch r.Service {
		case "sts":
			sts++
		case "xray":
			xray++
			if !strings.HasPrefix(r.AccessKey, "ASIA") {
				t.Errorf("export signed by %q, want the role's key", r.AccessKey)
			}
		}
		if r.Status != http.StatusOK {
			t.Errorf("%s %s: %d %s", r.Service, r.Operation, r.Status, r.Code)
		}
	}
	if sts != 1 || xray != 2 {
		t.Errorf("%d AssumeRole and %d exports; want 1 (cached) and 2", sts, xray)
	}

	denied, err := sigv4auth.New(sigv4auth.Config{Service: "xray", AssumeRole: sigv4auth.AssumeRole{RoleARN: "arn:aws:iam::123456789012:role/other"}}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/v1/traces", nil)
	_, err = denied.RoundTripper(nil).RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "sts:AssumeRole arn:aws:iam::123456789012:role/other: AccessDenied (HTTP 403)") {
		t.Errorf("error %v", err)
	}
	if _, err := sigv4auth.New(sigv4auth.Config{AssumeRole: sigv4auth.AssumeRole{RoleARN: "role/x"}}, getenv); err == nil || !strings.Contains(err.Error(), "is not a role ARN") {
		t.Errorf("bad ARN: error %v", err)
	}
}
