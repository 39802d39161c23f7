package otlpexporter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestIsolateMalformed checks that one item a backend refuses as malformed
// (400) does not take the other items of its request with it: the request
// is cut in halves until the bad item is alone, the rest is delivered, and
// the bad item is counted as rejected with the backend's message, within a
// bounded number of requests. A backend that refuses everything gets no
// more than the halves (two or three: each carries its resource) before
// the request fails as it is.
func TestIsolateMalformed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		poison    []int // indexes of the spans the backend refuses
		spans     int
		delivered int
		rejected  int64
		maxReqs   int
	}{
		{"one bad span of 51", []int{17}, 51, 50, 1, 1 + 2*7},
		{"two bad spans of 51", []int{3, 40}, 51, 49, 2, 1 + 4*7},
		{"all refused", nil, 6, 0, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			delivered, requests := 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
				mu.Lock()
				defer mu.Unlock()
				requests++
				if err != nil || tc.poison == nil || strings.Contains(string(body), "poison") {
					http.Error(w, "malformed: a value nests too deeply", http.StatusBadRequest)
					return
				}
				delivered += td.SpanCount()
				w.Header().Set("Content-Type", "application/x-protobuf")
			}))
			defer srv.Close()
			td := ptrace.NewTraces()
			spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
			for i := range tc.spans {
				sp := spans.AppendEmpty()
				sp.SetName("innocent")
				for _, p := range tc.poison {
					if p == i {
						sp.SetName("poison")
					}
				}
			}
			e, err := NewHTTP("otlphttp", HTTPConfig{TracesURL: srv.URL + "/v1/traces", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(testContext(t))
			err = e.ExportTraces(testContext(t), td)
			xe := exportError(t, err)
			if xe.Retryable {
				t.Errorf("retryable: %v", err)
			}
			if tc.poison == nil {
				wantError(t, err, false, 0, "400 Bad Request", "6 spans not sent")
			} else if xe.Rejected != tc.rejected || !strings.Contains(err.Error(), "refused as malformed") || !strings.Contains(err.Error(), "nests too deeply") {
				t.Errorf("Rejected %d, want %d; error %v", xe.Rejected, tc.rejected, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if delivered != tc.delivered || requests > tc.maxReqs {
				t.Errorf("%d spans delivered in %d requests, want %d in at most %d", delivered, requests, tc.delivered, tc.maxReqs)
			}
			t.Logf("%d spans delivered in %d requests", delivered, requests)
		})
	}
}
