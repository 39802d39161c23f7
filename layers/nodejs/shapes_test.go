package nodejs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// esmBanner is the banner the ES module bundling guides give esbuild, so
// that bundled CommonJS code can still require() Node's modules.
const esmBanner = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);"

// shape is one way users write and ship a handler.
type shape struct {
	name, fixture, handler string
	// bundle, when set, is esbuild's output format: the test bundles
	// src/index.ts into index.js (cjs) or index.mjs (esm) as users do.
	bundle string
	// callback marks a handler nodejs24.x rejects or cannot serve
	// (callbacks, context.succeed/fail/done): it must fail there the same
	// way with and without the layer.
	callback bool
}

var shapes = []shape{
	{name: "esbuild cjs bundle", fixture: "esbuild-cjs", handler: "index.handler", bundle: "cjs"},
	{name: "esbuild esm bundle", fixture: "esbuild-esm", handler: "index.handler", bundle: "esm"},
	{name: "tsc commonjs", fixture: "tsc-cjs", handler: "index.handler"},
	{name: "mjs", fixture: "mjs", handler: "index.handler"},
	{name: "type module js", fixture: "type-module", handler: "app.handler"},
	{name: "cjs", fixture: "cjs", handler: "handler.handler"},
	{name: "async throws", fixture: "async-throws", handler: "index.handler"},
	{name: "callback", fixture: "callback", handler: "index.handler", callback: true},
	{name: "callback error", fixture: "callback-error", handler: "index.handler", callback: true},
	{name: "context.succeed", fixture: "succeed", handler: "index.handler", callback: true},
	{name: "context.fail", fixture: "fail", handler: "index.handler", callback: true},
	{name: "context.done", fixture: "done", handler: "index.handler", callback: true},
	{name: "src/handlers subdirectory", fixture: "subdir", handler: "src/handlers/app.handler"},
	{name: "top-level await", fixture: "tla", handler: "index.handler"},
	{name: "throws at import", fixture: "import-throws", handler: "index.handler"},
}

// outcome is what an invocation answered.
type outcome struct {
	requestID string
	payload   string
	errType   string
	errMsg    string
}

func (o outcome) failed() bool { return o.errType != "" }

func (o outcome) String() string {
	if o.failed() {
		return fmt.Sprintf("error %s: %s", o.errType, o.errMsg)
	}
	return o.payload
}

// TestHandlerShapes runs each shape of handler on each runtime without and
// with the layer: the answers are the same, and with the layer every
// invocation has exactly one invocation span, with an error status when
// the invocation failed, its end is signalled to the extension (the same
// end-of-invocation path for every shape), and the layer logs nothing.
func TestHandlerShapes(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		for _, sh := range shapes {
			t.Run(sh.name, func(t *testing.T) {
				t.Parallel()
				without, _ := runShape(t, major, sh, false)
				with, e := runShape(t, major, sh, true)
				for k := range without {
					if k > 0 && major >= 24 && sh.callback {
						// Where the handler's late context.succeed crashes
						// the runtime (before or after the next invocation
						// starts) is a race, with and without the layer.
						break
					}
					if without[k].String() != with[k].String() {
						t.Errorf("invocation %d: %s with the layer, %s without", k, with[k], without[k])
					}
				}
				if major < 24 && sh.callback && without[0].failed() && !strings.Contains(sh.fixture, "error") && sh.fixture != "fail" {
					t.Errorf("%s fails on nodejs%d.x: %s", sh.name, major, without[0])
				}
				if !with[0].failed() && !strings.Contains(with[0].payload, "shape") && !(major >= 24 && sh.callback) {
					t.Errorf("payload %s: want the handler's answer", with[0].payload)
				}
				if logs := e.logs.String(); strings.Contains(logs, "lambdaotel-nodejs: ") {
					t.Errorf("the layer logged:\n%s", logs)
				}
				spans := e.sink.Spans()
				for k, o := range with {
					if o.requestID == "" || o.errType == "Runtime.CallbackHandlerDeprecated" || sh.fixture == "import-throws" {
						continue // init failed: there is no invocation of the function's handler
					}
					if major >= 24 && sh.callback {
						continue // no context.succeed/fail/done: the runtime crashes when the handler calls one
					}
					invs := invocationSpans(spans, o.requestID)
					if len(invs) != 1 {
						t.Errorf("invocation %d: %d invocation spans, want 1", k, len(invs))
						continue
					}
					failed := invs[0].Status == ptrace.StatusCodeError
					if failed != o.failed() {
						t.Errorf("invocation %d (%s): invocation span status %v %q", k, o, invs[0].Status, invs[0].StatusMessage)
					}
					if o.failed() && invs[0].StatusMessage != o.errMsg {
						t.Errorf("invocation %d: span status message %q, want the error's %q", k, invs[0].StatusMessage, o.errMsg)
					}
					if !signalled(e.logs.String(), endSignalledLine, o.requestID) {
						t.Errorf("invocation %d (%s): its end was not signalled to the extension", k, o)
					}
				}
			})
		}
	})
}

