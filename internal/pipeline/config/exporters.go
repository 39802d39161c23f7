package config

import (
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsemfexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsxrayexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/debugexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/prometheusremotewriteexporter"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// exporterFactories are the exporter types, in the order `config check`
// and messages list them. A new exporter type is its own package, with its
// configuration, its parsing and its Factory, and one line here.
var exporterFactories = []exporter.Factory{
	otlpexporter.GRPCFactory,
	otlpexporter.HTTPFactory,
	debugexporter.Factory,
	awsxrayexporter.Factory,
	awsemfexporter.Factory,
	prometheusremotewriteexporter.Factory,
}

func init() {
	for _, f := range exporterFactories {
		exporter.Register(f)
	}
}

func (d *decoder) Options(n *yaml.Node, path string, known []string, ignored map[string]string) map[string]processor.Entry {
	out := map[string]processor.Entry{}
	for k, e := range d.p.fields(n, path, known, ignored) {
		out[k] = processor.Entry{Key: e.key, Value: e.val}
	}
	return out
}

func (d *decoder) Integer(n *yaml.Node, path string, min, max int64) int64 {
	return d.p.integer(n, path, min, max)
}

func (d *decoder) Seq(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.p.errorf(n, "%s: expected a list, got %s", path, describe(n))
		return nil
	}
	return n.Content
}

func (d *decoder) Warnf(format string, args ...any) { d.p.warnf(format, args...) }

func (d *decoder) Auth(e processor.Entry, path string) string {
	d.p.auth(d.ex, entry{e.Key, e.Value}, path)
	return d.ex.Auth
}

func (d *decoder) HTTPURL(e processor.Entry, path string) string {
	return d.p.httpURL(entry{e.Key, e.Value}, path)
}

func (d *decoder) Headers(n *yaml.Node, path string) map[string]string { return d.p.headers(n, path) }

// checkSignal reports a pipeline naming an exporter that does not export
// the pipeline's signal.
func (p *parser) checkSignal(cfg *Config, pl *Pipeline, id string, n *yaml.Node) {
	ex := cfg.Exporters[id]
	if ex == nil {
		return
	}
	f, ok := exporter.Lookup(ex.Type)
	if !ok {
		return
	}
	if exports, only := f.Exports(pl.Signal); !exports {
		p.errorf(n, "service.pipelines.%s: exporter %q (%s) exports %s only; remove it from this %s pipeline", pl.ID, id, ex.Type, only, pl.Signal)
	}
}

// setOptions keeps what the type's Decode returned: in the field of
// Exporter of its type, for the types that have one (code reads their
// options by name), else in Options.
func (e *Exporter) setOptions(v any) {
	if v == nil {
		return
	}
	ev := reflect.ValueOf(e).Elem()
	for i := 0; i < ev.NumField(); i++ {
		if f := ev.Field(i); f.Kind() == reflect.Pointer && f.Type() == reflect.TypeOf(v) {
			f.Set(reflect.ValueOf(v))
			return
		}
	}
	e.Options = v
}

// Config returns the exporter's options as its type's Decode made them
// (a pointer to the type's configuration), nil if none.
func (e *Exporter) Config() any {
	if e.Options != nil {
		return e.Options
	}
	ev := reflect.ValueOf(e).Elem()
	for i := 0; i < ev.NumField(); i++ {
		if f := ev.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return f.Interface()
		}
	}
	return nil
}
