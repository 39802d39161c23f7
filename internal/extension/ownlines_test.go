package extension

import (
	"bytes"
	"testing"
)

// TestOwnLines: each line written is claimed once when it comes back;
// lines not written, or written and already claimed, are not; the oldest
// are forgotten past the bound.
func TestOwnLines(t *testing.T) {
	var out bytes.Buffer
	o := newOwnLines(&out, 3)
	if _, err := o.Write([]byte("{\"a\":1}\n{\"a\":1}\n{\"b\":2}\r\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"a\":1}\n{\"a\":1}\n{\"b\":2}\r\n" {
		t.Fatalf("written %q", out.String())
	}
	for _, tc := range []struct {
		line string
		own  bool
	}{{`{"a":1}`, true}, {`{"a":1}`, true}, {`{"a":1}`, false}, {`{"b":2}`, true}, {`{"c":3}`, false}} {
		if got := o.Own(tc.line); got != tc.own {
			t.Errorf("Own(%s) = %v, want %v", tc.line, got, tc.own)
		}
	}
	_, _ = o.Write([]byte("1\n2\n3\n4\n"))
	if o.Own("1") {
		t.Error("a line past the bound is still remembered")
	}
	if !o.Own("4") || !o.Own("2") {
		t.Error("recent lines are not remembered")
	}
	var nilLines *ownLines
	if nilLines.Own("x") {
		t.Error("a nil ownLines claims a line")
	}
}
