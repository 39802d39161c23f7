package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/usernstest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// unprivilegedTask, set in the environment of this test binary run again
// by TestOwnNetworkUnprivileged, is the task root it runs as a user
// without privileges.
const unprivilegedTask = "LAMBDAOTEL_TEST_UNPRIVILEGED_TASK"

// TestOwnNetworkUnprivileged runs this test binary again as a user without
// privileges (uid 65534 when the test runs as root; the test's own user
// otherwise): through the Go API, its environment has a network of its own
// in a user namespace (the Lambda APIs on 127.0.0.1:9001, the name
// sandbox.localdomain, a forwarded port of the host's), made by the test
// binary itself started again as the holder of the namespaces.
func TestOwnNetworkUnprivileged(t *testing.T) {
	if task := os.Getenv(unprivilegedTask); task != "" {
		ownNetworkInside(t, task)
		return
	}
	asUser := usernstest.AsUser(t)
	t.Parallel()
	dir, err := os.MkdirTemp("", "lambdaotel-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	buildtest.Install(t, self, bin)
	task := filepath.Join(dir, "task")
	buildtest.Install(t, buildtest.Binary(t, plainFunc), filepath.Join(task, "bootstrap"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append(asUser, bin, "-test.run=^TestOwnNetworkUnprivileged$", "-test.v", "-test.count=1")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedTask+"="+task)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err == nil && strings.Contains(out.String(), "--- SKIP: TestOwnNetworkUnprivileged") {
		t.Skipf("as the user without privileges:\n%s", out.String())
	}
	if err != nil || !strings.Contains(out.String(), "--- PASS: TestOwnNetworkUnprivileged") {
		t.Fatalf("%q: %v\n%s", argv, err, out.String())
	}
}

// ownNetworkInside is TestOwnNetworkUnprivileged as the user without
// privileges.
func ownNetworkInside(t *testing.T, task string) {
	if os.Geteuid() == 0 {
		t.Fatal("running as root")
	}
	if err := sandbox.NetworkSupport(); err != nil {
		if kernelRefusedUserns(err.Error()) {
			t.Skipf("unprivileged user namespaces are not available here: %v", err)
		}
		t.Fatalf("no network of its own for an environment: %v", err)
	}
	port := hostGreeter(t)
	var logs syncBuffer
	env, err := sandbox.Start(sandbox.Config{TaskRoot: task, Network: sandbox.NetworkOwn, Forward: []int{port}, Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Shutdown()
	if !env.OwnNetwork() || env.RuntimeAPI() != sandbox.InsideRuntimeAPI {
		t.Fatalf("own network %v, runtime API %s", env.OwnNetwork(), env.RuntimeAPI())
	}
	invoke := func(event string) []byte {
		res, err := env.Invoke(context.Background(), sandbox.Request{Payload: []byte(event)})
		if err != nil || res.Error != nil {
			t.Fatalf("invoke %s: %v %v\n%s", event, err, res, logs.String())
		}
		return res.Payload
	}
	var resp struct{ Env map[string]string }
	if err := json.Unmarshal(invoke(`{"action":"ok"}`), &resp); err != nil {
		t.Fatal(err)
	}
	if got := resp.Env["AWS_LAMBDA_RUNTIME_API"]; got != sandbox.InsideRuntimeAPI {
		t.Errorf("AWS_LAMBDA_RUNTIME_API %q", got)
	}
	for _, name := range []string{"sandbox.localdomain", "sandbox", "localhost", "127.0.0.1"} {
		var got struct{ Data string }
		_ = json.Unmarshal(invoke(fmt.Sprintf(`{"action":"dial","addr":"%s:%d"}`, name, port)), &got)
		if got.Data != "from the host\n" {
			t.Errorf("inside, %s:%d says %q, want the forwarded host port", name, port, got.Data)
		}
	}
	if strings.Contains(logs.String(), "WARN") {
		t.Errorf("a WARN line:\n%s", logs.String())
	}
}

// kernelRefusedUserns reports whether msg, the error of an environment
// that could not have a network of its own, says that the machine does
// not let this user make a user namespace (rather than a failure of the
// sandbox once it had one).
func kernelRefusedUserns(msg string) bool {
	return strings.Contains(msg, "start a holder of the namespaces") || strings.Contains(msg, "nsenter (util-linux)")
}
