package pipeline_test

import (
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://user:PASSWORD@host:4318/v1/traces", "http://REDACTED@host:4318/v1/traces"},
		{"https://TOKEN@host", "https://REDACTED@host"},
		{"https://host/v1/traces?api_key=SECRET&dd=1", "https://host/v1/traces?api_key=REDACTED&dd=REDACTED"},
		{"http://host:4318", "http://host:4318"},
		{"host:4317", "host:4317"},
		{"user:PASSWORD@host:4317", "REDACTED@host:4317"},
		{"http://us er:PASS%zz@host", "http://REDACTED@host"},
		{"http://host/?%zz=SECRET", "http://host/?REDACTED=REDACTED"},
	} {
		if got := pipeline.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
