// Package sandbox is a local AWS Lambda execution environment. It runs a
// function's runtime and its layers' external extensions as real processes
// and serves them the Runtime API (2018-06-01), the Extensions API
// (2020-01-01) and the Telemetry API (2022-07-01) on a loopback port,
// through Lambda's lifecycle: init, invoke, freeze between invocations,
// timeouts, crashes and shutdown with its deadlines. With
// Config.MaxConcurrency above 1 it is an environment of Lambda Managed
// Instances instead: several invocations at once and no freeze.
//
// A test starts an environment, invokes it and reads what happened:
//
//	env, err := sandbox.Start(sandbox.Config{TaskRoot: dir})
//	res, err := env.Invoke(ctx, sandbox.Request{Payload: []byte(`{}`)})
//	fmt.Println(res.Report.Status, res.Report.PostRuntimeMs)
//	env.Shutdown()
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrClosed is returned by Invoke after Shutdown.
var ErrClosed = errors.New("sandbox: environment is shut down")

// Env is one execution environment. Its methods are safe for concurrent
// use; invocations run at most Config.MaxConcurrency at a time (one by
// default), and wait their turn in the order they arrive.
type Env struct {
	cfg       Config
	ln        net.Listener // the Lambda APIs on the host's loopback
	inLn      net.Listener // the Lambda APIs inside the environment's own network
	net       *netns       // the environment's own network; nil in the host's
	srv       *http.Server
	optDir    string
	optTemp   bool   // optDir was made by the sandbox and is removed at the end
	tmpDir    string // the environment's /tmp (TMPDIR of its processes)
	logStream string
	freezer   freezer
	tel       *telemetry

	slots *admission // one per invocation in flight; Shutdown takes them all
	genMu sync.Mutex // held while a generation starts, is reset or ends

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever state changes
	gen      *generation   // the running runtime and extensions; nil before init
	frozen   bool
	frozenAt time.Time
	closed   bool
	reports  []Report
}

// generation is one life of the runtime and the extensions, from init to
// shutdown or reset.
type generation struct {
	started      time.Time
	regOpen      bool // external extensions may still register
	initializing bool // init has not finished; telemetry subscriptions are accepted
	runtime      *proc
	// runtimeStarting is set while the runtime's process is being started
	// (outside e.mu: the Lambda APIs keep answering the extensions);
	// runtime is set when it ends.
	runtimeStarting bool
	runtimeReady    bool // the runtime has asked for its first invocation
	runtimeWaiting  int  // requests of the runtime blocked in invocation/next
	initErr         *FunctionError
	extensions      []*extension
	procs           []*proc
	// invocations holds the invocations in flight by request id, and those
	// that timed out while the runtime still works on them.
	invocations map[string]*invocation
	pending     []*invocation // waiting for the runtime to ask for them, oldest first
}

// pgids returns the process groups of gen's running processes. It is
// called with Env.mu held.
func (g *generation) pgids() map[int]bool {
	pg := map[int]bool{}
	for _, p := range g.procs {
		if p.running() {
			pg[p.pid()] = true
		}
	}
	return pg
}

// extension is one registered (or started, not yet registered) extension.
type extension struct {
	name       string
	id         string
	external   bool  // an executable of the layers, not part of the runtime
	proc       *proc // nil for an internal extension, and until started
	registered bool
	events     map[string]bool
	accountID  bool
	readyAt    time.Time // first event/next
	lastNext   time.Time // latest event/next
	waiting    bool      // blocked in event/next
	queue      [][]byte  // events to hand out at the next event/next
	errorType  string    // from init/error or exit/error
}

// idle reports whether the extension has asked for its next event and has
// nothing left to receive.
func (x *extension) idle() bool { return x.waiting && len(x.queue) == 0 }

// invocation is one invoke in progress.
type invocation struct {
	Request
	id        string
	start     time.Time
	deadline  time.Time
	received  time.Time // the runtime got the event
	responded time.Time // the runtime answered
	timedOut  bool      // it ended as Sandbox.Timedout: a late answer is refused
	// runtimeDoneDelivered is when platform.runtimeDone first reached a subscriber.
	runtimeDoneDelivered time.Time
	result               *Result // set when the runtime answered
}

// FunctionError is an error result of an invocation or of an init.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Request is one invocation's input.
type Request struct {
	// Payload is the event (at most 6 MB).
	Payload []byte
	// TraceHeader is the X-Ray trace header (X-Amzn-Trace-Id); a sampled-out
	// header with a new trace id is made up when it is empty.
	TraceHeader string
	// ClientContext and CognitoIdentity are passed to the runtime as given.
	ClientContext   string
	CognitoIdentity string
}

// Result is what an invocation returned.
type Result struct {
	RequestID string
	// Payload is the function's response, or the error document.
	Payload []byte
	// Error is set when the invocation failed; Payload then holds it as JSON.
	Error *FunctionError
	// Report describes the invocation as Lambda's REPORT line does.
	Report *InvokeReport
	// Init is the report of the init this invocation caused, if any.
	Init *InitReport
}

