// Package processor defines what a processor is to the pipeline engine and
// keeps the registry of processor types: a processor type is one package
// that provides a Factory, and one line in the engine's list of factories.
//
// A processor handles the signals it implements (Traces, Metrics, Logs;
// any of them) and may keep state across flushes: the engine makes one
// instance per processor id for the life of the extension, calls it for
// every batch of a pipeline that lists it, and, if it implements
// FlushEnder, once at the end of every flush.
//
// A processor that decides on whole invocations (tail sampling) implements
// InvocationEnder: the engine tells it of every finished invocation before
// it hands it the data of the flush that exports that invocation's data,
// and a processor that keeps items across flushes implements Holder, so
// that what it holds counts against the pipeline's buffer and is not
// mistaken for what it removed.
package processor

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Processor is an instance of a processor type: a value that implements
// one or more of Traces, Metrics and Logs, and optionally FlushEnder.
type Processor any

// Traces processes the spans of a flush, in place.
type Traces interface {
	ProcessTraces(ctx context.Context, td ptrace.Traces) error
}

// Metrics processes the metrics of a flush, in place.
type Metrics interface {
	ProcessMetrics(ctx context.Context, md pmetric.Metrics) error
}

// Logs processes the log records of a flush, in place.
type Logs interface {
	ProcessLogs(ctx context.Context, ld plog.Logs) error
}

// FlushEnder is implemented by a processor that keeps state across
// flushes: EndFlush is called once every pipeline of a flush was
// processed; final is set for the last flush, at shutdown.
type FlushEnder interface {
	EndFlush(final bool)
}

// SignalChecker is implemented by a processor whose options hold for
// some signals only (an include block that names span names, say, means
// nothing to metrics): the engine calls CheckSignal for every pipeline
// the processor is in, and refuses the configuration with its error.
type SignalChecker interface {
	CheckSignal(signal string) error
}

// Invocation is what is known of a finished invocation when it ended: the
// Telemetry API's platform.runtimeDone (or, without one, platform.report),
// joined with the function's own root span.
type Invocation struct {
	// RequestID is the invocation's request id (faas.invocation_id).
	RequestID string
	// TraceID is the trace of the invocation: the trace of the function's
	// root span, which the platform's invocation span joins; else the
	// trace the platform span started. Empty if not known.
	TraceID pcommon.TraceID
	// Status is platform.runtimeDone's status: StatusSuccess, StatusError,
	// StatusTimeout or StatusFailure; "" when no runtimeDone came (the
	// environment shut down or the invocation waited too long), which
	// is not a success.
	Status string
	// ErrorType is Lambda's errorType (e.g. Runtime.ExitError), if any.
	ErrorType string
	// Duration is the runtime's duration (runtimeDone metrics.durationMs);
	// 0 if not known.
	Duration time.Duration
	// ColdStart is set for the first invocation after an init.
	ColdStart bool
}

// The statuses of platform.runtimeDone.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusTimeout = "timeout"
	StatusFailure = "failure"
)

// InvocationEnder is implemented by a processor that needs to know when
// each invocation ended, with its facts: a tail sampler that decides on
// the whole invocation. The engine calls EndInvocation once per finished
// invocation, at the flush that follows the invocation's end and before
// any Process call of that flush, so that the invocation's data, which
// that flush exports, meets its decision.
type InvocationEnder interface {
	EndInvocation(inv Invocation)
	// WholeInvocation reports whether, in a pipeline of signal s, the
	// processor needs every item of an
	// invocation before it can pass any of them on. The engine must then
	// not export that pipeline's data of an invocation before the
	// invocation ended (no early export during the invocation): the
	// processor would hold it anyway.
	WholeInvocation(s pipeline.Signal) bool
}

// Holder is implemented by a processor that keeps items across flushes
// (until it decides on them). Held returns the items and their size
// (bytes, encoded as OTLP) it holds now for the pipeline named: they count
// against that pipeline's buffer, and the engine's count of what the
// processor removed on purpose leaves them out.
type Holder interface {
	Held(pipeline string) (items, bytes int64)
}

// flushKey carries a flush's facts in the context of Process calls.
type flushKey struct{}

// flushInfo is what a Process call's context says of its flush.
type flushInfo struct {
	pipeline string
	release  bool
}

// WithFlush returns ctx for the Process calls of pipeline in a flush;
// release is set when a processor must pass on everything it holds (the
// last flush, at shutdown, or no invocation ends will be told).
func WithFlush(ctx context.Context, pipeline string, release bool) context.Context {
	return context.WithValue(ctx, flushKey{}, flushInfo{pipeline: pipeline, release: release})
}

// PipelineOf returns the id of the pipeline a Process call is for ("" if
// the caller did not say).
func PipelineOf(ctx context.Context) string {
	f, _ := ctx.Value(flushKey{}).(flushInfo)
	return f.pipeline
}

