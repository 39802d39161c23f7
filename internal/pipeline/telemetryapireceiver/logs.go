package telemetryapireceiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// decodeLog makes the log record of a function or extension line. A text
// line (the record is a JSON string) is the body as written; a line in
// Lambda's JSON log format (the record is an object) gives its message as
// the body, its timestamp, level and requestId, and the other fields as
// attributes.
// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
func (r *Receiver) decodeLog(ev *telemetryapi.Event, e event) (event, bool) {
	typ := logTypeFunction
	if ev.Type == evExtension {
		typ = logTypeExtension
	}
	raw := bytes.TrimSpace(ev.Record)
	lr := plog.NewLogRecord()
	// Timestamp is when the line was written (the event's time, or the
	// JSON format's own timestamp); ObservedTimestamp is when the
	// extension received it.
	lr.SetTimestamp(pcommon.NewTimestampFromTime(e.time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(e.observed))
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var line string
		if json.Unmarshal(raw, &line) != nil {
			return e, false
		}
		line = strings.TrimRight(line, "\r\n")
		if r.ownLine(typ, line) {
			return e, false
		}
		lr.Body().SetStr(line)
		t := scanText(line)
		if t.sevText != "" {
			lr.SetSeverityNumber(t.sev)
			lr.SetSeverityText(t.sevText)
		}
		e.logReq = t.requestID
		runtimeError(lr, line, t.sev)
	case len(raw) > 0 && raw[0] == '{':
		if typ == logTypeExtension && r.cfg.SelfLine != nil && r.cfg.SelfLine(string(raw)) {
			return e, false
		}
		var fields map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&fields) != nil {
			return e, false
		}
		if msg, ok := fields["message"].(string); ok && r.ownLine(typ, msg) {
			return e, false
		}
		e.logReq = structuredLog(lr, fields, raw)
		e.logJSON = e.logReq != ""
	default:
		if len(raw) == 0 {
			return e, false
		}
		lr.Body().SetStr(string(raw))
	}
	lr.Attributes().PutStr(attrLogType, typ)
	e.log, e.isLog = lr, true
	return e, true
}

// ownLine reports whether line is one of the extension's own log lines,
// which come back to it as extension events and must not be re-exported.
func (r *Receiver) ownLine(typ, line string) bool {
	if typ != logTypeExtension {
		return false
	}
	return (r.cfg.SelfLogPrefix != "" && strings.HasPrefix(line, r.cfg.SelfLogPrefix)) ||
		(r.cfg.SelfLine != nil && r.cfg.SelfLine(line))
}

// structuredLog fills lr from a line in Lambda's JSON log format and
// returns its requestId.
func structuredLog(lr plog.LogRecord, fields map[string]any, raw []byte) (requestID string) {
	attrs := lr.Attributes()
	attrs.EnsureCapacity(len(fields))
	hasMessage := false
	for k, v := range fields {
		switch k {
		case "message":
			hasMessage = true
			if s, ok := v.(string); ok {
				lr.Body().SetStr(strings.TrimRight(s, "\r\n"))
			} else {
				_ = lr.Body().FromRaw(normalize(v))
			}
			continue
		case "timestamp":
			if s, ok := v.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
					continue
				}
			}
		case "level":
			if s, ok := v.(string); ok {
				if n, ok := severityOf(s); ok {
					lr.SetSeverityNumber(n)
					lr.SetSeverityText(s)
					continue
				}
			}
		case "requestId":
			if s, ok := v.(string); ok && s != "" {
				requestID = s
				continue
			}
		// An error logged by the runtime: the exception attributes of the
		// log semantic conventions.
		case "errorType":
			if s, ok := v.(string); ok {
				attrs.PutStr(attrExceptionType, s)
				continue
			}
		case "errorMessage":
			if s, ok := v.(string); ok {
				attrs.PutStr(attrExceptionMessage, s)
				continue
			}
		case "stackTrace":
			if st := stackTrace(v); st != "" {
				attrs.PutStr(attrExceptionStack, st)
				continue
			}
		}
		_ = attrs.PutEmpty(k).FromRaw(normalize(v))
	}
	if !hasMessage {
		lr.Body().SetStr(string(raw))
	}
	markException(lr)
	return requestID
}

// markException names a record that carries an exception
// (exception.type or exception.message) as the semantic conventions'
// faas.invocation.exception event: the runtime logged the error that
// ended an invocation (Lambda's JSON log format has errorType,
// errorMessage and stackTrace only there). Its severity is ERROR unless
// the line said otherwise.
// https://opentelemetry.io/docs/specs/semconv/faas/faas-exceptions/
func markException(lr plog.LogRecord) {
	a := lr.Attributes()
	_, hasType := a.Get(attrExceptionType)
	_, hasMessage := a.Get(attrExceptionMessage)
	if !hasType && !hasMessage {
		return
	}
	lr.SetEventName(eventInvocationException)
	if lr.SeverityNumber() == plog.SeverityNumberUnspecified {
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
	}
}

