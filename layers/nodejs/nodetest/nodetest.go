// Package nodetest prepares what the Node.js layer's end-to-end tests and
// benchmarks run in the sandbox: the real Node.js runtime interface client
// (aws-lambda-ric, installed by layers/nodejs/test/setup-runtime.sh) and the
// layer built from source (layers/nodejs/build.sh).
package nodetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SkipEnv is the variable that, set to 1, skips the Node.js layer's tests
// on a machine that cannot run them. Without it, a missing runtime is a
// test failure that says what is missing.
const SkipEnv = "LAMBDAOTEL_SKIP_NODE"

// Skipped reports whether SkipEnv asks to skip the Node.js tests.
func Skipped() bool { return os.Getenv(SkipEnv) == "1" }

// Dir returns the directory of the layer's sources, layers/nodejs: found
// from this file's path, else (a binary built with -trimpath) from the
// working directory, which is layers/nodejs in its tests and the
// repository's root for the benchmark.
func Dir() string {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Dir(filepath.Dir(file)))
	}
	candidates = append(candidates, ".", filepath.Join("layers", "nodejs"))
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "otel-handler")); err == nil {
			if abs, err := filepath.Abs(dir); err == nil {
				return abs
			}
			return dir
		}
	}
	return filepath.Join("layers", "nodejs")
}

// Majors are the Node.js majors the layer supports and the tests run:
// nodejs22.x and nodejs24.x.
var Majors = []int{22, 24}

// Runtime is one Node.js runtime the tests run: the node executable and
// the runtime interface client of that runtime line (aws-lambda-ric 3 for
// nodejs22.x, 4 for nodejs24.x).
type Runtime struct {
	Major   int    // 22 or 24
	Node    string // absolute path of node
	Version string // its version, such as "22.23.5"
	RIC     string // the runtime interface client's entry point
	// FunctionDeps is a node_modules directory with the packages the test
	// functions use (the AWS SDK's DynamoDB client, esbuild).
	FunctionDeps string
}

// Name is the Lambda runtime's name, such as "nodejs22.x".
func (r Runtime) Name() string { return fmt.Sprintf("nodejs%d.x", r.Major) }

// Command returns the runtime command for handler: what Lambda's nodejs
// bootstrap runs, with the npm runtime interface client in place of
// /var/runtime/index.mjs. aws-lambda-ric 3 takes the handler as its
// argument, 4 from _HANDLER. Like Lambda's runtimes, it turns off
// require() of ES modules.
func (r Runtime) Command(handler string) []string {
	cmd := []string{r.Node, "--no-experimental-require-module", r.RIC}
	if r.Major < 24 {
		cmd = append(cmd, handler)
	}
	return cmd
}

var (
	rtMu  sync.Mutex
	rts   = map[int]Runtime{}
	rtErr = map[int]error{}
)

// SetupTimeout bounds the runtime's installation (a download of Node.js,
// apt-get, then a build of curl, aws-lambda-cpp and the addon: about two
// minutes on two cores).
const SetupTimeout = 10 * time.Minute

// LoadRuntime installs Node.js major and its runtime interface client
// with test/setup-runtime.sh, once per process (the script does nothing
// when its cache is up to date). The error says what is missing.
func LoadRuntime(major int) (Runtime, error) {
	rtMu.Lock()
	defer rtMu.Unlock()
	if r, ok := rts[major]; ok {
		return r, nil
	}
	if err, ok := rtErr[major]; ok {
		return Runtime{}, err
	}
	r, err := loadRuntime(major)
	if err != nil {
		rtErr[major] = err
	} else {
		rts[major] = r
	}
	return r, err
}

func loadRuntime(major int) (Runtime, error) {
	hint := fmt.Sprintf("(set %s=1 to skip the Node.js layer's tests on a machine that cannot run them)", SkipEnv)
	if _, err := exec.LookPath("npm"); err != nil {
		return Runtime{}, fmt.Errorf("npm is not installed: the Node.js layer's tests download Node.js %d with it %s", major, hint)
	}
	script := filepath.Join(Dir(), "test", "setup-runtime.sh")
	ctx, cancel := context.WithTimeout(context.Background(), SetupTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, strconv.Itoa(major))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", SetupTimeout)
		}
		return Runtime{}, fmt.Errorf("Node.js %d and its runtime interface client (aws-lambda-ric) could not be installed: %s %d: %v\n%s\n%s", major, script, major, err, lastLines(stderr.String(), 25), hint)
	}
	said := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			said[k] = v
		}
	}
	node := said["node"]
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil || node == "" {
		return Runtime{}, fmt.Errorf("%s %d said node is %q, which does not run: %v %s", script, major, node, err, hint)
	}
	version := strings.TrimSpace(string(out))
	if !strings.HasPrefix(version, strconv.Itoa(major)+".") {
		return Runtime{}, fmt.Errorf("%s %d gave Node.js %s, not %d %s", script, major, version, major, hint)
	}
	ric := filepath.Join(said["ric"], "bin", "index.mjs")
	if major >= 24 {
		ric = filepath.Join(said["ric"], "index.mjs")
	}
	if _, err := os.Stat(ric); err != nil || said["ric"] == "" {
		return Runtime{}, fmt.Errorf("%s %d said the runtime is in %q, but %s is not there %s", script, major, said["ric"], ric, hint)
	}
	deps := said["function-deps"]
	if fi, err := os.Stat(deps); err != nil || !fi.IsDir() || deps == "" {
		return Runtime{}, fmt.Errorf("%s %d said the test functions' packages are in %q, which is not a directory %s", script, major, deps, hint)
	}
	return Runtime{Major: major, Node: node, Version: version, RIC: ric, FunctionDeps: deps}, nil
}

// BuildLayer builds the layer from source into dir with build.sh (which
// installs the pinned packages with npm ci: it needs the npm registry or
// the npm cache).
func BuildLayer(dir string) error {
	script := filepath.Join(Dir(), "build.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, script, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the Node.js layer: %s %s: %v\n%s", script, dir, err, lastLines(string(out), 25))
	}
	if _, err := os.Stat(filepath.Join(dir, "otel-handler")); err != nil {
		return errors.New("build the Node.js layer: build.sh made no otel-handler")
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
