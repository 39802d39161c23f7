package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

const runUsage = `usage: lambdaotel run --task-root DIR [flags] [-- COMMAND ARGS...]

Runs a function and its layers in a local Lambda execution environment:
Runtime, Extensions and Telemetry APIs, freeze between invocations,
timeouts and shutdown deadlines. The runtime is DIR/bootstrap unless a
command follows "--".

With --event it runs invocations and prints each result on stdout; with
--listen it serves the invoke endpoint of AWS's runtime interface emulator
(POST /2015-03-31/functions/function/invocations) until interrupted.
Function, extension and START/END/REPORT lines go to stderr.

The environment has a network of its own where this machine allows it
(root, or any user where unprivileged user namespaces are allowed and
nsenter is installed): its processes have their own loopback, where an
extension's 4317/4318 collide with nothing on the host or in another
environment, sandbox.localdomain resolves as in Lambda, and the Lambda APIs
are at 127.0.0.1:9001. A backend on the host's loopback (a sink, a
collector) is reached inside at the same address once its port is given
with --forward. --listen serves on the host. Where neither is possible (or
with --network host) the environment shares the host's network; a WARN
line says so unless --network host asked for it.

With --max-concurrency N (N > 1) the environment is one of Lambda Managed
Instances: up to N invocations at once (--event runs N at a time, --listen
serves N requests at once), no freeze, extensions for SHUTDOWN only.

flags:
`

// reservedEnv are the variables Lambda sets itself (a function cannot set
// them), with what to do instead.
var reservedEnv = map[string]string{
	"AWS_LAMBDA_RUNTIME_API":          "the environment's own Runtime API address is always used",
	"AWS_LAMBDA_FUNCTION_NAME":        "use --function-name",
	"AWS_LAMBDA_FUNCTION_VERSION":     "use --function-version",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "use --memory",
	"AWS_REGION":                      "use --region",
	"AWS_DEFAULT_REGION":              "use --region",
	"AWS_EXECUTION_ENV":               "use --runtime",
	"AWS_LAMBDA_INITIALIZATION_TYPE":  "use --max-concurrency for Lambda Managed Instances",
	"AWS_LAMBDA_LOG_GROUP_NAME":       "it follows --function-name",
	"AWS_LAMBDA_LOG_STREAM_NAME":      "it is made per environment",
	"LAMBDA_TASK_ROOT":                "use --task-root",
	"LAMBDA_RUNTIME_DIR":              "it is /var/runtime",
	"_HANDLER":                        "use --handler",
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runMain(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	var (
		cfg      sandbox.Config
		layers   listFlag
		envs     listFlag
		events   listFlag
		forwards listFlag
		repeat   = fs.Int("repeat", 1, "run the events `N` times")
		interval = fs.Duration("interval", 0, "wait `D` between invocations")
		listen   = fs.String("listen", "", "serve the invoke endpoint on `ADDR` (host:port, loopback unless --allow-remote)")
		remote   = fs.Bool("allow-remote", false, "allow a --listen address that is not loopback")
		idle     = fs.Duration("idle", 0, "with --listen, shut down after `D` without invocations (0: never)")
		report   = fs.String("report", "", "append one JSON line per init, invocation and shutdown to `FILE`")
	)
	fs.Var(&events, "event", "invoke with the event in `FILE` (- for stdin; repeatable: invoked in order)")
	fs.StringVar(&cfg.TaskRoot, "task-root", "", "the function's code `DIR` (LAMBDA_TASK_ROOT)")
	fs.Var(&layers, "layer", "a layer `DIR`, merged like /opt (repeatable, in order)")
	fs.StringVar(&cfg.Handler, "handler", "", "the handler setting (_HANDLER)")
	fs.StringVar(&cfg.FunctionName, "function-name", "function", "the function's `NAME`")
	fs.StringVar(&cfg.FunctionVersion, "function-version", "$LATEST", "the function's `VERSION`")
	fs.StringVar(&cfg.Runtime, "runtime", "provided.al2023", "the runtime `ID`; a managed runtime such as nodejs20.x sets AWS_EXECUTION_ENV")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "the AWS `REGION`")
	fs.StringVar(&cfg.Architecture, "arch", "x86_64", "the architecture: x86_64 or arm64")
	fs.DurationVar(&cfg.Timeout, "timeout", 3*time.Second, "the function timeout")
	fs.IntVar(&cfg.MemoryMB, "memory", 128, "the memory size in `MB`")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", 1, "run up to `N` invocations at once; N > 1 emulates Lambda Managed Instances")
	fs.Var(&envs, "env", "a function environment variable `KEY=VALUE` (repeatable)")
	fs.DurationVar(&cfg.FreezeMin, "freeze-min", 0, "make every freeze between invocations last at least `D`")
	fs.BoolVar(&cfg.NoFreeze, "no-freeze", false, "do not freeze the environment between invocations")
	fs.BoolVar(&cfg.NoTelemetryAPI, "no-telemetry-api", false, "answer Telemetry API subscriptions as AWS's emulator does (202 Telemetry.NotSupported)")
	fs.StringVar(&cfg.Network, "network", "", `"host" to share the host's network, "own" to fail without a network of its own (default: own where possible)`)
	fs.Var(&forwards, "forward", "make the host's 127.0.0.1:`PORT` reachable inside the environment at 127.0.0.1:PORT (repeatable)")
	fs.StringVar(&cfg.FreezeMethod, "freeze-method", "", `"sigstop" to freeze with signals even where a cgroup freezer is available`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.Layers = layers
	for _, f := range forwards {
		p, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lambdaotel run: --forward %q: want a port number\n", f)
			return 2
		}
		cfg.Forward = append(cfg.Forward, p)
	}
	cfg.Command = fs.Args()
	cfg.Env = map[string]string{}
	for _, kv := range envs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(os.Stderr, "lambdaotel run: --env %q: want KEY=VALUE\n", kv)
			return 2
		}
		if why, reserved := reservedEnv[k]; reserved {
			fmt.Fprintf(os.Stderr, "lambdaotel run: --env %s: Lambda reserves this variable and sets it itself; %s\n", k, why)
			return 2
		}
		cfg.Env[k] = v
	}
	if cfg.Timeout <= 0 || cfg.Timeout > 900*time.Second {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --timeout %v: want more than 0 and at most 15m (Lambda's limit)\n", cfg.Timeout)
		return 2
	}
	if cfg.MemoryMB < 128 || cfg.MemoryMB > 10240 {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --memory %d: want 128 to 10240 MB (Lambda's range)\n", cfg.MemoryMB)
		return 2
	}
	if cfg.TaskRoot == "" {
		fmt.Fprintln(os.Stderr, "lambdaotel run: --task-root is required")
		fs.Usage()
		return 2
	}
	if (len(events) == 0) == (*listen == "") {
		fmt.Fprintln(os.Stderr, "lambdaotel run: give either --event FILE or --listen ADDR")
		return 2
	}
	if *repeat < 1 {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --repeat %d: want 1 or more\n", *repeat)
		return 2
	}
	if cfg.MaxConcurrency < 1 {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --max-concurrency %d: want 1 or more\n", cfg.MaxConcurrency)
		return 2
	}

	cfg.Logs = os.Stderr
	if *report != "" {
		f, err := os.OpenFile(*report, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lambdaotel run: --report: %v\n", err)
			return 1
		}
		defer f.Close()
		var mu sync.Mutex
		enc := json.NewEncoder(f)
		cfg.OnReport = func(r sandbox.Report) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(r)
		}
	}

	var payloads [][]byte
	for _, ev := range events {
		var (
			payload []byte
			err     error
		)
		if ev == "-" {
			payload, err = io.ReadAll(os.Stdin)
		} else {
			payload, err = os.ReadFile(ev)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "lambdaotel run: --event: %v\n", err)
			return 1
		}
		payloads = append(payloads, payload)
	}

	env, err := sandbox.Start(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel run: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var code int
	if *listen != "" {
		code = serveInvokes(ctx, env, *listen, *remote, *idle)
	} else {
		code = runEvents(ctx, env, payloads, *repeat, *interval, cfg.MaxConcurrency)
	}
	env.Shutdown()
	return code
}

