package sandbox_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestColdAndWarmInvocations runs a cold start and two warm invocations and
// checks what the function, the extension and the reports saw.
func TestColdAndWarmInvocations(t *testing.T) {
	t.Parallel()
	f := start(t, setup{
		recEnv: map[string]string{"REC_WAIT_RUNTIME_DONE": "1"},
		cfg: sandbox.Config{FunctionName: "orders", MemoryMB: 256, Region: "eu-west-1", Handler: "bootstrap.handler",
			Env: map[string]string{"FIXTURE_COLOR": "blue"}},
	})
	var ids []string
	for i := range 3 {
		res := f.invoke(t, `{"action":"print","lines":3}`)
		r := decodeResponse(t, res)
		if r.RequestID != res.RequestID {
			t.Errorf("function saw request id %q, result has %q", r.RequestID, res.RequestID)
		}
		ids = append(ids, res.RequestID)
		if i == 0 {
			want := map[string]string{
				"AWS_LAMBDA_FUNCTION_NAME": "orders", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
				"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
				"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders",
				"_HANDLER": "bootstrap.handler", "TZ": ":UTC", "LANG": "en_US.UTF-8", "LAMBDA_RUNTIME_DIR": "/var/runtime",
				"AWS_LAMBDA_RUNTIME_API": f.env.RuntimeAPI(), "FIXTURE_COLOR": "blue",
			}
			for k, v := range want {
				if r.Env[k] != v {
					t.Errorf("function env %s = %q, want %q", k, r.Env[k], v)
				}
			}
			for _, k := range []string{"LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME", "PATH", "LD_LIBRARY_PATH"} {
				if r.Env[k] == "" {
					t.Errorf("function env %s is not set", k)
				}
			}
			if _, ok := r.Env["AWS_EXECUTION_ENV"]; ok {
				t.Errorf("AWS_EXECUTION_ENV is set for a provided runtime")
			}
			if r.FunctionARN != "arn:aws:lambda:eu-west-1:123456789012:function:orders" {
				t.Errorf("invoked function ARN = %q", r.FunctionARN)
			}
			if !strings.HasPrefix(r.TraceHeader, "Root=1-") || r.TraceEnv != r.TraceHeader {
				t.Errorf("trace header in context %q, in _X_AMZN_TRACE_ID %q", r.TraceHeader, r.TraceEnv)
			}
		}
		rep := res.Report
		if rep.Status != "success" || rep.DurationMs <= 0 || rep.BilledDurationMs < int64(rep.DurationMs) || rep.MemorySizeMB != 256 || rep.MaxMemoryUsedMB <= 0 {
			t.Errorf("invocation %d report %+v", i, rep)
		}
		if (i == 0) != (rep.InitDurationMs > 0) || (i == 0) != (res.Init != nil) {
			t.Errorf("invocation %d: initDurationMs %v, init report %v", i, rep.InitDurationMs, res.Init)
		}
	}
	inits := reportsOf[*sandbox.InitReport](f.env)
	if len(inits) != 1 || inits[0].Status != "success" || len(inits[0].Extensions) != 1 ||
		inits[0].Extensions[0].Name != "recorder" || inits[0].Extensions[0].ReadyMs <= 0 {
		t.Fatalf("init reports: %+v", inits)
	}
	sd := f.env.Shutdown()
	if sd == nil || sd.Reason != "spindown" || len(sd.Extensions) != 1 || sd.Extensions[0].Killed {
		t.Fatalf("shutdown report %+v", sd)
	}

	rec := f.recording(t)
	// The extension saw register, one INVOKE per invocation and SHUTDOWN.
	if reg := rec.lifecycle[0]; reg["kind"] != "register" || reg["functionName"] != "orders" ||
		reg["handler"] != "bootstrap.handler" || reg["accountId"] != "123456789012" {
		t.Errorf("register response %v", reg)
	}
	invokes := rec.events("INVOKE")
	if len(invokes) != 3 {
		t.Fatalf("INVOKE events: %v", invokes)
	}
	for i, ev := range invokes {
		tracing, _ := ev["tracing"].(map[string]any)
		if ev["requestId"] != ids[i] || ev["invokedFunctionArn"] != "arn:aws:lambda:eu-west-1:123456789012:function:orders" ||
			ev["deadlineMs"].(float64) <= float64(time.Now().Add(-time.Minute).UnixMilli()) || tracing["type"] != "X-Amzn-Trace-Id" {
			t.Errorf("INVOKE %d: %v", i, ev)
		}
	}
	if sh := rec.events("SHUTDOWN"); len(sh) != 1 || sh[0]["shutdownReason"] != "spindown" || sh[0]["deadlineMs"] == nil {
		t.Errorf("SHUTDOWN events: %v", sh)
	}

	// Telemetry: init events once, then per invocation start, function
	// lines, runtimeDone, report.
	// (The subscription races with the start of the runtime, as in Lambda.)
	var types []string
	for _, e := range rec.telemetry {
		if strings.HasPrefix(e.Type, "platform.") && e.Type != "platform.telemetrySubscription" {
			types = append(types, e.Type)
		}
	}
	if subs := rec.ofType("platform.telemetrySubscription"); len(subs) != 1 ||
		string(subs[0].Record) != `{"name":"recorder","state":"Subscribed","types":["extension","function","platform"]}` {
		t.Errorf("telemetrySubscription events: %v", subs)
	}
	wantTypes := []string{"platform.extension", "platform.initStart", "platform.initRuntimeDone", "platform.initReport"}
	for range 3 {
		wantTypes = append(wantTypes, "platform.start", "platform.runtimeDone", "platform.report")
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("platform events:\n got %v\nwant %v", types, wantTypes)
	}
	var lines []string
	for _, e := range rec.ofType("function") {
		var s string
		e.decode(t, &s)
		lines = append(lines, s)
	}
	if len(lines) != 1+3*4 || lines[0] != "plainfunc: init" || lines[1] != "handling print" || lines[4] != "line 3 of 3" {
		t.Errorf("function lines: %q", lines)
	}
	if ext := rec.ofType("extension"); len(ext) == 0 {
		t.Errorf("no extension log lines were delivered")
	}
	for i, e := range rec.ofType("platform.runtimeDone") {
		var r struct {
			RequestID string `json:"requestId"`
			Status    string `json:"status"`
			Metrics   struct {
				DurationMs    float64 `json:"durationMs"`
				ProducedBytes int     `json:"producedBytes"`
			} `json:"metrics"`
			Spans []struct {
				Name       string  `json:"name"`
				Start      string  `json:"start"`
				DurationMs float64 `json:"durationMs"`
			} `json:"spans"`
			Tracing struct{ Type, Value string } `json:"tracing"`
		}
		e.decode(t, &r)
		if r.RequestID != ids[i] || r.Status != "success" || r.Metrics.DurationMs <= 0 || r.Metrics.ProducedBytes <= 0 ||
			len(r.Spans) != 2 || r.Spans[0].Name != "responseLatency" || r.Spans[1].Name != "responseDuration" ||
			r.Tracing.Type != "X-Amzn-Trace-Id" {
			t.Errorf("runtimeDone %d: %s", i, e.Record)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", e.Time); err != nil {
			t.Errorf("event time %q: %v", e.Time, err)
		}
	}
	for i, e := range rec.ofType("platform.report") {
		var r struct {
			RequestID string             `json:"requestId"`
			Status    string             `json:"status"`
			Metrics   map[string]float64 `json:"metrics"`
		}
		e.decode(t, &r)
		m := r.Metrics
		if r.RequestID != ids[i] || r.Status != "success" || m["durationMs"] <= 0 || m["billedDurationMs"] < 1 ||
			m["memorySizeMB"] != 256 || m["maxMemoryUsedMB"] <= 0 || (i == 0) != (m["initDurationMs"] > 0) {
			t.Errorf("report %d: %s", i, e.Record)
		}
	}
	var initStart struct {
		InitializationType, Phase, FunctionName, FunctionVersion string
	}
	rec.ofType("platform.initStart")[0].decode(t, &initStart)
	if initStart.InitializationType != "on-demand" || initStart.Phase != "init" || initStart.FunctionName != "orders" {
		t.Errorf("initStart: %+v", initStart)
	}

	// Because the extension waited for runtimeDone, each invocation's
	// runtimeDone reached it before its next event/next; the report came
	// after the thaw, before the next INVOKE was handled.
	pos := func(s string, n int) int {
		for i, o := range rec.order {
			if o == s {
				if n == 0 {
					return i
				}
				n--
			}
		}
		return -1
	}
	for i := range 2 {
		if rd, next := pos("telemetry:platform.runtimeDone", i), pos("event:INVOKE", i+1); rd < 0 || rd > next {
			t.Errorf("runtimeDone %d at %d, next INVOKE at %d: %v", i, rd, next, rec.order)
		}
	}

	// CloudWatch-style lines.
	logs := f.logs.String()
	for _, id := range ids {
		for _, want := range []string{"START RequestId: " + id + " Version: $LATEST", "END RequestId: " + id, "REPORT RequestId: " + id + "\tDuration: "} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q", want)
			}
		}
	}
	if !strings.Contains(logs, "Init Duration: ") || !strings.Contains(logs, "recorder: started") {
		t.Errorf("logs lack the init duration or the extension's line:\n%s", logs)
	}
}

