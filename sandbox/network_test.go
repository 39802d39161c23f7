package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

const countExt = "github.com/lambdaotel/lambdaotel/internal/fixtures/countext"

// needOwnNetwork skips a test where environments cannot have a network of
// their own.
func needOwnNetwork(t *testing.T) {
	t.Helper()
	if err := sandbox.NetworkSupport(); err != nil {
		t.Skipf("no network of its own for an environment here: %v", err)
	}
}

// countEnv is an environment with plainfunc and the countext extension.
type countEnv struct {
	env  *sandbox.Env
	out  string
	logs *syncBuffer
}

func startCount(t *testing.T, cfg sandbox.Config) *countEnv {
	t.Helper()
	dir := t.TempDir()
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	buildtest.Install(t, buildtest.Binary(t, plainFunc), filepath.Join(task, "bootstrap"))
	buildtest.Install(t, buildtest.Binary(t, countExt), filepath.Join(layer, "extensions", "countext"))
	c := &countEnv{out: filepath.Join(dir, "counts.json"), logs: &syncBuffer{}}
	cfg.TaskRoot, cfg.Layers, cfg.Logs = task, []string{layer}, c.logs
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	cfg.Env["COUNT_OUT"] = c.out
	env, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.env = env
	t.Cleanup(func() {
		env.Shutdown()
		if t.Failed() {
			t.Logf("environment logs:\n%s", c.logs.String())
		}
	})
	return c
}

// counts shuts the environment down and returns what the extension counted.
func (c *countEnv) counts(t *testing.T) map[string]int {
	t.Helper()
	c.env.Shutdown()
	b, err := os.ReadFile(c.out)
	if err != nil {
		t.Fatalf("the extension wrote no counts: %v", err)
	}
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("counts %s: %v", b, err)
	}
	return m
}

// TestThirdPartyExtension runs an extension written as AWS's samples and
// the OpenTelemetry Collector layer are: listeners bound by the name
// sandbox.localdomain on fixed ports, platform and function events
// subscribed in two calls to two listeners. It receives every platform
// and function event of the run, in two environments at once that use
// the same ports.
func TestThirdPartyExtension(t *testing.T) {
	t.Parallel()
	needOwnNetwork(t)
	var wg sync.WaitGroup
	envs := []*countEnv{startCount(t, sandbox.Config{}), startCount(t, sandbox.Config{})}
	for _, c := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ev := range []string{`{"action":"print","lines":3}`, `{"action":"error"}`, `{"action":"print","lines":5}`} {
				res := c.invokeOrFail(t, ev)
				if res.Report.SubscriberErrors != 0 {
					t.Errorf("invocation %s: %d subscriber errors", res.RequestID, res.Report.SubscriberErrors)
				}
			}
		}()
	}
	wg.Wait()
	for i, c := range envs {
		got := c.counts(t)
		want := map[string]int{}
		for _, ev := range c.env.Events() {
			if strings.HasPrefix(ev.Type, "platform.") || ev.Type == "function" {
				want[ev.Type]++
			}
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("environment %d: the extension received %d %s events, the environment made %d", i, got[typ], typ, n)
			}
		}
		if want["function"] < 8 || want["platform.runtimeDone"] != 3 || want["platform.telemetrySubscription"] != 2 {
			t.Errorf("environment %d: the run made %v", i, want)
		}
		if strings.Contains(c.logs.String(), "WARN") {
			t.Errorf("environment %d: a WARN line in the logs:\n%s", i, c.logs.String())
		}
	}
}

func (c *countEnv) invokeOrFail(t *testing.T, event string) *sandbox.Result {
	t.Helper()
	f := &fixture{env: c.env}
	res := f.invoke(t, event)
	if res.Init != nil && res.Init.Status != sandbox.StatusSuccess {
		t.Fatalf("init failed: %s %s", res.Init.ErrorType, res.Init.ErrorMessage)
	}
	return res
}