// MustRelease reports whether a processor must pass on, in this Process
// call, everything it holds: the environment is shutting down, or no end
// of invocation will be told. Nothing may stay held and be lost.
func MustRelease(ctx context.Context) bool {
	f, _ := ctx.Value(flushKey{}).(flushInfo)
	return f.release
}

// Counter is a count a processor reports in the extension's own
// telemetry (the shutdown line and the lambdaotel.* metrics).
type Counter struct {
	// Metric is the metric's name, e.g. lambdaotel.sampling.invocations.
	Metric string
	// Description and Unit describe the metric.
	Description, Unit string
	// Attributes distinguish data points of one metric, e.g. decision
	// and reason; the shutdown line names a counter by their values,
	// joined with dots.
	Attributes [][2]string
	Value      int64
}

// CounterReporter is implemented by a processor with counters of its own.
type CounterReporter interface {
	Counters() []Counter
}

// Factory makes the processors of one type.
type Factory struct {
	// Type is the type in the configuration, e.g. "attributes".
	Type string
	// Ignored, if set, says why the type is accepted but does nothing;
	// Decode and New are then not used.
	Ignored string
	// Decode reads and validates the options of one processor of this
	// type: value is its node in the configuration (null when no options
	// are given), key the node of its id, path its place in messages
	// ("processors.<id>"). It reports every mistake through d, naming
	// the option and the value found, and returns the type's own
	// configuration; what it returns is not used when it reported one.
	Decode func(d Decoder, key, value *yaml.Node, path string) any
	// New makes a processor from what Decode returned.
	New func(cfg any) (Processor, error)
}

// Decoder reads options with the configuration file's rules (aliases and
// merge keys followed, duplicate keys and runaway expansion refused) and
// records each mistake at its line and column in the file.
type Decoder interface {
	// Fields returns the entries of mapping n (null is empty) by key, and
	// reports keys not in known: "<path>: unknown key ...; supported: ...".
	Fields(n *yaml.Node, path string, known []string) map[string]Entry
	// Scalar returns n's single value ("" for null), or reports that n is
	// a list or mapping.
	Scalar(n *yaml.Node, path string) (string, bool)
	// OneOf returns which of allowed n is (any case), or reports it; ""
	// for null.
	OneOf(n *yaml.Node, path string, allowed ...string) string
	// Bool returns n as true or false (any case), or reports it; false
	// for null.
	Bool(n *yaml.Node, path string) bool
	// Duration returns n as a non-negative duration such as 500ms, or
	// reports it; 0 for null.
	Duration(n *yaml.Node, path string) time.Duration
	// List returns the names of sequence n with their nodes, or reports
	// that n is not a list of names; null is empty.
	List(n *yaml.Node, path string) ([]string, []*yaml.Node)
	// Entries returns the pairs of mapping n in order, or reports that n
	// is not a mapping; null is empty.
	Entries(n *yaml.Node, path string) []Entry
	// Getenv reads an environment variable of the process the
	// configuration is for (the one Parse was given).
	Getenv(name string) string
	// Errorf reports a mistake at n.
	Errorf(n *yaml.Node, format string, args ...any)
	// Mistakes counts the mistakes reported so far.
	Mistakes() int
}

// Entry is one key: value pair of a mapping.
type Entry struct {
	Key, Value *yaml.Node
}

// Deref follows aliases.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or null.
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Describe names what n is, for messages: "a mapping", "a list", or its
// quoted value.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register adds a processor type. It panics if the type is registered
// twice or the factory is incomplete: both are mistakes in the program.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if f.Type == "" || (f.Ignored == "" && (f.Decode == nil || f.New == nil)) {
		panic(fmt.Sprintf("processor: incomplete factory for type %q", f.Type))
	}
	if _, dup := factories[f.Type]; dup {
		panic(fmt.Sprintf("processor: type %q registered twice", f.Type))
	}
	factories[f.Type] = f
}

// Lookup returns the factory of a processor type.
func Lookup(typ string) (Factory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := factories[typ]
	return f, ok
}

// Types lists the registered types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for t := range factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// The processor types of the collector that lambdaotel accepts and
// ignores: what they do, it does itself.
func init() {
	for _, f := range []Factory{
		{Type: "batch", Ignored: "lambdaotel flushes at the end of each invocation and bounds its buffer itself"},
		{Type: "decouple", Ignored: "lambdaotel's receivers always answer at once and export after the function responds"},
		{Type: "memory_limiter", Ignored: "lambdaotel bounds its buffer itself (lambdaotel.buffer.max_bytes)"},
		{Type: "coldstart", Ignored: "the cold start is already on the spans: the telemetryapi receiver's invocation span (the one with faas.invocation_id, which the collector's coldstart processor would mark) carries faas.coldstart=true on a cold start, and so does the invocation span of lambdaotel's Go library"},
	} {
		Register(f)
	}
}
