package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/internal/usernstest"
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
		code := exitCode(cmd)
		if code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%q: exit %d, output:\n%s\nwant exit %d and %q", c.args, code, out.String(), c.code, c.want)
		}
		if c.code == 0 && (strings.Contains(out.String(), "WARN") || strings.Contains(out.String(), sandbox.InsideRuntimeAPI)) {
			t.Errorf("%q: a WARN line, or the Lambda APIs of a network of its own, with the host's network asked for:\n%s", c.args, out.String())
		}
	}
}

// TestRunUnprivileged runs `lambdaotel run` as a user without privileges
// (uid 65534 when the test runs as root; the test's own user otherwise),
// where environments have a network of their own through a user
// namespace: the lambdaotel extension listens on 4317/4318 inside while a
// listener of the test holds the host's 4318, the function's spans reach
// the sink on the host through the forwarded ports, and a second extension
// whose Telemetry API listeners bind sandbox.localdomain receives its
// events.
func TestRunUnprivileged(t *testing.T) {
	asUser := usernstest.AsUser(t)
	// Everything the user runs or writes is in a directory it may use.
	dir, err := os.MkdirTemp("", "lambdaotel-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{dir, filepath.Join(dir, "out"), filepath.Join(dir, "spill")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "lambdaotel")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel"), bin)
	task := filepath.Join(dir, "task")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/otelfunc"), filepath.Join(task, "bootstrap"))
	countLayer := filepath.Join(dir, "countext-layer")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/countext"), filepath.Join(countLayer, "extensions", "countext"))
	s := lambdatest.StartSink(t, nil)
	x := lambdatest.NewExtension(t, dir, lambdatest.WithTelemetryAPI(lambdatest.OTLPConfig), s)
	if x.HTTPPort != 4318 || x.GRPCPort != 4317 {
		t.Fatalf("the extension's ports are %d/%d, want 4317/4318", x.GRPCPort, x.HTTPPort)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:4318"); err == nil {
		defer ln.Close()
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatal(err)
	}
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"spans":2,"logs":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	counts := filepath.Join(dir, "out", "counts.json")
	args := []string{bin, "run", "--task-root", task, "--layer", x.Layer, "--layer", countLayer, "--event", event, "--repeat", "3",
		"--network", "own", "--forward", strconv.Itoa(lambdatest.PortOf(t, s.HTTPAddr())),
		"--forward", strconv.Itoa(lambdatest.PortOf(t, s.GRPCAddr())), "--env", "COUNT_OUT=" + counts}
	for k, v := range x.Env("http/protobuf") {
		args = append(args, "--env", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append(asUser, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		// A machine that does not let the user make a user namespace
		// (a container's seccomp profile, say) refuses the holder's start.
		if msg := out.String(); strings.Contains(msg, "cannot have a network of its own") &&
			(strings.Contains(msg, "start a holder of the namespaces") || strings.Contains(msg, "nsenter (util-linux)")) {
			t.Skipf("unprivileged user namespaces are not available here:\n%s", msg)
		}
		t.Fatalf("%q: %v\n%s", argv, err, out.String())
	}
	if strings.Contains(out.String(), "WARN") || strings.Contains(out.String(), "ERROR") {
		t.Errorf("a WARN or ERROR line:\n%s", out.String())
	}
	if got := s.SpanCount(); got < 3*3 {
		t.Errorf("%d spans at the backend, want at least 9 (3 invocations of 3 spans)\n%s", got, out.String())
	}
	if got := s.LogRecordCount(); got < 3 {
		t.Errorf("%d log records at the backend, want at least 3\n%s", got, out.String())
	}
	b, err := os.ReadFile(counts)
	var n map[string]int
	if err == nil {
		err = json.Unmarshal(b, &n)
	}
	if err != nil || n["platform.runtimeDone"] != 3 || n["platform.telemetrySubscription"] != 3 {
		t.Errorf("the extension listening on sandbox.localdomain counted %v (%v)\n%s", n, err, out.String())
	}
}