// invokeErrorMark is what the Node.js runtime writes, in the text log
// format, before the JSON of the error that ended an invocation:
//
//	2024-01-01T00:00:00.000Z	<requestId>	ERROR	Invoke Error 	{"errorType":"Error","errorMessage":"boom","stack":["Error: boom","    at ..."]}
const invokeErrorMark = "Invoke Error"

// runtimeError gives the exception attributes and event name to a text
// line in which a runtime reports the error that ended an invocation:
// the Node.js runtime's ERROR "Invoke Error" line, or aws-lambda-go's
// (log.Printf of the error document: a date, a time and the JSON).
func runtimeError(lr plog.LogRecord, line string, sev plog.SeverityNumber) {
	i := strings.IndexByte(line, '{')
	if i < 0 {
		return
	}
	prefix, rest := line[:i], line[i:]
	switch {
	case sev >= plog.SeverityNumberError && strings.HasSuffix(strings.TrimSpace(prefix), invokeErrorMark):
	case sev == plog.SeverityNumberUnspecified && onlyTime(prefix):
	default:
		return
	}
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
		Stack        any    `json:"stack"`
		StackTrace   any    `json:"stackTrace"`
	}
	dec := json.NewDecoder(strings.NewReader(rest))
	if dec.Decode(&e) != nil || dec.More() || (e.ErrorType == "" && e.ErrorMessage == "") {
		return
	}
	a := lr.Attributes()
	if e.ErrorType != "" {
		a.PutStr(attrExceptionType, e.ErrorType)
	}
	if e.ErrorMessage != "" {
		a.PutStr(attrExceptionMessage, e.ErrorMessage)
	}
	st := stackTrace(e.Stack)
	if st == "" {
		st = stackTrace(e.StackTrace)
	}
	if st != "" {
		a.PutStr(attrExceptionStack, st)
	}
	markException(lr)
}

// stackTrace joins a runtime's stackTrace field: a list of lines, one
// string, or aws-lambda-go's frames ({"path","line","label"}), written as
// Go writes a stack (the function, then a tab and file:line).
func stackTrace(v any) string {
	switch st := v.(type) {
	case string:
		return st
	case []any:
		lines := make([]string, 0, len(st))
		for _, l := range st {
			switch f := l.(type) {
			case string:
				lines = append(lines, f)
			case map[string]any:
				lines = append(lines, fmt.Sprintf("%v\n\t%v:%v", f["label"], f["path"], f["line"]))
			default:
				return ""
			}
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

// onlyTime reports whether s holds one or more tokens, all of them a
// date or time.
func onlyTime(s string) bool {
	n := 0
	for tok := range strings.FieldsSeq(s) {
		if !looksLikeTime(tok) {
			return false
		}
		n++
	}
	return n > 0
}

// normalize turns decoded JSON into values pcommon accepts: json.Number
// becomes int64 when it is an integer, float64 otherwise.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
		return x
	}
	return v
}

// severityOf maps a level word to the log data model's severity number.
// https://opentelemetry.io/docs/specs/otel/logs/data-model/#field-severitynumber
// and the mappings of its appendix B: syslog's Notice is INFO2, Alert
// ERROR3 and Emergency FATAL; zap's DPanic is ERROR2, Panic ERROR3 and
// Fatal FATAL. CRITICAL is Python's highest level, which OpenTelemetry
// Python maps to FATAL (syslog's Critical would be ERROR2).
func severityOf(level string) (plog.SeverityNumber, bool) {
	switch strings.ToUpper(level) {
	case "TRACE":
		return plog.SeverityNumberTrace, true
	case "DEBUG":
		return plog.SeverityNumberDebug, true
	case "INFO":
		return plog.SeverityNumberInfo, true
	case "NOTICE":
		return plog.SeverityNumberInfo2, true
	case "WARN", "WARNING":
		return plog.SeverityNumberWarn, true
	case "ERROR", "ERR":
		return plog.SeverityNumberError, true
	case "DPANIC":
		return plog.SeverityNumberError2, true
	case "ALERT", "PANIC":
		return plog.SeverityNumberError3, true
	case "CRITICAL", "EMERGENCY", "FATAL":
		return plog.SeverityNumberFatal, true
	}
	return plog.SeverityNumberUnspecified, false
}

// textInfo is what a text line's prefix says.
type textInfo struct {
	sev       plog.SeverityNumber
	sevText   string
	requestID string // a request id among the prefix's tokens
}

// maxPrefixTokens bounds how far into a line the level and request id are
// looked for.
const maxPrefixTokens = 6

// scanText finds the level and the request id in the prefix of a text
// line, in the forms Lambda's runtimes and common loggers write:
//
//	2024-01-01T00:00:00.000Z	<requestId>	INFO	message        (Node.js)
//	[INFO]	2024-01-01T00:00:00.000Z	<requestId>	message        (Python)
//	2024-01-01 00:00:00 <requestId> INFO Class - message            (Java)
//	ERROR something                                                 (plain)
//	time=2024-01-01T00:00:00Z level=WARN msg=...                    (slog text)
//	{"level":"warn","msg":"..."}                                    (JSON loggers)
//
// Only the tokens before the message are read: timestamps, dates, request
// ids, and the level word, which must be upper case (so that "Error
// loading" is not taken for a level) unless it is written level=...
func scanText(line string) textInfo {
	var t textInfo
	if strings.HasPrefix(line, "{") {
		t.sev, t.sevText = jsonLevel(line)
		return t
	}
	prefix := line
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	n := 0
	for tok := range strings.FieldsSeq(prefix) {
		if n++; n > maxPrefixTokens {
			break
		}
		tok = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(tok, "["), ":"), "]")
		if k, v, ok := strings.Cut(tok, "="); ok {
			switch strings.ToLower(k) {
			case "level", "lvl", "severity":
				if t.sevText == "" {
					if sev, ok := severityOf(v); ok {
						t.sev, t.sevText = sev, v
					}
				}
				continue
			case "time", "ts", "timestamp":
				continue
			}
			break
		}
		if t.sevText == "" && tok == strings.ToUpper(tok) {
			if sev, ok := severityOf(tok); ok {
				t.sev, t.sevText = sev, tok
				continue
			}
		}
		if isUUID(tok) {
			if t.requestID == "" {
				t.requestID = tok
			}
			continue
		}
		if tok == "undefined" || looksLikeTime(tok) { // Node writes "undefined" outside an invocation
			continue
		}
		break
	}
	return t
}

