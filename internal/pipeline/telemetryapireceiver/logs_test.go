package telemetryapireceiver

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

func TestScanText(t *testing.T) {
	const id = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"
	for _, tc := range []struct {
		name, line string
		sev        plog.SeverityNumber
		text, id   string
	}{
		{"node info", "2024-01-01T00:00:00.000Z\t" + id + "\tINFO\thello", plog.SeverityNumberInfo, "INFO", id},
		{"node warn", "2024-01-01T00:00:00.000Z\t" + id + "\tWARN\tslow", plog.SeverityNumberWarn, "WARN", id},
		{"node outside an invocation", "2024-01-01T00:00:00.000Z\tundefined\tERROR\tUncaught Exception", plog.SeverityNumberError, "ERROR", ""},
		{"python", "[INFO]\t2024-01-01T00:00:00.000Z\t" + id + "\tprocessing", plog.SeverityNumberInfo, "INFO", id},
		{"python warning", "[WARNING]\t2024-01-01T00:00:00.000Z\t" + id + "\tcareful", plog.SeverityNumberWarn, "WARNING", id},
		{"python critical", "[CRITICAL]\t2024-01-01T00:00:00.000Z\t" + id + "\tdown", plog.SeverityNumberFatal, "CRITICAL", id},
		{"python runtime error", "[ERROR] Runtime.ImportModuleError: Unable to import module 'app'", plog.SeverityNumberError, "ERROR", ""},
		{"java", "2024-01-01 00:00:00 " + id + " INFO  App - started", plog.SeverityNumberInfo, "INFO", id},
		{"go log", "2024/01/01 00:00:00 DEBUG cache miss", plog.SeverityNumberDebug, "DEBUG", ""},
		{"plain", "ERROR something broke", plog.SeverityNumberError, "ERROR", ""},
		{"plain with colon", "FATAL: out of cheese", plog.SeverityNumberFatal, "FATAL", ""},
		{"slog text", `time=2024-01-01T00:00:00.000Z level=WARN msg="low memory"`, plog.SeverityNumberWarn, "WARN", ""},
		{"json logger", `{"level":"error","msg":"failed","err":"EOF"}`, plog.SeverityNumberError, "error", ""},
		{"pino", `{"level":30,"time":1700000000000,"msg":"hi"}`, plog.SeverityNumberInfo, "INFO", ""},
		{"json severity", `{"severity":"WARNING","message":"x"}`, plog.SeverityNumberWarn, "WARNING", ""},
		{"capitalised word is not a level", "Error loading file", 0, "", ""},
		{"level word in the message", "Processing 3 ERROR records", 0, "", ""},
		{"number then a level word", "3 ERROR records", 0, "", ""},
		{"epoch", "1714557600 ERROR x", plog.SeverityNumberError, "ERROR", ""},
		{"no level", "hello world", 0, "", ""},
		{"request id in the message", "user " + id + " logged in", 0, "", ""},
		{"empty", "", 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scanText(tc.line)
			if got.sev != tc.sev || got.sevText != tc.text || got.requestID != tc.id {
				t.Errorf("scanText(%q) = %v %q %q, want %v %q %q", tc.line, got.sev, got.sevText, got.requestID, tc.sev, tc.text, tc.id)
			}
		})
	}
}