// Start validates cfg, merges the layers and serves the Lambda APIs. The
// runtime and extensions start at the first Invoke.
//
// Unless cfg.Network says otherwise, the environment gets a network of its
// own, as in Lambda: its processes run in their own network and mount
// namespaces, where the loopback is theirs alone (an extension's port
// 4318 collides with nothing on the host or in another environment),
// sandbox, sandbox.localdomain and localhost name that loopback (through
// a hosts file mounted over /etc/hosts), the Lambda APIs listen on
// 127.0.0.1:9001, and the host's loopback ports listed in cfg.Forward are
// relayed in under the same numbers. As root (CAP_SYS_ADMIN) the
// namespaces are made on a thread of this process; as another user they
// are held by this program started again in a user namespace of its own
// (see HolderEnv), where the machine allows unprivileged user namespaces.
// Where neither works the environment runs in the host's network, and one
// WARN line in the logs says what differs.
func Start(cfg Config) (*Env, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Env{cfg: cfg, changed: make(chan struct{}), slots: newAdmission(cfg.MaxConcurrency)}
	if cfg.Network != NetworkHost {
		n, err := newNetns()
		switch {
		case err == nil:
			e.net = n
		case cfg.Network == NetworkOwn:
			return nil, fmt.Errorf("sandbox: the environment cannot have a network of its own: %w", err)
		default:
			e.logf("sandbox: WARN the environment shares the host's network (%v): its ports collide with the host's and other environments' (an extension's 4317/4318 too), and sandbox.localdomain resolves only where the host resolves it; run as root or allow unprivileged user namespaces (with nsenter installed) for a network of its own, or choose the host's network (--network host, Config.Network) to silence this", err)
		}
	}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	if e.net != nil {
		dial = e.net.dial
	}
	e.tel = newTelemetry(cfg.TelemetryQueueBytes, dial, e.logf)
	fail := func(err error) (*Env, error) {
		e.removeOpt()
		if e.net != nil {
			e.net.close()
		}
		return nil, err
	}
	e.optDir, e.optTemp, err = mergeLayers(cfg.Layers)
	if err != nil {
		return fail(err)
	}
	if n := len(e.extensionFiles()); n > MaxExtensions {
		return fail(fmt.Errorf("sandbox: the layers hold %d extensions; Lambda allows %d", n, MaxExtensions))
	}
	// The environment's own /tmp: it survives resets, as in Lambda, and
	// goes with the environment.
	if e.tmpDir, err = os.MkdirTemp("", "lambdaotel-tmp-"); err != nil {
		return fail(fmt.Errorf("sandbox: temporary directory: %w", err))
	}
	e.logStream = fmt.Sprintf("%s/[%s]%s", time.Now().UTC().Format("2006/01/02"), cfg.FunctionVersion, newID(16))
	e.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("sandbox: listen for the Lambda APIs: %w", err))
	}
	if e.net != nil {
		if e.inLn, err = e.net.listen(InsideRuntimeAPI); err != nil {
			e.ln.Close()
			return fail(fmt.Errorf("sandbox: listen for the Lambda APIs inside the environment: %w", err))
		}
		for _, port := range cfg.Forward {
			if err := e.net.forward(port); err != nil {
				e.ln.Close()
				e.inLn.Close()
				return fail(fmt.Errorf("sandbox: %w", err))
			}
		}
	}
	e.srv = &http.Server{Handler: e.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	go e.srv.Serve(e.ln)
	if e.inLn != nil {
		go e.srv.Serve(e.inLn)
	}
	e.freezer = newFreezer(cfg.NoFreeze, cfg.FreezeMethod)
	return e, nil
}

// RuntimeAPI is the host:port of the Lambda APIs as the environment's
// processes reach them (their AWS_LAMBDA_RUNTIME_API): 127.0.0.1:9001 in a
// network of its own.
func (e *Env) RuntimeAPI() string {
	if e.inLn != nil {
		return InsideRuntimeAPI
	}
	return e.ln.Addr().String()
}

// HostAPI is the host:port of the Lambda APIs on the host's loopback, for
// a program outside the environment.
func (e *Env) HostAPI() string { return e.ln.Addr().String() }

// OwnNetwork reports whether the environment has a network of its own.
func (e *Env) OwnNetwork() bool { return e.net != nil }

// FreezeMethod says how the environment is frozen between invocations:
// FreezeCgroupV2, FreezeCgroupV1, FreezeSignal or FreezeOff.
func (e *Env) FreezeMethod() string { return e.freezer.method() }

// OptDir is the directory that stands for /opt: the merged layers.
func (e *Env) OptDir() string { return e.optDir }

// Events returns every Telemetry API event the environment has produced.
func (e *Env) Events() []Event { return e.tel.events() }

// Reports returns every report made so far, oldest first.
func (e *Env) Reports() []Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Report(nil), e.reports...)
}

// PIDs lists the processes of the environment that are alive now.
func (e *Env) PIDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pidsLocked()
}

func (e *Env) pidsLocked() []int {
	if e.gen == nil {
		return nil
	}
	return groupPIDs(e.gen.pgids())
}

func (e *Env) pgidsLocked() map[int]bool {
	if e.gen == nil {
		return map[int]bool{}
	}
	return e.gen.pgids()
}

