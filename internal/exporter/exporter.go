// Package exporter keeps the registry of exporter types: an exporter type
// is one package that provides a Factory (its configuration type, the
// parsing and checking of its options, its line in `config check`'s
// summary and the making of the exporter), and one line in the list of
// factories (package config, exporters.go).
//
// The configuration parser reads an exporter's options with a Decoder (the
// processors' Decoder and a few more helpers), so that every component
// reads YAML alike and reports mistakes at their line in the file.
package exporter

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory makes the exporters of one type.
type Factory struct {
	// Type is the type in the configuration, e.g. "otlphttp".
	Type string
	// Aliases are other names of the type (the collector's newer or
	// older names), each with a note warned about when the alias is used
	// ("exporter <id>: <note>"); "" warns nothing.
	Aliases map[string]string
	// Signals are the signals the type exports; nil means all three. A
	// pipeline of another signal naming such an exporter is refused.
	Signals []pipeline.Signal
	// Decode reads and checks the options of one exporter of this type:
	// value is its node in the configuration (null when no options are
	// given), key the node of its id, path its place in messages
	// ("exporters.<id>"). It reports every mistake through d and returns
	// the type's own configuration (a pointer to it).
	Decode func(d Decoder, key, value *yaml.Node, path string) any
	// Describe is the exporter's line in `config check`'s summary, for
	// the signals of the pipelines that use it.
	Describe func(cfg any, signals []pipeline.Signal) string
	// New makes an exporter named id from what Decode returned.
	New func(id string, cfg any, s Settings) (pipeline.Exporter, error)
}

// Settings is what an exporter may need of the extension besides its own
// configuration.
type Settings struct {
	// Logger is the extension's logger.
	Logger *slog.Logger
	// Getenv reads the extension's environment.
	Getenv func(string) string
	// Wrap, if set, wraps the exporter's HTTP transport with the
	// authenticator its auth option names.
	Wrap func(http.RoundTripper) http.RoundTripper
	// DebugOutput is where the debug exporter writes (the function's log).
	DebugOutput io.Writer
	// EMFOutput is where the awsemf exporter writes its records (stdout).
	EMFOutput io.Writer
}

// Decoder reads an exporter's options with the configuration file's rules
// (see processor.Decoder), with the helpers exporters share.
type Decoder interface {
	processor.Decoder
	// Options is Fields where the keys of ignored are accepted with a
	// warning ("<path>.<key>: accepted and ignored: <why>").
	Options(n *yaml.Node, path string, known []string, ignored map[string]string) map[string]processor.Entry
	// Integer returns n as a whole number from min to max, or reports it;
	// 0 for null.
	Integer(n *yaml.Node, path string, min, max int64) int64
	// Seq returns the items of sequence n, or reports that n is not a
	// list; null is empty.
	Seq(n *yaml.Node, path string) []*yaml.Node
	// Warnf records a warning.
	Warnf(format string, args ...any)
}

// IgnoredKeys are the exporter keys of the collector that are accepted
// and ignored, and why.
var IgnoredKeys = map[string]string{
	"retry_on_failure": "lambdaotel exports within each invocation's flush budget and handles failed batches itself",
	"sending_queue":    "lambdaotel buffers data itself (lambdaotel.buffer.max_bytes)",
}

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
	aliases   = map[string]string{} // alias → type
	types     []string              // in the order registered
)

// Register adds an exporter type. It panics if a type or alias is
// registered twice or the factory is incomplete: both are mistakes in the
// program.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if f.Type == "" || f.Decode == nil || f.Describe == nil || f.New == nil {
		panic(fmt.Sprintf("exporter: incomplete factory for type %q", f.Type))
	}
	if _, dup := factories[f.Type]; dup {
		panic(fmt.Sprintf("exporter: type %q registered twice", f.Type))
	}
	for a := range f.Aliases {
		if _, dup := aliases[a]; dup {
			panic(fmt.Sprintf("exporter: alias %q registered twice", a))
		}
		aliases[a] = f.Type
	}
	factories[f.Type] = f
	types = append(types, f.Type)
}

// Lookup returns the factory of an exporter type.
func Lookup(typ string) (Factory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := factories[typ]
	return f, ok
}

// Canonical returns the type an alias names, and the note to warn about;
// a name that is no alias is returned as it is.
func Canonical(name string) (typ, note string) {
	mu.RLock()
	defer mu.RUnlock()
	if t, ok := aliases[name]; ok {
		return t, factories[t].Aliases[name]
	}
	return name, ""
}

// Types lists the registered types in the order they were registered.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	return append([]string(nil), types...)
}

// Exports reports whether an exporter of factory f exports signal s, and
// if not, names the signals it exports ("traces", "metrics and logs").
func (f Factory) Exports(s pipeline.Signal) (bool, string) {
	if f.Signals == nil {
		return true, ""
	}
	names := make([]string, len(f.Signals))
	for i, x := range f.Signals {
		if x == s {
			return true, ""
		}
		names[i] = string(x)
	}
	return false, strings.Join(names, " and ")
}

// Made returns what a constructor returned as a pipeline.Exporter: nil,
// not a nil pointer of the exporter's type, when it failed.
func Made[E pipeline.Exporter](e E, err error) (pipeline.Exporter, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}