// TestJSONLogFormat: records in Lambda's JSON log format.
// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
func TestJSONLogFormat(t *testing.T) {
	for _, tc := range []struct {
		name, record string
		body         string
		sev          plog.SeverityNumber
		time         float64 // ms after t0, of the record's timestamp
		event        string  // the event name
		attrs        map[string]any
	}{
		{
			name:   "python",
			record: `{"timestamp":"2024-05-01T10:00:00.120Z","level":"INFO","message":"hi","logger":"root","requestId":"` + req1 + `"}`,
			body:   "hi", sev: plog.SeverityNumberInfo, time: 120,
			attrs: map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req1, "logger": "root"},
		},
		{
			name: "node error",
			record: `{"timestamp":"2024-05-01T10:00:00.130Z","level":"ERROR","requestId":"` + req1 + `","message":"Invoke Error",` +
				`"errorType":"TypeError","errorMessage":"x is undefined","stackTrace":["TypeError: x is undefined","    at handler (/var/task/index.js:3:9)"]}`,
			body: "Invoke Error", sev: plog.SeverityNumberError, time: 130,
			event: "faas.invocation.exception",
			attrs: map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req1, "exception.type": "TypeError",
				"exception.message": "x is undefined", "exception.stacktrace": "TypeError: x is undefined\n    at handler (/var/task/index.js:3:9)"},
		},
		{
			name:   "structured message",
			record: `{"timestamp":"2024-05-01T10:00:00.140Z","level":"DEBUG","requestId":"` + req1 + `","message":{"order":42,"total":9.5}}`,
			body:   `{"order":42,"total":9.5}`, sev: plog.SeverityNumberDebug, time: 140,
			attrs: map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req1},
		},
		{
			name:   "no message",
			record: `{"timestamp":"2024-05-01T10:00:00.150Z","level":"TRACE","requestId":"` + req1 + `","x":true}`,
			body:   `{"timestamp":"2024-05-01T10:00:00.150Z","level":"TRACE","requestId":"` + req1 + `","x":true}`, sev: plog.SeverityNumberTrace, time: 150,
			attrs: map[string]any{"lambdaotel.log.type": "function", "faas.invocation_id": req1, "x": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestReceiver(nil)
			*clock = at(250) // when the extension receives the events
			r.Consume([]telemetryapi.Event{
				ev(t, 100, evStart, startRec(req1, "")),
				ev(t, 200, evFunction, tc.record),
				ev(t, 300, evRuntimeDone, runtimeDoneRec(req1, "success", "", 200, 0)),
			})
			*clock = at(301)
			td, _, ld := r.Collect(ptrace.NewTraces())
			lr := logWithBody(t, ld, tc.body)
			if lr.SeverityNumber() != tc.sev || lr.Timestamp() != ts(at(tc.time)) || lr.ObservedTimestamp() != ts(at(250)) {
				t.Errorf("severity %v time %v observed %v", lr.SeverityNumber(), lr.Timestamp().AsTime(), lr.ObservedTimestamp().AsTime())
			}
			if lr.EventName() != tc.event {
				t.Errorf("event name %q, want %q", lr.EventName(), tc.event)
			}
			if got := attrs(lr.Attributes()); fmt.Sprint(got) != fmt.Sprint(tc.attrs) {
				t.Errorf("attributes\n got %v\nwant %v", got, tc.attrs)
			}
			if lr.SpanID() != oneSpan(t, td, "orders").SpanID() {
				t.Error("not correlated with the invocation span")
			}
		})
	}
}