// Frozen reports whether the environment is frozen now.
func (e *Env) Frozen() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frozen
}

// broadcastLocked wakes everything waiting for a change of state.
func (e *Env) broadcastLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// runtimeLocked returns the runtime's process of gen, waiting (e.mu
// released meanwhile) while it is being started: the runtime may call the
// Runtime API before its start has returned here. It is called with e.mu
// held.
func (e *Env) runtimeLocked(gen *generation) *proc {
	for gen.runtimeStarting {
		ch := e.changed
		e.mu.Unlock()
		<-ch
		e.mu.Lock()
	}
	return gen.runtime
}

// waitFor waits until cond (called with e.mu held) is true, or until the
// deadline; it reports whether cond became true.
func (e *Env) waitFor(deadline time.Time, cond func() bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		e.mu.Lock()
		ok, ch := cond(), e.changed
		e.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			e.mu.Lock()
			defer e.mu.Unlock()
			return cond()
		}
	}
}

func (e *Env) report(r Report) {
	e.mu.Lock()
	e.reports = append(e.reports, r)
	e.mu.Unlock()
	if e.cfg.OnReport != nil {
		e.cfg.OnReport(r)
	}
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.cfg.Logs, format+"\n", args...)
}

// Invoke runs one invocation, initialising the environment first if it is
// not running (the first invocation, or the one after a timeout, a crash
// or a failed init). It returns an error only when the environment cannot
// run at all; a failed invocation is a Result with Error set.
//
// Up to Config.MaxConcurrency invocations run at once; the others wait
// their turn, in the order they arrived, until ctx ends.
func (e *Env) Invoke(ctx context.Context, req Request) (*Result, error) {
	if len(req.Payload) > MaxPayloadBytes {
		return nil, fmt.Errorf("sandbox: request payload of %d bytes is over Lambda's limit of %d", len(req.Payload), MaxPayloadBytes)
	}
	if err := e.slots.acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer e.slots.release(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gen, initReport, failed, err := e.ready()
	if err != nil {
		return nil, err
	}
	if gen == nil {
		return failed, nil
	}
	res := e.invoke(gen, req, initReport)
	res.Init = initReport
	return res, nil
}

// ready returns the running generation, thawed. If none runs (the first
// invocation, or the one after a timeout, a crash or a failed init), it
// initialises one and returns the init's report too; after a failed init
// it returns no generation but the invocation's failed result, whose
// report comes before the shutdown's, and resets the environment.
func (e *Env) ready() (*generation, *InitReport, *Result, error) {
	e.genMu.Lock()
	defer e.genMu.Unlock()
	e.mu.Lock()
	closed, gen := e.closed, e.gen
	e.mu.Unlock()
	if closed {
		return nil, nil, nil, ErrClosed
	}
	if gen != nil && !e.alive(gen) {
		// A process exited after the last invocation (aws-lambda-go's
		// runtime exits after reporting a panic): Lambda resets the
		// environment, and this invocation is a cold start.
		e.stop(gen, ShutdownFailure)
		gen = nil
	}
	if gen != nil {
		e.thaw()
		return gen, nil, nil, nil
	}
	gen, rep, err := e.init()
	if err != nil {
		return nil, nil, nil, err
	}
	if rep.Status != StatusSuccess {
		reason := ShutdownFailure
		if rep.Status == StatusTimeout && !e.cfg.managed() {
			reason = ShutdownTimeout // Managed Instances know spindown and failure only
		}
		failed := e.initFailed(rep)
		e.stop(gen, reason)
		return nil, rep, failed, nil
	}
	return gen, rep, nil, nil
}

// Shutdown ends the environment: SHUTDOWN (reason spindown) to the
// extensions, SIGTERM and then SIGKILL to the runtime, SIGKILL to any
// extension still running at the deadline. It returns the shutdown report,
// or nil if nothing was running.
//
// It waits for the invocations in flight; those still waiting for their
// turn then fail with ErrClosed.
func (e *Env) Shutdown() *ShutdownReport {
	_ = e.slots.acquire(context.Background(), e.cfg.MaxConcurrency)
	defer e.slots.release(e.cfg.MaxConcurrency)
	e.genMu.Lock()
	defer e.genMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	gen := e.gen
	e.mu.Unlock()
	var rep *ShutdownReport
	if gen != nil {
		rep = e.stop(gen, ShutdownSpindown)
	}
	e.tel.unsubscribeAll()
	_ = e.srv.Close()
	e.freezer.close()
	if e.net != nil {
		e.net.close()
	}
	e.removeOpt()
	return rep
}

// init starts the extensions and the runtime and waits until all of them
// are ready, or until init fails or times out. It is called with genMu held.
func (e *Env) init() (*generation, *InitReport, error) {
	gen := &generation{started: time.Now(), regOpen: true, initializing: true, invocations: map[string]*invocation{}}
	e.mu.Lock()
	e.gen = gen
	e.mu.Unlock()
	e.tel.newGeneration()
	deadline := gen.started.Add(e.cfg.InitTimeout)
	initType := e.cfg.initializationType()
	rep := &InitReport{Type: "init", Time: gen.started, InitializationType: initType, Status: StatusSuccess}
	fail := func(status string, fe *FunctionError) {
		if rep.Status == StatusSuccess {
			rep.Status, rep.ErrorType, rep.ErrorMessage = status, fe.Type, fe.Message
		}
	}

	// Extension init: start every extension and wait for their registration.
	// Each is known (by name) before it starts, so that it can register at once.
	extEnv := append(e.cfg.processEnv(false, e.RuntimeAPI(), e.optDir, e.logStream), "TMPDIR="+e.tmpDir)
	files := e.extensionFiles()
	exts := make([]*extension, len(files))
	e.mu.Lock()
	for i, path := range files {
		exts[i] = &extension{name: filepath.Base(path), external: true}
	}
	gen.extensions = append(gen.extensions, exts...)
	e.mu.Unlock()
	for i, path := range files {
		p, err := startProc(exts[i].name, []string{path}, extEnv, e.cfg.TaskRoot, e.freezer, e.startCmd, e.lineLogger("extension"), e.procExited)
		if err != nil {
			fail(StatusFailure, &FunctionError{Type: "Extension.LaunchError", Message: err.Error()})
			break
		}
		e.mu.Lock()
		exts[i].proc = p
		gen.procs = append(gen.procs, p)
		e.mu.Unlock()
	}
	if rep.Status == StatusSuccess {
		ok := e.waitFor(deadline, func() bool {
			if gen.initErr != nil || e.crashedExtensionLocked(gen) != nil {
				return true
			}
			for _, x := range gen.extensions {
				if x.external && !x.registered {
					return false
				}
			}
			return true
		})
		if !ok {
			fail(StatusTimeout, &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Init timed out after %.2f seconds: an extension did not register", e.cfg.InitTimeout.Seconds())})
		}
	}

	// Runtime init: registration closes, the runtime starts.
	e.mu.Lock()
	gen.regOpen = false
	e.mu.Unlock()
	initStart := map[string]any{
		"initializationType": initType, "phase": "init",
		"runtimeVersion":    e.cfg.Runtime,
		"functionName":      e.cfg.FunctionName,
		"functionVersion":   e.cfg.FunctionVersion,
		"instanceMaxMemory": e.cfg.MemoryMB * 1024 * 1024,
	}
	if e.cfg.managed() {
		initStart["instanceId"] = e.logStream
	}
	e.tel.emit("platform.initStart", initStart)
	if rep.Status == StatusSuccess {
		argv := e.cfg.Command
		rtEnv := append(e.cfg.processEnv(true, e.RuntimeAPI(), e.optDir, e.logStream), "TMPDIR="+e.tmpDir)
		if w := envValue(rtEnv, "AWS_LAMBDA_EXEC_WRAPPER"); w != "" {
			argv = append([]string{w}, argv...)
		}
		// The process starts without e.mu held: as in Lambda, the
		// extensions' calls (Telemetry API subscription, event/next) are
		// answered while the runtime starts, not after its exec.
		e.mu.Lock()
		gen.runtimeStarting = true
		e.mu.Unlock()
		p, err := startProc("runtime", argv, rtEnv, e.cfg.TaskRoot, e.freezer, e.startCmd, e.lineLogger("function"), e.procExited)
		e.mu.Lock()
		gen.runtimeStarting = false
		if err != nil {
			fail(StatusFailure, &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()})
		} else {
			gen.runtime = p
			gen.procs = append(gen.procs, p)
		}
		e.broadcastLocked()
		e.mu.Unlock()
	}
	var runtimeDone time.Time
	if rep.Status == StatusSuccess {
		e.waitFor(deadline, func() bool {
			if gen.initErr != nil || !gen.runtime.running() || gen.runtimeReady {
				return true
			}
			return e.crashedExtensionLocked(gen) != nil
		})
		runtimeDone = time.Now()
		e.mu.Lock()
		switch {
		case gen.initErr != nil:
			fail(StatusError, gen.initErr)
		case !gen.runtime.running():
			fail(StatusFailure, runtimeExitError("", gen.runtime))
		case gen.runtimeReady:
		case e.crashedExtensionLocked(gen) != nil:
		default:
			fail(StatusTimeout, &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Init timed out after %.2f seconds", e.cfg.InitTimeout.Seconds())})
		}
		e.mu.Unlock()
	}
	rtStatus := rep.Status
	rec := map[string]any{"initializationType": initType, "phase": "init", "status": rtStatus}
	if rep.ErrorType != "" {
		rec["errorType"] = rep.ErrorType
	}
	e.tel.emit("platform.initRuntimeDone", rec)

	// Every extension must then ask for its first event.
	if rep.Status == StatusSuccess {
		ok := e.waitFor(deadline, func() bool {
			if gen.initErr != nil || e.crashedExtensionLocked(gen) != nil {
				return true
			}
			for _, x := range gen.extensions {
				if x.readyAt.IsZero() {
					return false
				}
			}
			return true
		})
		if !ok {
			fail(StatusTimeout, &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Init timed out after %.2f seconds: an extension did not ask for its first event", e.cfg.InitTimeout.Seconds())})
		}
	}
	e.mu.Lock()
	gen.initializing = false
	if gen.initErr != nil {
		fail(StatusError, gen.initErr)
	}
	if x := e.crashedExtensionLocked(gen); x != nil {
		fail(StatusFailure, extensionExitError("", x))
	}
	for _, x := range gen.extensions {
		er := ExtensionReport{Name: x.name, ErrorType: x.errorType, State: "Ready"}
		if x.proc != nil && !x.readyAt.IsZero() {
			er.ReadyMs = ms(x.readyAt.Sub(x.proc.started))
		}
		if x.errorType != "" {
			er.State = "InitError"
		} else if x.readyAt.IsZero() {
			er.State = "Registered"
		}
		rep.Extensions = append(rep.Extensions, er)
	}
	e.mu.Unlock()
	end := time.Now()
	rep.DurationMs = ms(end.Sub(gen.started))
	if !runtimeDone.IsZero() {
		rep.RuntimeInitMs = ms(runtimeDone.Sub(gen.started))
	}
	rec = map[string]any{"initializationType": initType, "phase": "init", "status": rep.Status,
		"metrics": map[string]any{"durationMs": rep.DurationMs}}
	if rep.ErrorType != "" {
		rec["errorType"] = rep.ErrorType
	}
	e.tel.emit("platform.initReport", rec)
	if rep.Status != StatusSuccess {
		e.logf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: %s\tError Type: %s", rep.DurationMs, rep.Status, rep.ErrorType)
	}
	e.report(rep)
	return gen, rep, nil
}

// alive reports whether the runtime and every extension of gen still run.
func (e *Env) alive(gen *generation) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return gen.runtime.running() && e.crashedExtensionLocked(gen) == nil
}

// crashedExtensionLocked returns an extension whose process has exited.
func (e *Env) crashedExtensionLocked(gen *generation) *extension {
	for _, x := range gen.extensions {
		if x.proc != nil && !x.proc.running() {
			return x
		}
	}
	return nil
}

// initFailed makes the result of the invocation that caused a failed
// init, as Lambda does.
func (e *Env) initFailed(ir *InitReport) *Result {
	id := newUUID()
	fe := &FunctionError{Type: ir.ErrorType, Message: fmt.Sprintf("RequestId: %s Error: %s", id, ir.ErrorMessage)}
	rep := &InvokeReport{Type: "invoke", Time: ir.Time, RequestID: id, Status: ir.Status, ErrorType: ir.ErrorType,
		DurationMs: 0, InitDurationMs: ir.DurationMs, MemorySizeMB: e.cfg.MemoryMB}
	rep.BilledDurationMs = billed(ir.DurationMs)
	e.report(rep)
	return &Result{RequestID: id, Payload: errorJSON(fe), Error: fe, Report: rep, Init: ir}
}

// invoke runs one invocation on gen, an initialised generation.
//
// In Lambda (default) the invocation ends when the runtime and every
// extension registered for INVOKE have asked for their next event; then
// the environment freezes. A timeout, a crash of the runtime or of an
// extension resets the environment. On Lambda Managed Instances the
// invocation ends when the runtime answers; nothing freezes; a timeout
// fails the invocation alone, while a crash still fails every invocation
// in flight and resets the environment.
func (e *Env) invoke(gen *generation, req Request, initReport *InitReport) *Result {
	managed := e.cfg.managed()
	inv := &invocation{Request: req, id: newUUID(), start: time.Now()}
	inv.deadline = inv.start.Add(e.cfg.Timeout)
	if inv.TraceHeader == "" {
		inv.TraceHeader = newTraceHeader()
	}
	e.logf("START RequestId: %s Version: %s", inv.id, e.cfg.FunctionVersion)
	start := map[string]any{"requestId": inv.id, "version": e.cfg.FunctionVersion,
		"tracing": map[string]any{"spanId": newID(8), "type": "X-Amzn-Trace-Id", "value": inv.TraceHeader}}
	if managed {
		start["functionArn"] = e.cfg.functionARN()
	}
	e.tel.emit("platform.start", start)

	e.mu.Lock()
	if !managed {
		// On Managed Instances invocations share the processes at the same
		// time: the peak is the environment's, never reset.
		resetPeakMemory(groupPIDs(gen.pgids()))
	}
	gen.invocations[inv.id] = inv
	gen.pending = append(gen.pending, inv)
	invokeEvent := mustJSON(map[string]any{"eventType": "INVOKE", "deadlineMs": inv.deadline.UnixMilli(),
		"requestId": inv.id, "invokedFunctionArn": e.cfg.functionARN(),
		"tracing": map[string]any{"type": "X-Amzn-Trace-Id", "value": inv.TraceHeader}})
	for _, x := range gen.extensions {
		if x.events["INVOKE"] {
			x.queue = append(x.queue, invokeEvent)
		}
	}
	e.broadcastLocked()
	e.mu.Unlock()

	// Wait for the runtime's answer, its exit, an extension's crash, or the deadline.
	e.waitFor(inv.deadline, func() bool {
		return inv.result != nil || !gen.runtime.running() || e.crashedExtensionLocked(gen) != nil
	})
	e.mu.Lock()
	res := inv.result
	status, reset := StatusSuccess, ShutdownReason("")
	switch {
	case res != nil && res.Error != nil:
		status = StatusError
	case res != nil:
	case !gen.runtime.running():
		status, reset = StatusFailure, ShutdownFailure
		fe := runtimeExitError(inv.id, gen.runtime)
		res = &Result{Error: fe, Payload: errorJSON(fe)}
	case e.crashedExtensionLocked(gen) != nil:
		status, reset = StatusFailure, ShutdownFailure
		fe := extensionExitError(inv.id, e.crashedExtensionLocked(gen))
		res = &Result{Error: fe, Payload: errorJSON(fe)}
	default:
		status = StatusTimeout
		if !managed {
			reset = ShutdownTimeout
		}
		inv.timedOut = true
		res = e.timeoutResult(inv)
	}
	gen.pending = slices.DeleteFunc(gen.pending, func(p *invocation) bool { return p == inv })
	e.mu.Unlock()
	res.RequestID = inv.id
	if !managed {
		runtimeEnd := inv.responded
		if runtimeEnd.IsZero() {
			runtimeEnd = time.Now()
		}
		e.emitRuntimeDone(inv, status, res, runtimeEnd)
	}

	// In Lambda (default) the invocation ends when the runtime and every
	// INVOKE extension have asked for their next event.
	if reset == "" && !managed {
		ok := e.waitFor(inv.deadline, func() bool {
			if e.crashedExtensionLocked(gen) != nil {
				return true
			}
			for _, x := range gen.extensions {
				if x.events["INVOKE"] && !x.idle() {
					return false
				}
			}
			return gen.runtimeWaiting > 0 || !gen.runtime.running()
		})
		e.mu.Lock()
		if !gen.runtime.running() {
			// The runtime exited after its answer (aws-lambda-go does after
			// a panic or a refused response): the answer stands, and the
			// environment is reset.
			reset = ShutdownFailure
		}
		if x := e.crashedExtensionLocked(gen); x != nil {
			status, reset = StatusFailure, ShutdownFailure
			fe := extensionExitError(inv.id, x)
			res.Error, res.Payload = fe, errorJSON(fe)
		} else if !ok {
			status, reset = StatusTimeout, ShutdownTimeout
			t := e.timeoutResult(inv)
			res.Error, res.Payload = t.Error, t.Payload
		}
		e.mu.Unlock()
	}
	end := time.Now()

	e.mu.Lock()
	maxMem := peakMemoryBytes(groupPIDs(gen.pgids()))
	if !inv.timedOut || inv.received.IsZero() {
		// A timed-out invocation the runtime still works on stays known,
		// so that its late answer is refused as such.
		delete(gen.invocations, inv.id)
	}
	extensionsDone := inv.responded
	if extensionsDone.IsZero() {
		extensionsDone = inv.start
	}
	for _, x := range gen.extensions {
		if x.events["INVOKE"] && x.lastNext.After(extensionsDone) {
			extensionsDone = x.lastNext
		}
	}
	runtimeDoneDelivered := inv.runtimeDoneDelivered
	e.mu.Unlock()
	rep := &InvokeReport{Type: "invoke", Time: inv.start, RequestID: inv.id, Status: status,
		DurationMs: ms(end.Sub(inv.start)), MemorySizeMB: e.cfg.MemoryMB,
		MaxMemoryUsedMB: int((maxMem + (1<<20 - 1)) >> 20)}
	if res.Error != nil && status != StatusSuccess {
		rep.ErrorType = res.Error.Type
	}
	if initReport != nil {
		rep.InitDurationMs = initReport.DurationMs
	}
	rep.BilledDurationMs = billed(rep.DurationMs + rep.InitDurationMs)
	if !inv.responded.IsZero() {
		rep.RuntimeMs = ms(inv.responded.Sub(inv.start))
		rep.PostRuntimeMs = ms(extensionsDone.Sub(inv.responded))
	}
	if d := runtimeDoneDelivered; !d.IsZero() && !d.After(extensionsDone) {
		rep.AfterRuntimeDoneMs = ms(extensionsDone.Sub(d))
	}
	res.Report = rep

	if status == StatusTimeout {
		e.logf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format(time.RFC3339Nano), inv.id, e.cfg.Timeout.Seconds())
	}
	e.logf("END RequestId: %s", inv.id)
	e.logf("%s", rep.line(managed))

	// Lines the processes wrote before this point belong to this invocation.
	for _, p := range gen.procs {
		p.waitDrained(50 * time.Millisecond)
	}
	if !managed {
		e.tel.flush() // what the environment produced is delivered before the freeze
	}
	rep.SubscriberErrors = e.tel.takeFailures()
	e.emitReport(inv, rep)
	e.report(rep)
	if reset != "" {
		e.genMu.Lock()
		e.stop(gen, reset)
		e.genMu.Unlock()
	} else {
		e.freeze()
	}
	return res
}

// timeoutResult is the result of an invocation that ran out of time.
func (e *Env) timeoutResult(inv *invocation) *Result {
	fe := &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, e.cfg.Timeout.Seconds())}
	return &Result{Error: fe, Payload: errorJSON(fe)}
}