// runEvents invokes env with each payload in turn, repeat times, at most
// concurrency at a time, and prints each result in the order invoked. Each
// invocation waits for a free slot, then interval (with one slot: interval
// after the previous one ended). It fails when the environment could not
// start.
func runEvents(ctx context.Context, env *sandbox.Env, payloads [][]byte, repeat int, interval time.Duration, concurrency int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		res *sandbox.Result
		err error
	}
	n := repeat * len(payloads)
	outcomes := make([]chan outcome, n)
	for i := range outcomes {
		outcomes[i] = make(chan outcome, 1)
	}
	go func() {
		slots := make(chan struct{}, concurrency)
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
			if i > 0 && interval > 0 {
				select {
				case <-time.After(interval):
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				outcomes[i] <- outcome{err: ctx.Err()}
				continue
			}
			go func() {
				res, err := env.Invoke(ctx, sandbox.Request{Payload: payloads[i%len(payloads)]})
				<-slots
				outcomes[i] <- outcome{res, err}
			}()
		}
	}()
	code := 0
	for i := range n {
		o := <-outcomes[i]
		if errors.Is(o.err, context.Canceled) && ctx.Err() != nil {
			break // interrupted
		}
		if o.err != nil {
			fmt.Fprintf(os.Stderr, "lambdaotel run: %v\n", o.err)
			return 1
		}
		fmt.Printf("%s\n", o.res.Payload)
		code = 0
		if o.res.Init != nil && o.res.Init.Status != sandbox.StatusSuccess {
			fmt.Fprintf(os.Stderr, "lambdaotel run: the environment could not start: %s: %s\n", o.res.Init.ErrorType, o.res.Init.ErrorMessage)
			code = 1
		}
	}
	return code
}

// serveInvokes serves the invoke endpoint until ctx ends or the
// environment has been idle for idle.
func serveInvokes(ctx context.Context, env *sandbox.Env, addr string, remote bool, idle time.Duration) int {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --listen %q: %v\n", addr, err)
		return 2
	}
	if ip := net.ParseIP(host); !remote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --listen %q is not a loopback address; add --allow-remote to serve other hosts\n", addr)
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel run: --listen: %v\n", err)
		return 1
	}
	activity := make(chan struct{}, 1)
	handler := env.InvokeHandler()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case activity <- struct{}{}:
		default:
		}
		handler.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(os.Stderr, "lambdaotel run: invoke with: curl -d '{}' http://%s%s\n", ln.Addr(), sandbox.InvokePath)
	var idleC <-chan time.Time
	var timer *time.Timer
	if idle > 0 {
		timer = time.NewTimer(idle)
		idleC = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "lambdaotel run: interrupted, shutting down")
			_ = srv.Close()
			return 0
		case <-activity:
			if timer != nil {
				timer.Reset(idle)
			}
		case <-idleC:
			fmt.Fprintf(os.Stderr, "lambdaotel run: idle for %s, shutting down\n", idle)
			_ = srv.Close()
			return 0
		}
	}
}