// TestUnreachableSubscriber subscribes a destination where nothing
// listens: its batches are retried, then lost, with one WARN line for the
// subscriber and the losses counted in the reports.
func TestUnreachableSubscriber(t *testing.T) {
	t.Parallel()
	needOwnNetwork(t)
	c := startCount(t, sandbox.Config{Env: map[string]string{"COUNT_DEAD_PORT": "4399"}})
	errs := 0
	for range 2 {
		errs += c.invokeOrFail(t, `{"action":"ok"}`).Report.SubscriberErrors
	}
	got := c.counts(t)
	if errs == 0 {
		t.Errorf("no subscriber errors in the invocations' reports")
	}
	if n := strings.Count(c.logs.String(), "sandbox: WARN Telemetry API subscriber http://127.0.0.1:4399"); n != 1 {
		t.Errorf("%d WARN lines for the unreachable subscriber, want 1:\n%s", n, c.logs.String())
	}
	if got["platform.runtimeDone"] != 2 {
		t.Errorf("the reachable subscriber got %d runtimeDone events, want 2", got["platform.runtimeDone"])
	}
}

// hostGreeter listens on a port of the host's loopback, until the test
// ends, and writes "from the host\n" to every connection; it returns the
// port.
func hostGreeter(t *testing.T) int {
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("from the host\n"))
			c.Close()
		}
	}()
	return host.Addr().(*net.TCPAddr).Port
}

// TestOwnNetwork checks what a process sees inside: the Lambda APIs on
// 127.0.0.1:9001, a port of its own even where the host's is taken, and a
// forwarded host port.
func TestOwnNetwork(t *testing.T) {
	t.Parallel()
	needOwnNetwork(t)
	port := hostGreeter(t)
	f := start(t, setup{noExtension: true, cfg: sandbox.Config{Network: sandbox.NetworkOwn, Forward: []int{port}}})
	if !f.env.OwnNetwork() || f.env.RuntimeAPI() != sandbox.InsideRuntimeAPI {
		t.Fatalf("own network %v, runtime API %s", f.env.OwnNetwork(), f.env.RuntimeAPI())
	}
	res := f.invoke(t, `{"action":"ok"}`)
	var resp struct{ Env map[string]string }
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	if got := resp.Env["AWS_LAMBDA_RUNTIME_API"]; got != "127.0.0.1:9001" {
		t.Errorf("AWS_LAMBDA_RUNTIME_API %q", got)
	}
	// Inside, the forwarded port is the host's, under its own number and
	// under localhost; another port of the host's is not there.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, c := range []struct{ addr, want string }{
		{fmt.Sprintf("127.0.0.1:%d", port), "from the host\n"},
		{fmt.Sprintf("localhost:%d", port), "from the host\n"},
		{other.Addr().String(), "connection refused"},
	} {
		res := f.invoke(t, fmt.Sprintf(`{"action":"dial","addr":%q}`, c.addr))
		var got struct{ Data string }
		_ = json.Unmarshal(res.Payload, &got)
		if !strings.Contains(got.Data, c.want) {
			t.Errorf("inside, %s says %q, want %q", c.addr, got.Data, c.want)
		}
	}
	if _, err := sandbox.Start(sandbox.Config{TaskRoot: t.TempDir(), Command: []string{"/bin/true"}, Forward: []int{9001}}); err == nil || !strings.Contains(err.Error(), "forward port 9001") {
		t.Errorf("forwarding 9001: %v", err)
	}
}

// TestInitFailureReportOrder fails an init: the invocation it caused is
// reported before the shutdown that resets the environment, as Lambda
// logs them.
func TestInitFailureReportOrder(t *testing.T) {
	t.Parallel()
	f := start(t, setup{noExtension: true, cfg: sandbox.Config{Env: map[string]string{"FIXTURE_INIT": "error"}}})
	res := f.invoke(t, `{"action":"ok"}`)
	if res.Error == nil {
		t.Fatal("the init did not fail")
	}
	var kinds []string
	for _, r := range f.env.Reports() {
		kinds = append(kinds, r.Kind())
	}
	if strings.Join(kinds, ",") != "init,invoke,shutdown" {
		t.Errorf("reports %v, want init, invoke, shutdown", kinds)
	}
}
