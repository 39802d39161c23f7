package telemetryapireceiver

import (
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

// Records of the platform events, as documented in
// https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
// (schemas 2022-12-13 and 2025-01-29). Numbers are decoded as float64 so
// that an integer written as 84.0 is accepted.

type initStartRecord struct {
	InitializationType string  `json:"initializationType"`
	Phase              string  `json:"phase"`
	RuntimeVersion     string  `json:"runtimeVersion"`
	FunctionName       string  `json:"functionName"`
	FunctionVersion    string  `json:"functionVersion"`
	InstanceID         string  `json:"instanceId"`
	InstanceMaxMemory  float64 `json:"instanceMaxMemory"`
}

// phaseDoneRecord is platform.initRuntimeDone, restoreRuntimeDone,
// initReport and restoreReport.
type phaseDoneRecord struct {
	InitializationType string       `json:"initializationType"`
	Phase              string       `json:"phase"`
	Status             string       `json:"status"`
	ErrorType          string       `json:"errorType"`
	Spans              []spanRecord `json:"spans"`
	Metrics            struct {
		DurationMs float64 `json:"durationMs"`
	} `json:"metrics"`
}

type traceContext struct {
	SpanID string `json:"spanId"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

type startRecord struct {
	RequestID   string        `json:"requestId"`
	Version     string        `json:"version"`
	FunctionARN string        `json:"functionArn"`
	Tracing     *traceContext `json:"tracing"`
}

type runtimeDoneRecord struct {
	RequestID string          `json:"requestId"`
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Metrics   *runtimeMetrics `json:"metrics"`
	Spans     []spanRecord    `json:"spans"`
	Tracing   *traceContext   `json:"tracing"`
}

// runtimeMetrics is platform.runtimeDone's metrics; producedBytes is
// optional (absent when the runtime sent no response, e.g. on a timeout).
type runtimeMetrics struct {
	DurationMs    float64  `json:"durationMs"`
	ProducedBytes *float64 `json:"producedBytes"`
}

type reportRecord struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Metrics   struct {
		DurationMs        float64 `json:"durationMs"`
		BilledDurationMs  float64 `json:"billedDurationMs"`
		MemorySizeMB      float64 `json:"memorySizeMB"`
		MaxMemoryUsedMB   float64 `json:"maxMemoryUsedMB"`
		InitDurationMs    float64 `json:"initDurationMs"`
		RestoreDurationMs float64 `json:"restoreDurationMs"`
	} `json:"metrics"`
	// Spans and Tracing are in the report of schema 2025-01-29 (Lambda
	// Managed Instances), where no platform.runtimeDone is sent.
	Spans   []spanRecord  `json:"spans"`
	Tracing *traceContext `json:"tracing"`
}

type logsDroppedRecord struct {
	DroppedBytes   float64 `json:"droppedBytes"`
	DroppedRecords float64 `json:"droppedRecords"`
	Reason         string  `json:"reason"`
}

// spanRecord is a Telemetry API Span: responseLatency, responseDuration
// (platform.runtimeDone), or any other Lambda adds.
type spanRecord struct {
	Name       string  `json:"name"`
	Start      string  `json:"start"`
	DurationMs float64 `json:"durationMs"`
}

// interval returns the span's start and end; ok is false when its start
// cannot be read.
func (s spanRecord) interval() (start, end time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339Nano, s.Start)
	if err != nil || s.Name == "" {
		return time.Time{}, time.Time{}, false
	}
	return t, t.Add(msDuration(s.DurationMs)), true
}

// msDuration converts Lambda's milliseconds to a Duration.
func msDuration(ms float64) time.Duration {
	if ms <= 0 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// event is one Telemetry API event, decoded. Decoding happens in Consume
// before the receiver's lock is taken.
type event struct {
	typ  string
	time time.Time
	// observed is when the extension received the event: a log record's
	// ObservedTimestamp.
	observed time.Time

	initStart *initStartRecord
	phaseDone *phaseDoneRecord // init/restore RuntimeDone and Report
	start     *startRecord
	done      *runtimeDoneRecord
	report    *reportRecord
	dropped   *logsDroppedRecord

	// function and extension lines
	log     plog.LogRecord
	isLog   bool
	logReq  string // request id in the line
	logJSON bool   // logReq is the JSON format's requestId field
}

// decode decodes ev; ok is false for events the receiver does not use or
// cannot read.
func (r *Receiver) decode(ev *telemetryapi.Event) (e event, ok bool) {
	e.typ, e.time, e.observed = ev.Type, ev.Time, r.now()
	if e.time.IsZero() {
		e.time = e.observed
	}
	var err error
	switch ev.Type {
	case evInitStart, evRestoreStart:
		e.initStart = &initStartRecord{}
		err = json.Unmarshal(ev.Record, e.initStart)
	case evInitRuntimeDone, evRestoreRuntimeDone, evInitReport, evRestoreReport:
		e.phaseDone = &phaseDoneRecord{}
		err = json.Unmarshal(ev.Record, e.phaseDone)
	case evStart:
		e.start = &startRecord{}
		err = json.Unmarshal(ev.Record, e.start)
		if err == nil && e.start.RequestID == "" {
			return e, false
		}
	case evRuntimeDone:
		e.done = &runtimeDoneRecord{}
		err = json.Unmarshal(ev.Record, e.done)
		if err == nil && e.done.RequestID == "" {
			return e, false
		}
	case evReport:
		e.report = &reportRecord{}
		err = json.Unmarshal(ev.Record, e.report)
		if err == nil && e.report.RequestID == "" {
			return e, false
		}
	case evLogsDropped:
		if !r.cfg.Logs {
			return e, false
		}
		e.dropped = &logsDroppedRecord{}
		err = json.Unmarshal(ev.Record, e.dropped)
	case evFunction, evExtension:
		if !r.cfg.Logs {
			return e, false
		}
		return r.decodeLog(ev, e)
	default:
		return e, false
	}
	return e, err == nil
}
