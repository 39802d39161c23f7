package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lambda's fixed limits, as documented by AWS.
const (
	// MaxExtensions is the number of external extensions a function may have.
	MaxExtensions = 10
	// MaxPayloadBytes is the largest invocation request or response payload (6 MB).
	MaxPayloadBytes = 6 * 1024 * 1024
	// DefaultInitTimeout is the limit of the init phase.
	DefaultInitTimeout = 10 * time.Second
	// DefaultShutdownTimeout is the shutdown budget with external extensions.
	DefaultShutdownTimeout = 2000 * time.Millisecond
	// runtimeTermGrace is how long the runtime has after SIGTERM before
	// SIGKILL when the function has external extensions.
	runtimeTermGrace = 300 * time.Millisecond
	// managedMinInitTimeout is the least init limit on Lambda Managed
	// Instances: the larger of 130 s and the function timeout.
	managedMinInitTimeout = 130 * time.Second
)

// Initialization types, as AWS_LAMBDA_INITIALIZATION_TYPE and the
// Telemetry API's init events give them.
const (
	InitOnDemand         = "on-demand"
	InitManagedInstances = "lambda-managed-instances"
)

// Config describes one function and the environment it runs in. The zero
// value of every field except TaskRoot has a Lambda-like default.
type Config struct {
	// TaskRoot is the function's code directory (LAMBDA_TASK_ROOT).
	TaskRoot string
	// Command is the runtime command. Empty means <TaskRoot>/bootstrap.
	Command []string
	// Layers are layer directories, merged in order like Lambda's /opt
	// (a later layer's file replaces an earlier one's).
	Layers []string
	// Handler is the function's handler setting (_HANDLER).
	Handler string
	// Runtime is the runtime identifier, for example provided.al2023 or
	// nodejs20.x. It sets AWS_EXECUTION_ENV for managed runtimes.
	Runtime string
	// FunctionName, FunctionVersion, Region, AccountID and Architecture
	// describe the function (defaults: "function", "$LATEST", "us-east-1",
	// "123456789012", "x86_64").
	FunctionName    string
	FunctionVersion string
	Region          string
	AccountID       string
	Architecture    string
	// MemoryMB is the configured memory size (default 128).
	MemoryMB int
	// Timeout is the function timeout (default 3s).
	Timeout time.Duration
	// Env holds the function's environment variables. Lambda's reserved
	// variables are set by the sandbox and override these.
	Env map[string]string
	// MaxConcurrency is the most invocations the environment runs at once.
	// 0 or 1 is Lambda's default: one invocation at a time, and a freeze
	// between invocations. N > 1 is Lambda Managed Instances: the runtime is
	// told AWS_LAMBDA_MAX_CONCURRENCY=N and gets up to N invocations at once,
	// the environment is never frozen, a timed-out invocation fails alone,
	// extensions may register for SHUTDOWN only and Telemetry API
	// subscriptions must use schema 2025-01-29.
	MaxConcurrency int

	// InitTimeout limits the init phase (default 10s; on Managed Instances
	// the larger of 130s and Timeout).
	InitTimeout time.Duration
	// ShutdownTimeout is the SHUTDOWN budget for extensions (default 2000ms).
	ShutdownTimeout time.Duration
	// NoFreeze turns off freezing between invocations (always off on
	// Managed Instances).
	NoFreeze bool
	// FreezeMethod chooses how to freeze: "" picks a cgroup freezer where
	// the machine allows one and SIGSTOP otherwise; FreezeSignal forces
	// SIGSTOP.
	FreezeMethod string
	// FreezeMin makes every freeze last at least this long.
	FreezeMin time.Duration
	// NoTelemetryAPI makes the Telemetry API answer subscriptions the way
	// AWS's runtime interface emulator does (202, Telemetry.NotSupported),
	// to test extensions where the API is unavailable.
	NoTelemetryAPI bool
	// TelemetryQueueBytes bounds the log and platform events waiting for one
	// Telemetry API subscriber; function and extension lines beyond it are
	// dropped and reported with platform.logsDropped (default 4 MiB).
	TelemetryQueueBytes int

	// Network is NetworkAuto (a network of the environment's own where the
	// machine allows it), NetworkOwn or NetworkHost; see Start.
	Network string
	// Forward lists ports of the host's loopback that the environment's
	// processes reach, in a network of its own, at 127.0.0.1 (and
	// localhost) under the same number: the backends on this machine (an
	// OTLP sink, a local collector). Port 9001 is the Lambda APIs'.
	Forward []int

	// Logs receives what CloudWatch Logs would: the function's and the
	// extensions' output lines and the START, END and REPORT lines
	// (default: discarded).
	Logs io.Writer
	// OnReport, if set, is called with every init, invoke and shutdown
	// report as it is made.
	OnReport func(Report)
}