// runShape runs two invocations of sh, with or without the layer, and
// shuts the environment down (so that whatever it sent has arrived).
func runShape(t *testing.T, major int, sh shape, withLayer bool) ([]outcome, *env) {
	t.Helper()
	e := startEnv(t, envOptions{major: major, fixtureDir: filepath.Join("testdata", "shapes", sh.fixture), handler: sh.handler,
		noLayer: !withLayer, env: map[string]string{"LAMBDAOTEL_LOG_LEVEL": "debug"}, prepare: func(task string) {
			if sh.bundle != "" {
				bundle(t, major, task, sh.bundle)
			}
		}})
	var out []outcome
	for n := 1; n <= 2; n++ {
		res := e.invoke(t, fmt.Sprintf(`{"n":%d}`, n))
		o := outcome{requestID: res.RequestID, payload: string(res.Payload)}
		if res.Error != nil {
			// The sandbox's messages name the request, which differs.
			msg := strings.ReplaceAll(res.Error.Message, "RequestId: "+res.RequestID+" ", "")
			o.errType, o.errMsg, o.payload = res.Error.Type, msg, ""
		}
		out = append(out, o)
	}
	e.sb.Shutdown()
	return out, e
}

// bundle bundles task/src/index.ts with esbuild the way CDK's
// NodejsFunction (cjs) and the ES module bundling guides (esm, with the
// createRequire banner) do.
func bundle(t *testing.T, major int, task, format string) {
	t.Helper()
	out := filepath.Join(task, "index.js")
	if format == "esm" {
		out = filepath.Join(task, "index.mjs")
	}
	esbuild(t, major, filepath.Join(task, "src", "index.ts"), out, format, "")
}

// esbuild bundles entry into outfile in format (cjs or esm, the latter
// with the createRequire banner), with the layer's esbuild plugin from
// plugin when it is not empty.
func esbuild(t *testing.T, major int, entry, outfile, format, plugin string) {
	t.Helper()
	rt, _ := requireNode(t, major)
	opts := map[string]any{
		"entryPoints": []string{entry}, "outfile": outfile, "format": format,
		"bundle": true, "platform": "node", "target": "node22", "logLevel": "warning",
	}
	if format == "esm" {
		opts["banner"] = map[string]string{"js": esmBanner}
	}
	js, _ := json.Marshal(opts)
	script := fmt.Sprintf("const o = %s; const p = %q; if (p) o.plugins = [require(p).lambdaotel()]; require(%q).build(o).catch((e) => { console.error(e); process.exit(1); })",
		js, plugin, filepath.Join(rt.FunctionDeps, "esbuild"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt.Node, "-e", script)
	cmd.Dir = filepath.Dir(entry)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild %s (plugin %q): %v\n%s", js, plugin, err, out)
	}
}

// TestSpansDelivered: an esbuild CommonJS bundle and a legacy
// context.succeed handler deliver their invocation spans through the
// extension, each before its invocation ends (no waiting for shutdown).
func TestSpansDelivered(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		for _, sh := range []shape{shapes[0], shapes[9]} {
			if sh.callback && major >= 24 {
				continue // nodejs24.x has no context.succeed (TestHandlerShapes: the same crash with and without the layer)
			}
			t.Run(sh.name, func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, envOptions{major: major, fixtureDir: filepath.Join("testdata", "shapes", sh.fixture), handler: sh.handler,
					prepare: func(task string) {
						if sh.bundle != "" {
							bundle(t, major, task, sh.bundle)
						}
					}})
				for k := range 2 {
					res := e.invoke(t, `{"n":1}`)
					invs := invocationSpans(e.sink.Spans(), res.RequestID)
					if len(invs) != 1 {
						t.Fatalf("invocation %d (%v %s): %d invocation spans at the backend when it ended, want 1", k, res.Error, res.Payload, len(invs))
					}
					if res.Error != nil {
						t.Fatalf("invocation %d: %v", k, res.Error)
					}
					checkInvocationSpan(t, invs[0], "function", k == 0)
				}
			})
		}
	})
}

// TestTimeout: a handler still running when the deadline is near has its
// invocation span ended as a timeout (error.type, an exception event) and
// flushed, with its child span, before Lambda stops the runtime.
func TestTimeout(t *testing.T) {
	t.Parallel()
	forMajors(t, func(t *testing.T, major int) {
		e := startEnv(t, envOptions{major: major, fixture: "mjs", handler: "index.handler", timeout: time.Second})
		res := e.invoke(t, `{"action":"hang"}`)
		if res.Error == nil || res.Error.Type != "Sandbox.Timedout" {
			t.Fatalf("invocation: %v %s, want Sandbox.Timedout", res.Error, res.Payload)
		}
		spans := e.sink.Spans()
		invs := invocationSpans(spans, res.RequestID)
		if len(invs) != 1 {
			t.Fatalf("%d invocation spans at the backend after the timeout, want 1 (%d spans)", len(invs), len(spans))
		}
		inv := invs[0]
		if inv.Status != ptrace.StatusCodeError || inv.Attributes["error.type"] != "timeout" {
			t.Errorf("timed-out invocation span: status %v %q, error.type %v", inv.Status, inv.StatusMessage, inv.Attributes["error.type"])
		}
		found := false
		for _, ev := range inv.Events {
			if ev.Name == "exception" && ev.Attributes["exception.type"] == "Timeout" {
				found = true
			}
		}
		if !found {
			t.Errorf("timed-out invocation span: no exception event (%+v)", inv.Events)
		}
		if kids := children(spans, inv); len(kids) != 1 {
			t.Errorf("timed-out invocation span: %d children, want the HTTP call made before the hang", len(kids))
		}
		e.sb.Shutdown()
		if n := len(invocationSpans(e.sink.Spans(), res.RequestID)); n != 1 {
			t.Errorf("after shutdown: %d invocation spans of the timed-out invocation, want 1", n)
		}
	})
}
