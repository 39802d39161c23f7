package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestParseSubscription(t *testing.T) {
	const dest = `"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}`
	cases := []struct {
		name, body, err string
		url             string
		maxItems        int
		timeout         time.Duration
	}{
		{"defaults", `{"schemaVersion":"2022-12-13","types":["platform"],` + dest + `}`, "", "http://127.0.0.1:8080/t", 10000, time.Second},
		{"managed instances schema", `{"schemaVersion":"2025-01-29","types":["platform","function"],"buffering":{"maxItems":1000,"timeoutMs":25},` + dest + `}`, "", "http://127.0.0.1:8080/t", 1000, 25 * time.Millisecond},
		{"sandbox host", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:9999"}}`, "", "http://127.0.0.1:9999", 10000, time.Second},
		{"loopback kept", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://127.0.0.2:9999"}}`, "", "http://127.0.0.2:9999", 10000, time.Second},
		{"malformed JSON", `{"schemaVersion":`, "invalid JSON", "", 0, 0},
		{"unknown schema", `{"schemaVersion":"2020-01-01","types":["platform"],` + dest + `}`, `schemaVersion "2020-01-01" is not supported`, "", 0, 0},
		{"no types", `{"schemaVersion":"2022-12-13","types":[],` + dest + `}`, "types must list at least one", "", 0, 0},
		{"unknown type", `{"schemaVersion":"2022-12-13","types":["metrics"],` + dest + `}`, `type "metrics" is not one of platform, function, extension`, "", 0, 0},
		{"maxItems too small", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10},` + dest + `}`, "buffering.maxItems 10 is out of range: 1000 to 10000", "", 0, 0},
		{"maxBytes too large", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxBytes":2000000},` + dest + `}`, "buffering.maxBytes 2000000 is out of range", "", 0, 0},
		{"timeout too small", `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":5},` + dest + `}`, "buffering.timeoutMs 5 is out of range: 25 to 30000", "", 0, 0},
		{"TCP", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":4243}}`, `destination.protocol "TCP" is not supported`, "", 0, 0},
		{"bad URI", `{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"ftp://x"}}`, `destination.URI "ftp://x" is not an http:// URL`, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSubscription([]byte(c.body), "ext")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.url != c.url || s.maxItems != c.maxItems || s.timeout != c.timeout {
				t.Errorf("url %s maxItems %d timeout %v", s.url, s.maxItems, s.timeout)
			}
		})
	}
}

// TestRepeatedSubscription subscribes one extension several times: a new
// destination adds a subscription, the same destination again changes the
// types of the one it has.
func TestRepeatedSubscription(t *testing.T) {
	tel := newTelemetry(1<<20, nil, t.Logf)
	defer tel.unsubscribeAll()
	sub := func(ext, types, uri string) {
		t.Helper()
		s, err := parseSubscription([]byte(`{"schemaVersion":"2022-12-13","types":[`+types+`],"destination":{"protocol":"HTTP","URI":"`+uri+`"}}`), ext)
		if err != nil {
			t.Fatal(err)
		}
		tel.subscribe(s)
	}
	sub("a", `"platform"`, "http://sandbox.localdomain:4325")
	sub("a", `"function","platform"`, "http://sandbox.localdomain:4326")
	sub("a", `"function"`, "http://sandbox.localdomain:4325")
	sub("b", `"platform"`, "http://sandbox.localdomain:4325")
	tel.mu.Lock()
	defer tel.mu.Unlock()
	var got []string
	for _, s := range tel.subs {
		var types []string
		for _, typ := range []string{"platform", "function", "extension"} {
			if s.types[typ] {
				types = append(types, typ)
			}
		}
		got = append(got, s.extension+" "+s.url+" "+strings.Join(types, "+"))
	}
	want := []string{"a http://127.0.0.1:4325 function", "a http://127.0.0.1:4326 platform+function", "b http://127.0.0.1:4325 platform"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("subscriptions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
