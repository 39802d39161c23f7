package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Invocation and init statuses, as the Telemetry API gives them.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusFailure = "failure"
	StatusTimeout = "timeout"
)

// Report is one line of the sandbox's report: an *InitReport, an
// *InvokeReport or a *ShutdownReport. Encoded as JSON, its "type" field
// says which.
type Report interface {
	// Kind is "init", "invoke" or "shutdown".
	Kind() string
}

// InitReport describes one init phase.
type InitReport struct {
	Type               string    `json:"type"` // "init"
	Time               time.Time `json:"time"`
	InitializationType string    `json:"initializationType"`
	Status             string    `json:"status"`
	ErrorType          string    `json:"errorType,omitempty"`
	ErrorMessage       string    `json:"errorMessage,omitempty"`
	// DurationMs runs from the start of the first extension to the moment
	// the runtime and every extension are ready.
	DurationMs float64 `json:"durationMs"`
	// RuntimeInitMs runs from the start of init to the runtime's first
	// request for an invocation.
	RuntimeInitMs float64           `json:"runtimeInitMs,omitempty"`
	Extensions    []ExtensionReport `json:"extensions"`
}

// ExtensionReport describes one extension's init.
type ExtensionReport struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// ReadyMs runs from the extension's exec to its first event/next.
	ReadyMs   float64 `json:"readyMs"`
	ErrorType string  `json:"errorType,omitempty"`
}

// InvokeReport describes one invocation, like Lambda's REPORT line.
type InvokeReport struct {
	Type             string    `json:"type"` // "invoke"
	Time             time.Time `json:"time"`
	RequestID        string    `json:"requestId"`
	Status           string    `json:"status"`
	ErrorType        string    `json:"errorType,omitempty"`
	DurationMs       float64   `json:"durationMs"`
	BilledDurationMs int64     `json:"billedDurationMs"`
	InitDurationMs   float64   `json:"initDurationMs,omitempty"`
	MemorySizeMB     int       `json:"memorySizeMB"`
	// MaxMemoryUsedMB is the peak resident memory of the environment's
	// processes during the invocation; on Managed Instances, where
	// invocations share the processes, their peak since the init.
	MaxMemoryUsedMB int `json:"maxMemoryUsedMB"`
	// RuntimeMs runs from the start of the invocation to the runtime's response.
	RuntimeMs float64 `json:"runtimeMs"`
	// PostRuntimeMs runs from the runtime's response to the last
	// extension's event/next: the time extensions add to every invocation.
	// It is 0 on Managed Instances, where no extension takes part in an
	// invocation.
	PostRuntimeMs float64 `json:"postRuntimeMs"`
	// AfterRuntimeDoneMs runs from the delivery of the invocation's
	// platform.runtimeDone to a Telemetry API subscriber to the last
	// extension's event/next: the part of PostRuntimeMs an extension that
	// waits for runtimeDone spends on its own work (the rest is the
	// platform's buffering delay). Absent without a subscriber.
	AfterRuntimeDoneMs float64 `json:"afterRuntimeDoneMs,omitempty"`
	// SubscriberErrors counts the batches of Telemetry API events that
	// could not be delivered to a subscriber since the previous report.
	SubscriberErrors int `json:"subscriberErrors,omitempty"`
}

// ShutdownReport describes one shutdown, which ends the environment
// (spindown) or resets it after a timeout or failure.
type ShutdownReport struct {
	Type       string          `json:"type"` // "shutdown"
	Time       time.Time       `json:"time"`
	Reason     string          `json:"reason"`
	DurationMs float64         `json:"durationMs"`
	Runtime    *ProcessReport  `json:"runtime,omitempty"`
	Extensions []ProcessReport `json:"extensions"`
	// SubscriberErrors counts the batches of Telemetry API events that
	// could not be delivered to a subscriber since the previous report.
	SubscriberErrors int `json:"subscriberErrors,omitempty"`
}

// ProcessReport says when a process stopped during a shutdown.
type ProcessReport struct {
	Name      string  `json:"name"`
	StoppedMs float64 `json:"stoppedMs"`
	Killed    bool    `json:"killed"`
	Exit      string  `json:"exit,omitempty"`
}

func (*InitReport) Kind() string     { return "init" }
func (*InvokeReport) Kind() string   { return "invoke" }
func (*ShutdownReport) Kind() string { return "shutdown" }

// line is Lambda's REPORT log line. On Managed Instances (managed) it
// gives the duration only: billing and memory belong to the instance,
// not to one invocation.
func (r *InvokeReport) line(managed bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\t", r.RequestID, r.DurationMs)
	if !managed {
		fmt.Fprintf(&b, "Billed Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
			r.BilledDurationMs, r.MemorySizeMB, r.MaxMemoryUsedMB)
		if r.InitDurationMs > 0 {
			fmt.Fprintf(&b, "Init Duration: %.2f ms\t", r.InitDurationMs)
		}
	}
	if r.Status != StatusSuccess && r.Status != StatusError {
		fmt.Fprintf(&b, "Status: %s\t", r.Status)
		if r.ErrorType != "" {
			fmt.Fprintf(&b, "Error Type: %s\t", r.ErrorType)
		}
	}
	return b.String()
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// threeDecimals is a duration in milliseconds that is written in JSON with
// three decimals, as schema 2025-01-29 writes platform.report's.
type threeDecimals float64

func (d threeDecimals) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d), 'f', 3, 64)), nil
}

// billed is Lambda's billed duration: the duration rounded up to the millisecond.
func billed(durationMs float64) int64 {
	return int64(math.Ceil(durationMs))
}

func errorJSON(fe *FunctionError) []byte {
	return mustJSON(fe)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sandbox: encode %T: %v", v, err))
	}
	return b
}
