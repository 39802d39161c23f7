// Package processor defines what a processor is to the pipeline engine and
// keeps the registry of processor types: a processor type is one package
// that provides a Factory, and one line in the engine's list of factories.
//
// A processor handles the signals it implements (Traces, Metrics, Logs;
// any of them) and may keep state across flushes: the engine makes one
// instance per processor id for the life of the extension, calls it for
// every batch of a pipeline that lists it, and, if it implements
// FlushEnder, once at the end of every flush.
package processor

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"
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