// tracing is the tracing object of an invocation's platform events.
func (inv *invocation) tracing() map[string]any {
	return map[string]any{"type": "X-Amzn-Trace-Id", "value": inv.TraceHeader}
}

// spans are the responseLatency and responseDuration spans of an
// invocation the runtime answered.
func (inv *invocation) spans() []map[string]any {
	if inv.responded.IsZero() || inv.received.IsZero() {
		return nil
	}
	return []map[string]any{
		{"name": "responseLatency", "start": inv.start.UTC().Format(timeLayout), "durationMs": ms(inv.responded.Sub(inv.start))},
		{"name": "responseDuration", "start": inv.responded.UTC().Format(timeLayout), "durationMs": 0.0},
	}
}

func (e *Env) emitRuntimeDone(inv *invocation, status string, res *Result, end time.Time) {
	rec := map[string]any{"requestId": inv.id, "status": status,
		"metrics": map[string]any{"durationMs": ms(end.Sub(inv.start)), "producedBytes": len(res.Payload)},
		"tracing": inv.tracing()}
	if status != StatusSuccess && res.Error != nil {
		rec["errorType"] = res.Error.Type
	}
	if spans := inv.spans(); spans != nil {
		rec["spans"] = spans
	}
	e.tel.emitTracked("platform.runtimeDone", rec, func(at time.Time) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if inv.runtimeDoneDelivered.IsZero() {
			inv.runtimeDoneDelivered = at
		}
	})
}

