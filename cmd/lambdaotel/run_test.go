package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

// taskRoot makes a task root with the plainfunc test function.
func taskRoot(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "task")
	buildtest.Install(t, buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/internal/fixtures/plainfunc"), filepath.Join(dir, "bootstrap"))
	return dir
}

// exitCode runs cmd and returns its exit status; it is also 0 when cmd
// could not start at all (it then wrote nothing).
func exitCode(cmd *exec.Cmd) int {
	if ee, ok := cmd.Run().(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

// TestRunEvents runs `lambdaotel run --event` and reads its results and report.
func TestRunEvents(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	report := filepath.Join(dir, "report.jsonl")
	os.WriteFile(event, []byte(`{"action":"print","lines":1}`), 0o644)
	cmd := exec.Command(bin, "run", "--task-root", task, "--event", event, "--repeat", "2",
		"--function-name", "cli", "--env", "FIXTURE_X=1", "--report", report)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lambdaotel run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want one result per invocation:\n%s", len(lines), stdout.String())
	}
	var res struct{ Env map[string]string }
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil || res.Env["AWS_LAMBDA_FUNCTION_NAME"] != "cli" || res.Env["FIXTURE_X"] != "1" {
		t.Errorf("result %s", lines[0])
	}
	for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "line 1 of 1"} {
		if strings.Count(stderr.String(), want) != 2 {
			t.Errorf("stderr should have %q twice:\n%s", want, stderr.String())
		}
	}
	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		var r struct {
			Type          string   `json:"type"`
			PostRuntimeMs *float64 `json:"postRuntimeMs"`
		}
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("report line %q: %v", s.Text(), err)
		}
		if r.Type == "invoke" && r.PostRuntimeMs == nil {
			t.Errorf("invoke report without postRuntimeMs: %s", s.Text())
		}
		kinds = append(kinds, r.Type)
	}
	if strings.Join(kinds, ",") != "init,invoke,invoke,shutdown" {
		t.Errorf("report lines %v", kinds)
	}
}

// TestRunErrors checks the exit status and message of bad invocations.
func TestRunErrors(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no task root", []string{"run", "--event", "x"}, 2, "--task-root is required"},
		{"neither event nor listen", []string{"run", "--task-root", task}, 2, "give either --event FILE or --listen ADDR"},
		{"bad env", []string{"run", "--task-root", task, "--event", "x", "--env", "NOEQUALS"}, 2, `--env "NOEQUALS": want KEY=VALUE`},
		{"missing event file", []string{"run", "--task-root", task, "--event", "/nonexistent.json"}, 1, "--event: open /nonexistent.json"},
		{"missing task root", []string{"run", "--task-root", "/nonexistent", "--event", "-"}, 1, `task root "/nonexistent" is not a directory`},
		{"remote listen", []string{"run", "--task-root", task, "--listen", "0.0.0.0:0"}, 2, "is not a loopback address"},
		{"zero timeout", []string{"run", "--task-root", task, "--event", "x", "--timeout", "0"}, 2, "--timeout 0s: want more than 0"},
		{"zero memory", []string{"run", "--task-root", task, "--event", "x", "--memory", "0"}, 2, "--memory 0: want 128 to 10240 MB"},
		{"reserved env", []string{"run", "--task-root", task, "--event", "x", "--env", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"}, 2, "--env AWS_LAMBDA_RUNTIME_API: Lambda reserves this variable"},
		{"init fails", []string{"run", "--task-root", task, "--event", "-", "--env", "FIXTURE_INIT=exit"}, 1, "the environment could not start: Runtime.ExitError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Stdin = strings.NewReader("{}")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			code := exitCode(cmd)
			if code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, c.code, stderr.String(), c.want)
			}
		})
	}
}

