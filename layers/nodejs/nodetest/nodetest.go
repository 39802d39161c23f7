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

// Runtime is the Node.js runtime the tests run: the node executable and
// the runtime interface client's entry point.
type Runtime struct {
	Node    string // absolute path of node
	Version string // its version, such as "20.20.2"
	RIC     string // aws-lambda-ric/bin/index.mjs
	// FunctionDeps is a node_modules directory with the packages the test
	// functions use (the AWS SDK's DynamoDB client).
	FunctionDeps string
}

// Command returns the runtime command for handler: what Lambda's nodejs
// bootstrap runs, with the npm runtime interface client in place of
// /var/runtime/index.mjs. Like Lambda's Node.js 20 runtime, it turns off
// require() of ES modules.
func (r Runtime) Command(handler string) []string {
	return []string{r.Node, "--no-experimental-require-module", r.RIC, handler}
}

var (
	rtOnce sync.Once
	rt     Runtime
	rtErr  error
)

// SetupTimeout bounds the runtime's installation (apt-get, then a build
// of curl, aws-lambda-cpp and the addon: about a minute on two cores).
const SetupTimeout = 10 * time.Minute

// LoadRuntime finds node and installs the runtime interface client with
// test/setup-runtime.sh, once per process (the script does nothing when
// its cache is up to date). The error says what is missing.
func LoadRuntime() (Runtime, error) {
	rtOnce.Do(func() { rt, rtErr = loadRuntime() })
	return rt, rtErr
}

func loadRuntime() (Runtime, error) {
	hint := fmt.Sprintf("(set %s=1 to skip the Node.js layer's tests on a machine that cannot run them)", SkipEnv)
	node, err := exec.LookPath("node")
	if err != nil {
		return Runtime{}, fmt.Errorf("node is not installed: the Node.js layer's tests need Node.js 20 or later on PATH %s", hint)
	}
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		return Runtime{}, fmt.Errorf("%s -p process.versions.node: %v %s", node, err, hint)
	}
	version := strings.TrimSpace(string(out))
	if major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); major < 20 {
		return Runtime{}, fmt.Errorf("node %s is too old: the layer and aws-lambda-ric 3 need Node.js 20 or later %s", version, hint)
	}
	script := filepath.Join(Dir(), "test", "setup-runtime.sh")
	ctx, cancel := context.WithTimeout(context.Background(), SetupTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", SetupTimeout)
		}
		return Runtime{}, fmt.Errorf("the Node.js runtime interface client (aws-lambda-ric) could not be installed: %s: %v\n%s\n%s", script, err, lastLines(stderr.String(), 25), hint)
	}
	said := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			said[k] = v
		}
	}
	ric := filepath.Join(said["ric"], "bin", "index.mjs")
	if _, err := os.Stat(ric); err != nil || said["ric"] == "" {
		return Runtime{}, fmt.Errorf("%s said the runtime is in %q, but %s is not there %s", script, said["ric"], ric, hint)
	}
	deps := said["function-deps"]
	if fi, err := os.Stat(deps); err != nil || !fi.IsDir() || deps == "" {
		return Runtime{}, fmt.Errorf("%s said the test functions' packages are in %q, which is not a directory %s", script, deps, hint)
	}
	return Runtime{Node: node, Version: version, RIC: ric, FunctionDeps: deps}, nil
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