// emitReport emits platform.report. On Managed Instances (schema
// 2025-01-29) its metrics hold the duration only, and it carries the
// tracing and spans that runtimeDone carries in Lambda (default): Managed
// Instances send no runtimeDone.
func (e *Env) emitReport(inv *invocation, rep *InvokeReport) {
	rec := map[string]any{"requestId": rep.RequestID, "status": rep.Status}
	if e.cfg.managed() {
		rec["metrics"] = map[string]any{"durationMs": threeDecimals(rep.DurationMs)}
		rec["tracing"] = inv.tracing()
		if spans := inv.spans(); spans != nil {
			rec["spans"] = spans
		}
	} else {
		metrics := map[string]any{"durationMs": rep.DurationMs, "billedDurationMs": rep.BilledDurationMs,
			"memorySizeMB": rep.MemorySizeMB, "maxMemoryUsedMB": rep.MaxMemoryUsedMB}
		if rep.InitDurationMs > 0 {
			metrics["initDurationMs"] = rep.InitDurationMs
		}
		rec["metrics"] = metrics
	}
	if rep.ErrorType != "" {
		rec["errorType"] = rep.ErrorType
	}
	e.tel.emit("platform.report", rec)
}

// freeze stops every process of the environment until the next thaw.
func (e *Env) freeze() {
	if e.cfg.NoFreeze {
		return
	}
	e.tel.pause()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.freezer.freeze(e.pgidsLocked()); err != nil {
		e.logf("sandbox: %v", err)
	}
	e.frozen, e.frozenAt = true, time.Now()
}

