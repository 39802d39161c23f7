package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoSelfCheck runs the check scripts/demo.sh makes, with its own
// arguments, on a sink that received nothing: it fails and names what is
// missing, so the demo cannot end with its closing paragraph.
func TestDemoSelfCheck(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(script), "\n") {
		if _, rest, ok := strings.Cut(line, "./bin/lambdaotel sink check "); ok {
			rest, _, _ = strings.Cut(rest, " |")
			args = strings.Fields(rest)
		}
	}
	if len(args) < 2 || args[len(args)-1] != `"$work/sink.jsonl"` {
		t.Fatalf("the demo's self-check was not found in scripts/demo.sh (args %q)", args)
	}
	if !strings.Contains(string(script), "sink check") || strings.Index(string(script), "sink check") > strings.Index(string(script), "What happened:") {
		t.Fatal("the demo's closing paragraph comes before its self-check")
	}
	empty := filepath.Join(t.TempDir(), "sink.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args[len(args)-1] = empty
	var stdout, stderr bytes.Buffer
	if code := sinkCheck(args, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d on an empty sink, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"FAIL: missing at the backend", "6 invocation trees of pets", "1 invocation tree of orders", "the faas.invocations metric", "8 log records"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the failure does not say %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "pets: 0 invocation trees at the backend, want 6") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

func TestSinkCheckUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--trees", "pets", "f"}, 2, "want FUNCTION=N"},
		{[]string{"--trees", "pets=0", "f"}, 2, "want FUNCTION=N with N > 0"},
		{nil, 2, "usage: lambdaotel sink check"},
		{[]string{"/nonexistent/sink.jsonl"}, 1, "/nonexistent/sink.jsonl"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if code := sinkCheck(c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}