// TestRunListen serves the invoke endpoint, invokes it, and interrupts it.
func TestRunListen(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	cmd := exec.Command(bin, "run", "--task-root", taskRoot(t), "--listen", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	for lines.Scan() {
		if _, after, ok := strings.Cut(lines.Text(), "curl -d '{}' "); ok {
			url = after
			break
		}
	}
	if !strings.HasSuffix(url, sandbox.InvokePath) {
		t.Fatalf("no invoke URL printed (got %q)", url)
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"requestId"`) {
		t.Errorf("invoke: %d %s", resp.StatusCode, body)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("lambdaotel run after SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lambdaotel run did not stop after SIGINT")
	}
}

// TestRunMaxConcurrency runs `lambdaotel run --max-concurrency 4` with 8
// invocations of a 300 ms event: they run 4 at a time, and each result and
// report line is there.
func TestRunMaxConcurrency(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	report := filepath.Join(dir, "report.jsonl")
	os.WriteFile(event, []byte(`{"action":"sleep","sleepMs":300}`), 0o644)
	cmd := exec.Command(bin, "run", "--task-root", task, "--event", event, "--repeat", "8",
		"--max-concurrency", "4", "--report", report)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lambdaotel run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var handlers [][2]int64
	ids := map[string]bool{}
	for _, l := range lines {
		var r struct {
			RequestID      string
			StartNs, EndNs int64
			Env            map[string]string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Env["AWS_LAMBDA_MAX_CONCURRENCY"] != "4" || ids[r.RequestID] {
			t.Errorf("result %s", l)
		}
		ids[r.RequestID] = true
		handlers = append(handlers, [2]int64{r.StartNs, r.EndNs})
	}
	if len(lines) != 8 {
		t.Fatalf("stdout has %d lines, want 8:\n%s", len(lines), stdout.String())
	}
	// Some handlers ran at the same time, never more than 4.
	most := 0
	for _, a := range handlers {
		n := 0
		for _, b := range handlers {
			if b[0] <= a[0] && a[0] < b[1] {
				n++
			}
		}
		most = max(most, n)
	}
	if most < 2 || most > 4 {
		t.Errorf("at most %d handlers ran at once, want 2 to 4: %v", most, handlers)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"type":"invoke"`); n != 8 {
		t.Errorf("%d invoke report lines, want 8", n)
	}
	if !strings.Contains(string(data), `"initializationType":"lambda-managed-instances"`) {
		t.Errorf("the init report line does not say lambda-managed-instances:\n%s", data)
	}
}

// TestRunListenConcurrent serves the invoke endpoint with
// --max-concurrency 2: two requests sent at once run at once.
func TestRunListenConcurrent(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	cmd := exec.Command(bin, "run", "--task-root", taskRoot(t), "--listen", "127.0.0.1:0", "--max-concurrency", "2")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	for lines.Scan() {
		if _, after, ok := strings.Cut(lines.Text(), "curl -d '{}' "); ok {
			url = after
			break
		}
	}
	if !strings.HasSuffix(url, sandbox.InvokePath) {
		t.Fatalf("no invoke URL printed (got %q)", url)
	}
	go io.Copy(io.Discard, stderr)
	type times struct{ StartNs, EndNs int64 }
	got := make([]times, 2)
	errs := make(chan error, 2)
	for i := range got {
		go func() {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"action":"sleep","sleepMs":300}`))
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&got[i])
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range got {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Each handler started before the other ended.
	if got[0].StartNs >= got[1].EndNs || got[1].StartNs >= got[0].EndNs {
		t.Errorf("the two handlers did not overlap: %+v", got)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("lambdaotel run after SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lambdaotel run did not stop after SIGINT")
	}
}

// TestRunMaxConcurrencyFlag checks the bad values of --max-concurrency.
func TestRunMaxConcurrencyFlag(t *testing.T) {
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	task := taskRoot(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--max-concurrency", "-1"}, 2, "--max-concurrency -1: want 1 or more"},
		{[]string{"--max-concurrency", "2", "--freeze-min", "1s"}, 1, "Lambda Managed Instances never freeze"},
	} {
		cmd := exec.Command(bin, append([]string{"run", "--task-root", task, "--event", "-"}, c.args...)...)
		cmd.Stdin = strings.NewReader("{}")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code := exitCode(cmd)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d (want %d), stderr:\n%s\nwant it to contain %q", c.args, code, c.code, stderr.String(), c.want)
		}
	}
}