// jsonLevel reads the level of a line a JSON logger wrote ("level",
// "severity", or pino's numeric level).
func jsonLevel(line string) (plog.SeverityNumber, string) {
	var l struct {
		Level    any    `json:"level"`
		Severity string `json:"severity"`
	}
	if json.Unmarshal([]byte(line), &l) != nil {
		return 0, ""
	}
	switch v := l.Level.(type) {
	case string:
		if sev, ok := severityOf(v); ok {
			return sev, v
		}
	case float64: // pino's numbers
		switch v {
		case 10:
			return plog.SeverityNumberTrace, "TRACE"
		case 20:
			return plog.SeverityNumberDebug, "DEBUG"
		case 30:
			return plog.SeverityNumberInfo, "INFO"
		case 40:
			return plog.SeverityNumberWarn, "WARN"
		case 50:
			return plog.SeverityNumberError, "ERROR"
		case 60:
			return plog.SeverityNumberFatal, "FATAL"
		}
	}
	if sev, ok := severityOf(l.Severity); ok {
		return sev, l.Severity
	}
	return 0, ""
}

// isUUID reports whether s has the form of a Lambda request id.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// looksLikeTime reports whether s is a timestamp, date or time of day:
// digits with separators, or an epoch (9 digits or more). A small number
// ("3 ERROR records") is not.
func looksLikeTime(s string) bool {
	digits, separators := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case strings.IndexByte("-:./TZ+,", c) >= 0:
			separators++
		default:
			return false
		}
	}
	return digits > 0 && (separators > 0 || digits >= 9)
}

// platformLog makes a log record for a platform event (START, END,
// REPORT, logs dropped).
func platformLog(e *event, eventName, body string, sev plog.SeverityNumber) plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(e.time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(e.observed))
	lr.SetSeverityNumber(sev)
	lr.SetSeverityText(sev.String())
	lr.SetEventName(eventName)
	lr.Body().SetStr(body)
	lr.Attributes().PutStr(attrLogType, logTypePlatform)
	return lr
}

// startLine, endLine and reportLine are the lines Lambda writes to
// CloudWatch Logs for an invocation.
func startLine(id, version string) string {
	if version == "" {
		return "START RequestId: " + id
	}
	return "START RequestId: " + id + " Version: " + version
}

func endLine(id string) string { return "END RequestId: " + id }

func reportLine(rec *reportRecord) string {
	m := &rec.Metrics
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		rec.RequestID, m.DurationMs, int64(m.BilledDurationMs), int64(m.MemorySizeMB), int64(m.MaxMemoryUsedMB))
	if m.InitDurationMs > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", m.InitDurationMs)
	}
	if m.RestoreDurationMs > 0 {
		fmt.Fprintf(&b, "\tRestore Duration: %.2f ms", m.RestoreDurationMs)
	}
	if rec.Status != "" && rec.Status != statusSuccess {
		fmt.Fprintf(&b, "\tStatus: %s", rec.Status)
		if rec.ErrorType != "" {
			fmt.Fprintf(&b, "\tError Type: %s", rec.ErrorType)
		}
	}
	return b.String()
}
