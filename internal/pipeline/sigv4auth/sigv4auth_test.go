package sigv4auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestInfer checks the service and region read from AWS host names.
func TestInfer(t *testing.T) {
	for _, tc := range []struct{ host, service, region string }{
		{"xray.eu-west-1.amazonaws.com", "xray", "eu-west-1"},
		{"logs.us-east-1.amazonaws.com:443", "logs", "us-east-1"},
		{"monitoring.ap-southeast-2.amazonaws.com", "monitoring", "ap-southeast-2"},
		{"aps-workspaces.us-west-2.amazonaws.com", "aps", "us-west-2"},
		{"search-logs-abc123.eu-central-1.es.amazonaws.com", "es", "eu-central-1"},
		{"sts.amazonaws.com", "sts", ""},
		{"otlp.example.com", "", ""},
		{"127.0.0.1:4318", "", ""},
	} {
		s, r := Infer(tc.host)
		if s != tc.service || r != tc.region {
			t.Errorf("Infer(%q) = %q, %q; want %q, %q", tc.host, s, r, tc.service, tc.region)
		}
	}
}

// TestFromEnvironment checks where credentials come from.
func TestFromEnvironment(t *testing.T) {
	var calls atomic.Int32
	var gotAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		gotAuth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"s","Token":"tok","Expiration":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantKey string
		wantErr string
	}{
		{"static", map[string]string{EnvAccessKeyID: "AKID", EnvSecretAccessKey: "s", EnvSessionToken: "t"}, "AKID", ""},
		{"half", map[string]string{EnvAccessKeyID: "AKID"}, "", "go together"},
		{"container", map[string]string{EnvContainerFullURI: srv.URL + "/creds", EnvContainerToken: "Bearer xyz"}, "ASIACONTAINER", ""},
		{"none", map[string]string{}, "", "no AWS credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromEnvironment(func(k string) string { return tc.env[k] })
			if err == nil {
				var c Credentials
				c, err = p.Retrieve(context.Background())
				if err == nil && c.AccessKeyID != tc.wantKey {
					t.Errorf("key %q, want %q", c.AccessKeyID, tc.wantKey)
				}
				if err == nil {
					// Cached: a second Retrieve makes no call.
					before := calls.Load()
					p.Retrieve(context.Background())
					if calls.Load() != before {
						t.Errorf("a second Retrieve fetched again")
					}
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
	if got, _ := gotAuth.Load().(string); got != "Bearer xyz" {
		t.Errorf("container endpoint got Authorization %q", got)
	}
}

// TestRefreshBeforeExpiry checks that temporary credentials are fetched
// again RefreshBefore their expiry, and kept if a refresh fails while
// they are still valid.
func TestRefreshBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	fetches := 0
	fail := false
	r := &refreshing{now: func() time.Time { return now }, fetch: func(context.Context) (Credentials, error) {
		fetches++
		if fail {
			return Credentials{}, context.DeadlineExceeded
		}
		return Credentials{AccessKeyID: "K" + string(rune('0'+fetches)), Expires: now.Add(15 * time.Minute)}, nil
	}}
	step := func(d time.Duration, wantKey string, wantFetches int) {
		t.Helper()
		now = now.Add(d)
		c, err := r.Retrieve(context.Background())
		if err != nil || c.AccessKeyID != wantKey || fetches != wantFetches {
			t.Errorf("after %v: key %q err %v fetches %d; want %q, %d", d, c.AccessKeyID, err, fetches, wantKey, wantFetches)
		}
	}
	step(0, "K1", 1)
	step(9*time.Minute, "K1", 1) // 6 min left: cached
	step(2*time.Minute, "K2", 2) // 4 min left: refreshed
	fail = true
	step(11*time.Minute, "K2", 3) // 4 min left, refresh fails: still valid, kept
	now = now.Add(10 * time.Minute)
	if _, err := r.Retrieve(context.Background()); err == nil {
		t.Error("expired credentials were used after a failed refresh")
	}
}

// TestSignFailsWithoutServiceAndRegion checks the error when neither is
// known.
func TestSignFailsWithoutServiceAndRegion(t *testing.T) {
	s := NewWithProvider(Config{}, Static(Credentials{AccessKeyID: "A", SecretAccessKey: "S"}), func(string) string { return "" })
	req, _ := http.NewRequest(http.MethodPost, "https://otlp.example.com/v1/traces", nil)
	service, region := s.ServiceRegion(req.URL.Host)
	err := s.Sign(context.Background(), req, nil, service, region)
	if err == nil || !strings.Contains(err.Error(), "set service and region in the sigv4auth extension") {
		t.Errorf("error %v", err)
	}
}
