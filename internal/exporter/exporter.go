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

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory makes the exporters of one type.
type Factory struct {
	// Type is the type in the configuration, e.g. "otlphttp".
	Type string
	// Aliases are other names of the type: the collector's newer or
	// older names.
	Aliases []Alias
	// Signals are the signals the type exports; nil means all three. A
	// pipeline of another signal naming such an exporter is refused.
	Signals []pipeline.Signal
	// Decode reads and checks the options of one exporter of this type:
	// value is its node in the configuration (null when no options are
	// given), key the node of its id, path its place in messages
	// ("exporters.<id>"). It reports every mistake through d and returns
	// the type's own configuration (a pointer to it).
	Decode func(d Decoder, key, value *yaml.Node, path string) any
	// New makes an exporter named id from what Decode returned.
	New func(id string, cfg any, s Settings) (pipeline.Exporter, error)
}

// Alias is another name of an exporter type.
type Alias struct {
	// Name is the other name, e.g. "otlp_http".
	Name string
	// Note, if set, is warned about when the alias is used:
	// "exporter <id>: <note>".
	Note string
}

// Describer is implemented by an exporter type's configuration (what its
// Decode returns): Describe is the exporter's line in `config check`'s
// summary, for the signals of the pipelines that use it. (A method rather
// than a field of Factory, so that a program that never prints the
// summary does not carry it.)
type Describer interface {
	Describe(signals []pipeline.Signal) string
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
	// Auth reads an auth option ({authenticator: ID}), records it as the
	// exporter's authenticator (checked against the extensions section)
	// and returns its id; "" when e is absent.
	Auth(e processor.Entry, path string) string
	// HTTPURL returns an http(s) URL with a host, or reports it; "" when
	// e is absent.
	HTTPURL(e processor.Entry, path string) string
	// Headers returns a mapping of HTTP header names to values.
	Headers(n *yaml.Node, path string) map[string]string
}

// IgnoredKeys are the exporter keys of the collector that are accepted
// and ignored, and why.
var IgnoredKeys = map[string]string{
	"retry_on_failure": "lambdaotel exports within each invocation's flush budget and handles failed batches itself",
	"sending_queue":    "lambdaotel buffers data itself (lambdaotel.buffer.max_bytes)",
}

// factories are the registered types, in the order registered. Register
// is called from init functions only, before anything reads the list.
var factories []Factory

// Register adds an exporter type; it is called from init functions. It panics if a type or alias is
// registered twice or the factory is incomplete: both are mistakes in the
// program.
func Register(f Factory) {
	if f.Type == "" || f.Decode == nil || f.New == nil {
		panic(fmt.Sprintf("exporter: incomplete factory for type %q", f.Type))
	}
	names := []string{f.Type}
	for _, a := range f.Aliases {
		names = append(names, a.Name)
	}
	for _, name := range names {
		if t, _ := canonical(name); t != "" {
			panic(fmt.Sprintf("exporter: type or alias %q registered twice", name))
		}
	}
	factories = append(factories, f)
}

// Lookup returns the factory of an exporter type.
func Lookup(typ string) (Factory, bool) {
	for _, f := range factories {
		if f.Type == typ {
			return f, true
		}
	}
	return Factory{}, false
}

// Canonical returns the type an alias names, and the note to warn about;
// a name that is no alias is returned as it is.
func Canonical(name string) (typ, note string) {
	if t, note := canonical(name); t != "" && t != name {
		return t, note
	}
	return name, ""
}

// canonical returns the type name is or is an alias of, with the alias's
// note; "" if none.
func canonical(name string) (typ, note string) {
	for _, f := range factories {
		if f.Type == name {
			return f.Type, ""
		}
		for _, a := range f.Aliases {
			if a.Name == name {
				return f.Type, a.Note
			}
		}
	}
	return "", ""
}

// Types lists the registered types in the order they were registered.
func Types() []string {
	out := make([]string, len(factories))
	for i, f := range factories {
		out[i] = f.Type
	}
	return out
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