// TestFunctionError checks an error returned by the handler.
func TestFunctionError(t *testing.T) {
	t.Parallel()
	f := start(t, setup{recEnv: map[string]string{"REC_WAIT_RUNTIME_DONE": "1"}})
	res := f.invoke(t, `{"action":"error"}`)
	if res.Error == nil || res.Error.Type != "errorString" || res.Error.Message != "the function failed on purpose" {
		t.Fatalf("error result %+v payload %s", res.Error, res.Payload)
	}
	if res.Report.Status != "error" || res.Report.ErrorType != "errorString" {
		t.Errorf("report %+v", res.Report)
	}
	// The environment stays up: the next invocation is warm.
	if res := f.invoke(t, `{}`); res.Init != nil || res.Error != nil {
		t.Errorf("invocation after an error: init %v, error %v", res.Init, res.Error)
	}
	f.env.Shutdown()
	var rd struct{ Status, ErrorType string }
	f.recording(t).ofType("platform.runtimeDone")[0].decode(t, &rd)
	if rd.Status != "error" || rd.ErrorType != "errorString" {
		t.Errorf("runtimeDone %+v", rd)
	}
}

// TestTimeoutAndCrashReset checks that a timeout and a runtime crash each
// end the invocation with Lambda's error, reset the environment with a
// SHUTDOWN of the matching reason, and that the next invocation re-inits.
func TestTimeoutAndCrashReset(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, event, errorType, message, status, reason string
	}{
		{"timeout", `{"action":"sleep","sleepMs":5000}`, "Sandbox.Timedout", "Task timed out after 1.00 seconds", "timeout", "timeout"},
		{"crash", `{"action":"exit"}`, "Runtime.ExitError", "Runtime exited with error: exit status 3", "failure", "failure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, setup{cfg: sandbox.Config{Timeout: time.Second}})
			f.invoke(t, `{}`)
			res := f.invoke(t, c.event)
			if res.Error == nil || res.Error.Type != c.errorType || res.Error.Message != "RequestId: "+res.RequestID+" Error: "+c.message {
				t.Fatalf("result error %+v", res.Error)
			}
			var payload sandbox.FunctionError
			if err := json.Unmarshal(res.Payload, &payload); err != nil || payload != *res.Error {
				t.Errorf("payload %s", res.Payload)
			}
			if res.Report.Status != c.status || res.Report.ErrorType != c.errorType {
				t.Errorf("report %+v", res.Report)
			}
			after := f.invoke(t, `{}`)
			if after.Error != nil || after.Init == nil || after.Init.Status != "success" {
				t.Fatalf("invocation after the %s: error %v, init %+v", c.name, after.Error, after.Init)
			}
			f.env.Shutdown()
			rec := f.recording(t)
			var reasons []string
			for _, ev := range rec.events("SHUTDOWN") {
				reasons = append(reasons, ev["shutdownReason"].(string))
			}
			if !slices.Equal(reasons, []string{c.reason, "spindown"}) {
				t.Errorf("SHUTDOWN reasons %v", reasons)
			}
			var rd struct{ RequestID, Status, ErrorType string }
			found := false
			for _, e := range rec.ofType("platform.runtimeDone") {
				e.decode(t, &rd)
				if rd.RequestID == res.RequestID {
					found = true
					if rd.Status != c.status {
						t.Errorf("runtimeDone %s", e.Record)
					}
				}
			}
			if !found {
				t.Errorf("no runtimeDone for the failed invocation was delivered")
			}
			if n := len(rec.ofType("platform.initStart")); n != 2 {
				t.Errorf("%d initStart events, want 2", n)
			}
			if c.name == "timeout" && !strings.Contains(f.logs.String(), res.RequestID+" Task timed out after 1.00 seconds") {
				t.Errorf("logs lack the timeout line")
			}
		})
	}
}

