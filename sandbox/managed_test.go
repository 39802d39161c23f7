package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// managedExtension makes the recorder behave as an extension for Lambda
// Managed Instances should: SHUTDOWN only and schema 2025-01-29, after
// trying INVOKE and the classic schema to record the refusals.
var managedExtension = map[string]string{
	"REC_EVENTS": "SHUTDOWN", "REC_PROBE_EVENTS": "INVOKE,SHUTDOWN",
	"REC_SCHEMA": "2025-01-29", "REC_PROBE_SCHEMA": "2022-12-13",
}

// timedResponse is plainfunc's response with the handler's own times.
type timedResponse struct {
	RequestID string            `json:"requestId"`
	Echo      string            `json:"echo"`
	StartNs   int64             `json:"startNs"`
	EndNs     int64             `json:"endNs"`
	Env       map[string]string `json:"env"`
}

// maxOverlap returns the largest number of the half-open intervals
// [start, end) that contain one instant.
func maxOverlap(intervals [][2]int64) int {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, iv := range intervals {
		edges = append(edges, edge{iv[0], 1}, edge{iv[1], -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta // an end before a start at the same instant
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// reportIntervals returns the start and end of every invoke report of env.
func reportIntervals(env *sandbox.Env) [][2]int64 {
	var out [][2]int64
	for _, rep := range reportsOf[*sandbox.InvokeReport](env) {
		out = append(out, [2]int64{rep.Time.UnixNano(), rep.Time.UnixNano() + int64(rep.DurationMs*1e6)})
	}
	return out
}

// watchStopped samples the state of every process of env until the
// returned function is called, which returns the processes it ever saw
// stopped (state T).
func watchStopped(env *sandbox.Env) func() []string {
	done := make(chan struct{})
	result := make(chan []string)
	go func() {
		var stopped []string
		for {
			for _, pid := range env.PIDs() {
				if s := procState(pid); s == 'T' || s == 't' {
					stopped = append(stopped, fmt.Sprintf("pid %d state %c", pid, s))
				}
			}
			select {
			case <-done:
				result <- stopped
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		close(done)
		return <-result
	}
}

// waitLogs waits until the environment's logs hold want n times.
func waitLogs(t *testing.T, f *fixture, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(f.logs.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the logs never had %q %d times", want, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestManagedInstances runs 8 invocations at once in an environment of
// Lambda Managed Instances with a concurrency of 4 and checks what the
// function, the extension, the telemetry and the reports saw.
func TestManagedInstances(t *testing.T) {
	t.Parallel()
	const concurrency, total = 4, 8
	f := start(t, setup{recEnv: managedExtension,
		cfg: sandbox.Config{MaxConcurrency: concurrency, FunctionName: "mi", MemoryMB: 2048}})
	stopped := watchStopped(f.env)

	results := make([]*sandbox.Result, total)
	errs := make([]error, total)
	var wg sync.WaitGroup
	for i := range total {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			results[i], errs[i] = f.env.Invoke(ctx, sandbox.Request{Payload: fmt.Appendf(nil, `{"action":"sleep","sleepMs":300,"echo":"inv-%d"}`, i)})
		})
	}
	wg.Wait()
	if s := stopped(); len(s) > 0 {
		t.Errorf("processes were stopped (frozen) while invocations ran: %v", s)
	}

	// Every request id answered once, with its own payload.
	ids := map[string]bool{}
	var handlerTimes [][2]int64
	inits := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("invocation %d: %v", i, errs[i])
		}
		if res.Error != nil {
			t.Fatalf("invocation %d failed: %v", i, res.Error)
		}
		var r timedResponse
		if err := json.Unmarshal(res.Payload, &r); err != nil {
			t.Fatalf("invocation %d: response %s: %v", i, res.Payload, err)
		}
		if r.RequestID != res.RequestID || r.Echo != fmt.Sprintf("inv-%d", i) || ids[res.RequestID] {
			t.Errorf("invocation %d (request %s) got the answer of request %s to %q", i, res.RequestID, r.RequestID, r.Echo)
		}
		ids[res.RequestID] = true
		handlerTimes = append(handlerTimes, [2]int64{r.StartNs, r.EndNs})
		if res.Init != nil {
			inits++
		}
		if i == 0 {
			if r.Env["AWS_LAMBDA_INITIALIZATION_TYPE"] != "lambda-managed-instances" || r.Env["AWS_LAMBDA_MAX_CONCURRENCY"] != "4" {
				t.Errorf("function env: AWS_LAMBDA_INITIALIZATION_TYPE=%q AWS_LAMBDA_MAX_CONCURRENCY=%q",
					r.Env["AWS_LAMBDA_INITIALIZATION_TYPE"], r.Env["AWS_LAMBDA_MAX_CONCURRENCY"])
			}
		}
		rep := res.Report
		if rep.Status != "success" || rep.PostRuntimeMs != 0 || rep.RuntimeMs <= 0 || rep.MaxMemoryUsedMB <= 0 || rep.MemorySizeMB != 2048 {
			t.Errorf("invocation %d report %+v", i, rep)
		}
	}
	if inits != 1 {
		t.Errorf("%d invocations report an init, want 1", inits)
	}
	// The handlers ran at the same time (the function's own clock), and
	// the sandbox never had more than 4 invocations in flight.
	t.Logf("handlers at once: %d; invocations in flight at once: %d", maxOverlap(handlerTimes), maxOverlap(reportIntervals(f.env)))
	if n := maxOverlap(handlerTimes); n < 2 || n > concurrency {
		t.Errorf("at most %d handlers ran at once, want 2 to %d: %v", n, concurrency, handlerTimes)
	}
	reportTimes := reportIntervals(f.env)
	if n := maxOverlap(reportTimes); len(reportTimes) != total || n > concurrency {
		t.Errorf("%d invoke reports, at most %d in flight at once; want %d, at most %d", len(reportTimes), n, total, concurrency)
	}
	if in := reportsOf[*sandbox.InitReport](f.env); len(in) != 1 || in[0].InitializationType != "lambda-managed-instances" || in[0].Status != "success" {
		t.Errorf("init reports %+v", in)
	}
	if f.env.Frozen() || f.env.FreezeMethod() != sandbox.FreezeOff {
		t.Errorf("frozen %v, freeze method %s: Managed Instances never freeze", f.env.Frozen(), f.env.FreezeMethod())
	}
	for _, pid := range f.env.PIDs() {
		if s := procState(pid); s == 'T' {
			t.Errorf("process %d is stopped after the invocations", pid)
		}
	}

	sd := f.env.Shutdown()
	if sd == nil || sd.Reason != "spindown" || len(sd.Extensions) != 1 || sd.Extensions[0].Killed || sd.Extensions[0].Exit != "exit status 0" {
		t.Fatalf("shutdown report %+v", sd)
	}
	if !strings.Contains(f.logs.String(), "REPORT RequestId: ") || strings.Contains(f.logs.String(), "Billed Duration") {
		t.Errorf("REPORT lines should give the duration only on Managed Instances:\n%s", f.logs.String())
	}

	rec := f.recording(t)
	// The extension was refused INVOKE, registered for SHUTDOWN, was refused
	// the classic schema, and received SHUTDOWN only.
	probes := map[string]map[string]any{}
	for _, l := range rec.lifecycle {
		if k := l["kind"].(string); strings.HasPrefix(k, "probe-") {
			probes[k] = l
		}
	}
	checkProbe := func(kind string, status int, errorType, message string) {
		t.Helper()
		p := probes[kind]
		resp, _ := p["response"].(map[string]any)
		if p == nil || p["status"] != float64(status) || resp["errorType"] != errorType || !strings.Contains(fmt.Sprint(resp["errorMessage"]), message) {
			t.Errorf("%s: %v, want %d %s %q", kind, p, status, errorType, message)
		}
	}
	checkProbe("probe-register", 403, "Extension.InvalidEventType", "INVOKE: ErrorInvalidEventType")
	checkProbe("probe-subscribe", 400, "ValidationError", `schemaVersion "2022-12-13" is not supported on Lambda Managed Instances: use 2025-01-29`)
	if inv := rec.events("INVOKE"); len(inv) != 0 {
		t.Errorf("the extension got INVOKE events: %v", inv)
	}
	if sh := rec.events("SHUTDOWN"); len(sh) != 1 || sh[0]["shutdownReason"] != "spindown" {
		t.Errorf("SHUTDOWN events %v", sh)
	}

	// Telemetry follows schema 2025-01-29.
	if rd := rec.ofType("platform.runtimeDone"); len(rd) != 0 {
		t.Errorf("platform.runtimeDone was sent on Managed Instances: %v", rd)
	}
	var ext struct{ Events []string }
	rec.ofType("platform.extension")[0].decode(t, &ext)
	if !slices.Equal(ext.Events, []string{"SHUTDOWN"}) {
		t.Errorf("platform.extension events %v", ext.Events)
	}
	var initStart struct {
		InitializationType, InstanceID string
		InstanceMaxMemory              int64
	}
	rec.ofType("platform.initStart")[0].decode(t, &initStart)
	if initStart.InitializationType != "lambda-managed-instances" || initStart.InstanceID == "" || initStart.InstanceMaxMemory != 2048<<20 {
		t.Errorf("initStart %+v", initStart)
	}
	var initReport struct{ InitializationType, Status string }
	rec.ofType("platform.initReport")[0].decode(t, &initReport)
	if initReport.InitializationType != "lambda-managed-instances" || initReport.Status != "success" {
		t.Errorf("initReport %+v", initReport)
	}
	starts := rec.ofType("platform.start")
	for _, e := range starts {
		var r struct{ RequestID, FunctionArn string }
		e.decode(t, &r)
		if !ids[r.RequestID] || r.FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:mi" {
			t.Errorf("platform.start %s", e.Record)
		}
	}
	reports := rec.ofType("platform.report")
	durationMs := regexp.MustCompile(`"metrics":\{"durationMs":\d+\.\d{3}\}`)
	for _, e := range reports {
		var r struct {
			RequestID, Status string
			Metrics           map[string]float64
			Spans             []struct{ Name string }
			Tracing           struct{ Type, Value string }
		}
		e.decode(t, &r)
		if !ids[r.RequestID] || r.Status != "success" || len(r.Metrics) != 1 || r.Metrics["durationMs"] < 300 ||
			!durationMs.Match(e.Record) || len(r.Spans) != 2 || r.Spans[0].Name != "responseLatency" || r.Tracing.Type != "X-Amzn-Trace-Id" {
			t.Errorf("platform.report %s", e.Record)
		}
	}
	if len(starts) != total || len(reports) != total {
		t.Errorf("%d platform.start and %d platform.report delivered, want %d each", len(starts), len(reports), total)
	}
}

// TestManagedInstancesTimeout checks that on Managed Instances a timed-out
// invocation fails alone: the others and the environment go on, and the
// runtime's late answer is refused with 410 InvokeTimeout.
func TestManagedInstancesTimeout(t *testing.T) {
	t.Parallel()
	f := start(t, setup{recEnv: managedExtension, cfg: sandbox.Config{MaxConcurrency: 2, Timeout: time.Second}})
	f.invoke(t, `{}`)
	slow := make(chan *sandbox.Result, 1)
	go func() {
		res, _ := f.env.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{"action":"sleep","sleepMs":60000}`)})
		slow <- res
	}()
	waitLogs(t, f, "handling sleep", 1)
	// The runtime's other worker serves an invocation while the first one sleeps.
	if quick := f.invoke(t, `{"echo":"quick"}`); quick.Error != nil || quick.Init != nil {
		t.Fatalf("invocation beside the slow one: error %v, init %v", quick.Error, quick.Init)
	}
	res := <-slow
	if res == nil || res.Error == nil || res.Error.Type != "Sandbox.Timedout" ||
		res.Error.Message != "RequestId: "+res.RequestID+" Error: Task timed out after 1.00 seconds" {
		t.Fatalf("slow invocation: %+v", res)
	}
	if res.Report.Status != "timeout" || res.Report.ErrorType != "Sandbox.Timedout" {
		t.Errorf("slow invocation's report %+v", res.Report)
	}

	// The worker is still sleeping; if it answered now, it would be refused.
	answer := func() (int, sandbox.FunctionError) {
		resp, err := http.Post("http://"+f.env.HostAPI()+"/2018-06-01/runtime/invocation/"+res.RequestID+"/response", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc sandbox.FunctionError
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &doc)
		return resp.StatusCode, doc
	}
	if status, doc := answer(); status != 410 || doc.Type != "InvokeTimeout" || doc.Message != "Invoke timeout" {
		t.Errorf("late answer: %d %+v, want 410 InvokeTimeout", status, doc)
	}
	if status, doc := answer(); status != 400 || doc.Type != "InvalidRequestID" {
		t.Errorf("second late answer: %d %+v, want 400 InvalidRequestID", status, doc)
	}

	// The environment was not reset.
	if after := f.invoke(t, `{}`); after.Error != nil || after.Init != nil {
		t.Errorf("invocation after the timeout: error %v, init %v", after.Error, after.Init)
	}
	f.env.Shutdown()
	if n := len(reportsOf[*sandbox.InitReport](f.env)); n != 1 {
		t.Errorf("%d inits, want 1: a timeout does not reset Managed Instances", n)
	}
	rec := f.recording(t)
	if sh := rec.events("SHUTDOWN"); len(sh) != 1 || sh[0]["shutdownReason"] != "spindown" {
		t.Errorf("SHUTDOWN events %v, want only the final spindown", sh)
	}
	found := false
	for _, e := range rec.ofType("platform.report") {
		var r struct{ RequestID, Status, ErrorType string }
		e.decode(t, &r)
		if r.RequestID == res.RequestID {
			found = r.Status == "timeout" && r.ErrorType == "Sandbox.Timedout"
		}
	}
	if !found {
		t.Errorf("no platform.report with status timeout for the slow invocation")
	}
	if !strings.Contains(f.logs.String(), res.RequestID+" Task timed out after 1.00 seconds") {
		t.Errorf("logs lack the timeout line")
	}
}

// TestManagedInstancesCrash checks that a runtime crash on Managed
// Instances fails every invocation in flight and resets the environment.
func TestManagedInstancesCrash(t *testing.T) {
	t.Parallel()
	f := start(t, setup{recEnv: managedExtension, cfg: sandbox.Config{MaxConcurrency: 2, Timeout: 60 * time.Second}})
	f.invoke(t, `{}`)
	slow := make(chan *sandbox.Result, 1)
	go func() {
		res, _ := f.env.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{"action":"sleep","sleepMs":60000}`)})
		slow <- res
	}()
	waitLogs(t, f, "handling sleep", 1)
	crash := f.invoke(t, `{"action":"exit"}`)
	for name, res := range map[string]*sandbox.Result{"crashing": crash, "in flight": <-slow} {
		if res == nil || res.Error == nil || res.Error.Type != "Runtime.ExitError" ||
			res.Error.Message != "RequestId: "+res.RequestID+" Error: Runtime exited with error: exit status 3" || res.Report.Status != "failure" {
			t.Errorf("%s invocation: %+v", name, res)
		}
	}
	if after := f.invoke(t, `{}`); after.Error != nil || after.Init == nil {
		t.Errorf("invocation after the crash: error %v, init %v; want a new init", after.Error, after.Init)
	}
	f.env.Shutdown()
	var reasons []string
	for _, ev := range f.recording(t).events("SHUTDOWN") {
		reasons = append(reasons, ev["shutdownReason"].(string))
	}
	if !slices.Equal(reasons, []string{"failure", "spindown"}) {
		t.Errorf("SHUTDOWN reasons %v", reasons)
	}
}
