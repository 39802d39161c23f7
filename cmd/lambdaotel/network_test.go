package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestRunEnvironmentsAtOnce runs two `lambdaotel run` at the same time,
// each with an extension whose listeners bind sandbox.localdomain on the
// same fixed ports: each environment has a network of its own, and each
// extension receives its environment's events.
func TestRunEnvironmentsAtOnce(t *testing.T) {
	if err := sandbox.NetworkSupport(); err != nil {
		t.Skipf("no network of its own for an environment here: %v", err)
	}
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	layer := filepath.Join(t.TempDir(), "layer")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/countext"), filepath.Join(layer, "extensions", "countext"))
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	os.WriteFile(event, []byte(`{"action":"print","lines":2}`), 0o644)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(dir, "counts"+string(rune('a'+i))+".json")
			cmd := exec.Command(bin, "run", "--task-root", task, "--layer", layer, "--event", event, "--repeat", "3",
				"--network", "own", "--env", "COUNT_OUT="+out)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = nil, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("lambdaotel run %d: %v\n%s", i, err, stderr.String())
				return
			}
			b, err := os.ReadFile(out)
			var counts map[string]int
			if err == nil {
				err = json.Unmarshal(b, &counts)
			}
			if err != nil || counts["platform.runtimeDone"] != 3 || counts["function"] < 6 {
				t.Errorf("environment %d: the extension counted %v (%v)\n%s", i, counts, err, stderr.String())
			}
			if strings.Contains(stderr.String(), "WARN") {
				t.Errorf("environment %d: a WARN line:\n%s", i, stderr.String())
			}
		}()
	}
	wg.Wait()
}

// TestRunNetworkFlags checks the flags that choose the network.
func TestRunNetworkFlags(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{}`), 0o644)
	cases := []struct {
		args []string
		code int
		want string // in stderr (or stdout for a result)
	}{
		{[]string{"--forward", "x"}, 2, `--forward "x": want a port number`},
		{[]string{"--forward", "9001"}, 1, "forward port 9001"},
		{[]string{"--network", "bridge"}, 1, `network "bridge"`},
		{[]string{"--network", "host"}, 0, `"AWS_LAMBDA_RUNTIME_API":"127.0.0.1:`},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, append([]string{"run", "--task-root", task, "--event", event}, c.args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%q: exit %d, output:\n%s\nwant exit %d and %q", c.args, code, out.String(), c.code, c.want)
		}
		if c.code == 0 && (strings.Contains(out.String(), "WARN") || strings.Contains(out.String(), sandbox.InsideRuntimeAPI)) {
			t.Errorf("%q: a WARN line, or the Lambda APIs of a network of its own, with the host's network asked for:\n%s", c.args, out.String())
		}
	}
}
