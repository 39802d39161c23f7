package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// TestHeaderAuthenticators sends a request through each header-setting
// authenticator to a loopback server and checks what it received.
func TestHeaderAuthenticators(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		x    config.Extension
		want map[string]string // header → value ("" means absent)
	}{
		{"basicauth", config.Extension{Basic: &config.BasicAuth{Username: "user", Password: "pa:ss"}},
			map[string]string{"Authorization": "Basic dXNlcjpwYTpzcw=="}},
		{"bearertokenauth", config.Extension{Bearer: &config.BearerTokenAuth{Scheme: "Bearer", Token: "tok"}},
			map[string]string{"Authorization": "Bearer tok"}},
		{"bearertokenauth without scheme", config.Extension{Bearer: &config.BearerTokenAuth{Token: "tok"}},
			map[string]string{"Authorization": "tok"}},
		{"headers_setter", config.Extension{Headers: &config.HeadersSetter{Headers: []config.HeaderAction{
			{Key: "X-Tenant", Value: "a", Action: config.Upsert},
			{Key: "X-Existing", Value: "new", Action: config.Insert},
			{Key: "X-Absent", Value: "v", Action: config.Update},
			{Key: "X-Drop", Action: config.Delete},
		}}}, map[string]string{"X-Tenant": "a", "X-Existing": "old", "X-Absent": "", "X-Drop": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.x.ID = tc.name
			w, err := New(&tc.x, nil)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
			req.Header.Set("X-Existing", "old")
			req.Header.Set("X-Drop", "gone")
			resp, err := (&http.Client{Transport: w(nil)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k, v := range tc.want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
		})
	}
}