// TestLogCorrelation: which invocation a line belongs to.
func TestLogCorrelation(t *testing.T) {
	const unknown = "00000000-0000-4000-8000-000000000000"
	r, clock := newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
		line(t, 101, evExtension, "exporting after the response"), // post-runtime: still req1
		ev(t, 150, evReport, reportRec(req1, "success", 150, 150, 30, 0)),
		line(t, 160, evExtension, "between invocations"),
		ev(t, 1000, evStart, startRec(req2, "")),
		// A line naming req1 (a late background task) goes to req1.
		line(t, 1010, evFunction, "2024-05-01T10:00:01.010Z\t"+req1+"\tINFO\tlate work"),
		// An unknown uuid in the prefix is not a request id of ours.
		line(t, 1020, evFunction, unknown+" order shipped"),
		// The JSON format's requestId is the request's, known or not.
		ev(t, 1030, evFunction, `{"level":"INFO","requestId":"`+unknown+`","message":"from elsewhere"}`),
		// The extension's own lines never come back; other lines do.
		line(t, 1040, evExtension, "lambdaotel: WARN export failed: data dropped"),
		ev(t, 1041, evExtension, `{"level":"WARN","message":"lambdaotel: INFO shut down"}`),
		line(t, 1042, evFunction, "lambdaotel: a function line that looks like ours"),
		ev(t, 1100, evRuntimeDone, runtimeDoneRec(req2, "success", "", 100, 0)),
	})
	*clock = at(1101)
	td, _, ld := r.Collect(ptrace.NewTraces())
	span := map[string]ptrace.Span{}
	for _, sp := range spansNamed(td, "orders") {
		span[str(sp.Attributes(), attrFaaSInvocationID)] = sp
	}
	for _, tc := range []struct {
		body, invocation string
		correlated       bool
	}{
		{"exporting after the response", req1, true},
		{"between invocations", "", false},
		{"2024-05-01T10:00:01.010Z\t" + req1 + "\tINFO\tlate work", req1, true},
		{unknown + " order shipped", req2, true},
		{"from elsewhere", unknown, false},
		{"lambdaotel: a function line that looks like ours", req2, true},
	} {
		lr := logWithBody(t, ld, tc.body)
		if got := str(lr.Attributes(), attrFaaSInvocationID); got != tc.invocation {
			t.Errorf("%q: faas.invocation_id %q, want %q", tc.body, got, tc.invocation)
		}
		if !tc.correlated {
			if !lr.TraceID().IsEmpty() {
				t.Errorf("%q: trace %s, want none", tc.body, lr.TraceID())
			}
			continue
		}
		if sp := span[tc.invocation]; lr.TraceID() != sp.TraceID() || lr.SpanID() != sp.SpanID() {
			t.Errorf("%q: trace %s span %s, want the span of %s", tc.body, lr.TraceID(), lr.SpanID(), tc.invocation)
		}
	}
	if n := ld.LogRecordCount(); n != 6 {
		t.Errorf("%d log records, want 6 (the extension's own 2 dropped)", n)
	}

	// Invocations that overlap (Lambda Managed Instances): a line without
	// a request id cannot be placed.
	r, clock = newTestReceiver(nil)
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		ev(t, 10, evStart, startRec(req2, "")),
		line(t, 20, evFunction, "whose?"),
		ev(t, 30, evFunction, `{"level":"INFO","requestId":"`+req2+`","message":"mine"}`),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
		ev(t, 110, evRuntimeDone, runtimeDoneRec(req2, "success", "", 100, 0)),
	})
	*clock = at(111)
	td, _, ld = r.Collect(ptrace.NewTraces())
	if lr := logWithBody(t, ld, "whose?"); !lr.TraceID().IsEmpty() || str(lr.Attributes(), attrFaaSInvocationID) != "" {
		t.Errorf("line placed in an overlapping invocation: %v", attrs(lr.Attributes()))
	}
	if lr := logWithBody(t, ld, "mine"); str(lr.Attributes(), attrFaaSInvocationID) != req2 || lr.TraceID().IsEmpty() {
		t.Errorf("JSON line of req2: %v trace %s", attrs(lr.Attributes()), lr.TraceID())
	}
	if len(spansNamed(td, spanPostRuntime)) != 0 {
		t.Error("post-runtime span without a freeze per invocation")
	}
}

// TestSelfLines: extension lines that SelfLine claims (the awsemf
// exporter's records on stdout, as a string record or as a JSON object
// record) are not turned into log records; the same text from the
// function, or an extension line SelfLine does not claim, is.
func TestSelfLines(t *testing.T) {
	const emf = `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"load":1}`
	const other = `{"_aws":{"Timestamp":2,"CloudWatchMetrics":[]},"load":2}`
	r, clock := newTestReceiver(func(c *Config) {
		c.SelfLine = func(line string) bool { return line == emf }
	})
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evStart, startRec(req1, "")),
		line(t, 10, evExtension, emf),
		ev(t, 11, evExtension, emf),
		line(t, 12, evFunction, emf),
		line(t, 13, evExtension, other),
		ev(t, 100, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	*clock = at(101)
	_, _, ld := r.Collect(ptrace.NewTraces())
	var types []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				types = append(types, str(lr.Attributes(), attrLogType))
			}
		}
	}
	if len(types) != 2 || types[0] != logTypeFunction || types[1] != logTypeExtension {
		t.Fatalf("log records of types %v, want the function's line and the unclaimed extension line", types)
	}
}