// thaw resumes the environment, once it has been frozen for FreezeMin.
func (e *Env) thaw() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.frozen {
		return
	}
	if d := time.Until(e.frozenAt.Add(e.cfg.FreezeMin)); d > 0 {
		time.Sleep(d)
	}
	if err := e.freezer.thaw(e.pgidsLocked()); err != nil {
		e.logf("sandbox: %v", err)
	}
	e.frozen = false
	e.tel.resume()
}

// ShutdownReason is why a generation of processes ends.
type ShutdownReason string

// Shutdown reasons, as the SHUTDOWN event gives them.
const (
	ShutdownSpindown ShutdownReason = "spindown"
	ShutdownTimeout  ShutdownReason = "timeout"
	ShutdownFailure  ShutdownReason = "failure"
)

// stop ends the generation gen: SIGTERM to the runtime (SIGKILL after
// 300 ms), then SHUTDOWN to the extensions registered for it, SIGKILL to
// the others, and SIGKILL to any still running at the deadline. It is
// called with genMu held, and does nothing if gen has already ended.
func (e *Env) stop(gen *generation, reason ShutdownReason) *ShutdownReport {
	e.mu.Lock()
	current := e.gen == gen
	e.mu.Unlock()
	if !current {
		return nil
	}
	e.thaw()
	start := time.Now()
	deadline := start.Add(e.cfg.ShutdownTimeout)
	rep := &ShutdownReport{Type: "shutdown", Time: start, Reason: string(reason)}

	if rt := gen.runtime; rt != nil {
		grace := runtimeTermGrace
		if len(gen.extensions) == 0 {
			grace = 0
		}
		pr := ProcessReport{Name: "runtime"}
		if rt.running() {
			rt.signal(syscall.SIGTERM)
			select {
			case <-rt.exited:
			case <-time.After(grace):
				pr.Killed = true
				rt.kill()
			}
		}
		pr.StoppedMs = ms(time.Since(start))
		rep.Runtime = &pr
	}
	e.tel.flush()

	shutdownEvent := mustJSON(map[string]any{"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline.UnixMilli()})
	e.mu.Lock()
	for _, x := range gen.extensions {
		if x.proc == nil {
			continue
		}
		if x.events["SHUTDOWN"] {
			x.queue = append(x.queue, shutdownEvent)
		} else {
			x.proc.signal(syscall.SIGKILL)
		}
	}
	e.broadcastLocked()
	exts := append([]*extension(nil), gen.extensions...)
	e.mu.Unlock()

	var wg sync.WaitGroup
	rep.Extensions = make([]ProcessReport, len(exts))
	for i, x := range exts {
		rep.Extensions[i].Name = x.name
		if x.proc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := &rep.Extensions[i]
			select {
			case <-x.proc.exited:
			case <-time.After(time.Until(deadline)):
				pr.Killed = true
				x.proc.kill()
			}
			pr.StoppedMs = ms(time.Since(start))
			pr.Exit = x.proc.exitDescription()
		}()
	}
	wg.Wait()
	// Anything the processes left behind in their groups goes too.
	e.mu.Lock()
	for _, p := range gen.procs {
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
	procs := gen.procs
	e.gen = nil
	e.broadcastLocked()
	e.mu.Unlock()
	// The last lines the processes wrote reach the logs before the report.
	for _, p := range procs {
		p.waitOutput(100 * time.Millisecond)
	}
	rep.SubscriberErrors = e.tel.takeFailures()
	e.tel.unsubscribeAll()
	rep.DurationMs = ms(time.Since(start))
	for _, x := range rep.Extensions {
		how := "exited"
		if x.Killed {
			how = "was killed"
		}
		e.logf("SHUTDOWN extension %s %s after %.2f ms (%s)", x.Name, how, x.StoppedMs, x.Exit)
	}
	e.report(rep)
	return rep
}

// startCmd starts one of the environment's processes, inside its own
// network if it has one.
func (e *Env) startCmd(cmd *exec.Cmd) error {
	if e.net != nil {
		return e.net.start(cmd)
	}
	return cmd.Start()
}

// procExited is called when any process of the environment exits.
func (e *Env) procExited() {
	e.mu.Lock()
	e.broadcastLocked()
	e.mu.Unlock()
}

// lineLogger returns the handler of a process's output lines: each becomes
// a Telemetry API event of the given type and a line of the logs.
func (e *Env) lineLogger(typ string) func(string) {
	return func(line string) {
		e.tel.emit(typ, line)
		fmt.Fprintf(e.cfg.Logs, "%s\n", line)
	}
}

// extensionFiles lists the executable files in <opt>/extensions.
func (e *Env) extensionFiles() []string {
	if e.optDir == "" {
		return nil
	}
	dir := filepath.Join(e.optDir, "extensions")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, ent := range entries {
		path := filepath.Join(dir, ent.Name())
		if checkExecutable(path) == nil {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out
}

func (e *Env) removeOpt() {
	if e.optTemp {
		_ = os.RemoveAll(e.optDir)
	}
	if e.tmpDir != "" {
		_ = os.RemoveAll(e.tmpDir)
	}
}

// TmpDir is the environment's temporary directory, its "/tmp": the TMPDIR
// of its processes. It survives resets and is removed at Shutdown.
func (e *Env) TmpDir() string { return e.tmpDir }

// mergeLayers makes the directory that stands for /opt. One layer is used
// as it is; several are merged into a temporary directory of symbolic
// links, a later layer's file replacing an earlier one's.
func mergeLayers(layers []string) (dir string, temp bool, err error) {
	switch len(layers) {
	case 0:
		return "", false, nil
	case 1:
		return layers[0], false, nil
	}
	dir, err = os.MkdirTemp("", "lambdaotel-opt-")
	if err != nil {
		return "", false, fmt.Errorf("sandbox: merge layers: %w", err)
	}
	for _, layer := range layers {
		err := filepath.WalkDir(layer, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(layer, path)
			target := filepath.Join(dir, rel)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			_ = os.Remove(target)
			return os.Symlink(path, target)
		})
		if err != nil {
			os.RemoveAll(dir)
			return "", false, fmt.Errorf("sandbox: merge layer %s: %w", layer, err)
		}
	}
	return dir, true, nil
}

// runtimeExitError is Lambda's error for a runtime that exited.
func runtimeExitError(requestID string, p *proc) *FunctionError {
	msg := "Runtime exited without providing a reason"
	if d := p.exitDescription(); d != "exit status 0" {
		msg = "Runtime exited with error: " + d
	}
	if requestID != "" {
		msg = "RequestId: " + requestID + " Error: " + msg
	}
	return &FunctionError{Type: "Runtime.ExitError", Message: msg}
}

// extensionExitError is Lambda's error for an extension that exited while
// the environment needed it: the type it reported with exit/error or
// init/error, else Extension.Crash.
func extensionExitError(requestID string, x *extension) *FunctionError {
	typ := x.errorType
	if typ == "" {
		typ = "Extension.Crash"
	}
	msg := fmt.Sprintf("extension %s exited: %s", x.name, x.proc.exitDescription())
	if requestID != "" {
		msg = "RequestId: " + requestID + " Error: " + msg
	}
	return &FunctionError{Type: typ, Message: msg}
}

// newTraceHeader makes an X-Ray trace header for an invocation that came
// without one: a new root, not sampled, as Lambda does with active tracing off.
func newTraceHeader() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), newID(12), newID(8))
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