// TestInitFailure checks each way init can fail: the runtime reports an
// init error, the runtime exits, an extension reports init/error, the
// runtime does not start within the init limit.
func TestInitFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		s         setup
		errorType string
		status    string
	}{
		{"runtime init/error", setup{cfg: sandbox.Config{Env: map[string]string{"FIXTURE_INIT": "error"}}}, "Runtime.ConfigMissing", "error"},
		{"runtime exits", setup{cfg: sandbox.Config{Env: map[string]string{"FIXTURE_INIT": "exit"}}}, "Runtime.ExitError", "failure"},
		{"extension init/error", setup{recEnv: map[string]string{"REC_INIT_ERROR": "Extension.ConfigInvalid"}}, "Extension.ConfigInvalid", "error"},
		{"extension crashes", setup{recEnv: map[string]string{"REC_OUT": "/nonexistent/dir/file"}}, "Extension.Crash", "failure"},
		{"init timeout", setup{cfg: sandbox.Config{InitTimeout: 300 * time.Millisecond, Command: []string{"/bin/sleep", "30"}}}, "Sandbox.Timedout", "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, c.s)
			for i := range 2 {
				res := f.invoke(t, `{}`)
				if res.Error == nil || res.Error.Type != c.errorType || res.Init == nil || res.Init.Status != c.status {
					t.Fatalf("invocation %d: error %+v init %+v", i, res.Error, res.Init)
				}
				if res.Report.Status != c.status || res.Report.InitDurationMs <= 0 {
					t.Errorf("report %+v", res.Report)
				}
			}
			if n := len(reportsOf[*sandbox.InitReport](f.env)); n != 2 {
				t.Errorf("%d inits, want one per invocation", n)
			}
			if !strings.Contains(f.logs.String(), "INIT_REPORT Init Duration: ") {
				t.Errorf("logs lack INIT_REPORT")
			}
			var initDone []string
			for _, e := range f.env.Events() {
				if e.Type == "platform.initRuntimeDone" || e.Type == "platform.initReport" {
					var r struct{ Status, ErrorType string }
					_ = json.Unmarshal(e.Record, &r)
					initDone = append(initDone, fmt.Sprintf("%s %s %s", e.Type, r.Status, r.ErrorType))
				}
			}
			want := fmt.Sprintf("platform.initReport %s %s", c.status, c.errorType)
			if len(initDone) != 4 || initDone[1] != want {
				t.Errorf("init events %q, want %q", initDone, want)
			}
		})
	}
}