// withDefaults returns c with defaults filled in and paths made absolute.
func (c Config) withDefaults() (Config, error) {
	if c.TaskRoot == "" {
		return c, errors.New("sandbox: task root is not set")
	}
	abs, err := filepath.Abs(c.TaskRoot)
	if err != nil {
		return c, fmt.Errorf("sandbox: task root %q: %w", c.TaskRoot, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return c, fmt.Errorf("sandbox: task root %q is not a directory", c.TaskRoot)
	}
	c.TaskRoot = abs
	if len(c.Command) == 0 {
		boot := filepath.Join(c.TaskRoot, "bootstrap")
		if err := checkExecutable(boot); err != nil {
			return c, fmt.Errorf("sandbox: no runtime command given and %w", err)
		}
		c.Command = []string{boot}
	}
	for i, l := range c.Layers {
		abs, err := filepath.Abs(l)
		if err != nil {
			return c, fmt.Errorf("sandbox: layer %q: %w", l, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return c, fmt.Errorf("sandbox: layer %q is not a directory", l)
		}
		c.Layers[i] = abs
	}
	setDefault(&c.FunctionName, "function")
	setDefault(&c.FunctionVersion, "$LATEST")
	setDefault(&c.Region, "us-east-1")
	setDefault(&c.AccountID, "123456789012")
	setDefault(&c.Architecture, "x86_64")
	setDefault(&c.Runtime, "provided.al2023")
	if c.Architecture != "x86_64" && c.Architecture != "arm64" {
		return c, fmt.Errorf("sandbox: architecture %q: want x86_64 or arm64", c.Architecture)
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = 128
	}
	if c.MemoryMB < 128 || c.MemoryMB > 10240 {
		return c, fmt.Errorf("sandbox: memory size %d MB: Lambda allows 128 to 10240", c.MemoryMB)
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	if c.Timeout < time.Second || c.Timeout > 900*time.Second {
		return c, fmt.Errorf("sandbox: timeout %s: Lambda allows 1s to 900s", c.Timeout)
	}
	if c.MaxConcurrency < 0 {
		return c, fmt.Errorf("sandbox: max concurrency %d: want 1 or more (0 means 1)", c.MaxConcurrency)
	}
	c.MaxConcurrency = max(c.MaxConcurrency, 1)
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
		if c.managed() {
			c.InitTimeout = max(managedMinInitTimeout, c.Timeout)
		}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.FreezeMethod != "" && c.FreezeMethod != FreezeSignal {
		return c, fmt.Errorf("sandbox: freeze method %q: want %q or empty for the best available", c.FreezeMethod, FreezeSignal)
	}
	if c.managed() {
		if c.FreezeMin > 0 || c.FreezeMethod != "" {
			return c, fmt.Errorf("sandbox: a freeze setting with max concurrency %d: Lambda Managed Instances never freeze", c.MaxConcurrency)
		}
		c.NoFreeze = true
	}
	switch c.Network {
	case NetworkAuto, NetworkOwn, NetworkHost:
	default:
		return c, fmt.Errorf("sandbox: network %q: want %q, %q or empty for a network of its own where possible", c.Network, NetworkOwn, NetworkHost)
	}
	seen := map[int]bool{}
	for _, p := range c.Forward {
		if p < 1 || p > 65535 || p == 9001 || seen[p] {
			return c, fmt.Errorf("sandbox: forward port %d: want a port from 1 to 65535 given once, not 9001 (the Lambda APIs inside)", p)
		}
		seen[p] = true
	}
	if c.TelemetryQueueBytes == 0 {
		c.TelemetryQueueBytes = 4 << 20
	}
	if c.Logs == nil {
		c.Logs = io.Discard
	}
	return c, nil
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s does not exist", path)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// managed reports whether the environment is one of Lambda Managed
// Instances (MaxConcurrency > 1).
func (c *Config) managed() bool { return c.MaxConcurrency > 1 }

// initializationType is AWS_LAMBDA_INITIALIZATION_TYPE.
func (c *Config) initializationType() string {
	if c.managed() {
		return InitManagedInstances
	}
	return InitOnDemand
}

// functionARN is the function's unqualified ARN.
func (c *Config) functionARN() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", c.Region, c.AccountID, c.FunctionName)
}

// processEnv is the environment of the runtime (forRuntime) or of an
// extension: the function's variables overridden by Lambda's reserved ones.
// Extensions do not get the runtime-only variables, as in Lambda.
func (c *Config) processEnv(forRuntime bool, runtimeAPI, optDir, logStream string) []string {
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = v
	}
	reserved := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     c.FunctionVersion,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  c.initializationType(),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      logStream,
		"LAMBDA_TASK_ROOT":                c.TaskRoot,
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"_HANDLER":                        c.Handler,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
	}
	if !strings.HasPrefix(c.Runtime, "provided") {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + c.Runtime
	}
	if c.managed() {
		// How many invocations the runtime gets at once (runtime only).
		reserved["AWS_LAMBDA_MAX_CONCURRENCY"] = strconv.Itoa(c.MaxConcurrency)
	}
	if !forRuntime {
		for _, k := range []string{"_HANDLER", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_MAX_CONCURRENCY"} {
			delete(reserved, k)
		}
		for k := range env {
			if strings.HasPrefix(k, "_") {
				delete(env, k)
			}
		}
	}
	// PATH and LD_LIBRARY_PATH are Lambda's, with the layer directory in
	// place of /opt and the task root in place of /var/task; the host's PATH
	// follows so that interpreters installed on this machine are found.
	path := []string{"/usr/local/bin", "/usr/bin", "/bin"}
	libs := []string{"/var/lang/lib", "/lib64", "/usr/lib64", "/var/runtime", "/var/runtime/lib", c.TaskRoot, filepath.Join(c.TaskRoot, "lib")}
	if optDir != "" {
		path = append(path, filepath.Join(optDir, "bin"))
		libs = append(libs, filepath.Join(optDir, "lib"))
	}
	if host := os.Getenv("PATH"); host != "" {
		path = append(path, host)
	}
	reserved["PATH"] = strings.Join(path, ":")
	reserved["LD_LIBRARY_PATH"] = strings.Join(libs, ":")
	for k, v := range reserved {
		env[k] = v
	}
	// The wrapper script Lambda runs is given as an /opt path; map it onto
	// the merged layer directory.
	if w := env["AWS_LAMBDA_EXEC_WRAPPER"]; optDir != "" && strings.HasPrefix(w, "/opt/") {
		env["AWS_LAMBDA_EXEC_WRAPPER"] = filepath.Join(optDir, strings.TrimPrefix(w, "/opt/"))
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// newID returns n random bytes in hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random version 4 UUID, the form of Lambda's request ids.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
