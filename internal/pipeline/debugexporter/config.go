package debugexporter

import (
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// Config configures the debug exporter, which writes to stderr (the
// function's log).
type Config struct {
	Verbosity string // "basic" (default), "normal" or "detailed"
}

// Describe is the exporter's line in `config check`'s summary.
func (c *Config) Describe([]pipeline.Signal) string {
	return "stderr (the function's log), verbosity " + c.Verbosity
}

// ignoredKeys are the collector's debug exporter keys accepted and ignored.
var ignoredKeys = map[string]string{
	"sampling_initial":    "the debug exporter writes every batch",
	"sampling_thereafter": "the debug exporter writes every batch",
	"use_internal_logger": "the debug exporter always writes to stderr",
}

// Factory is the debug exporter type, also read under the collector's old
// name "logging".
var Factory = exporter.Factory{
	Type: "debug",
	Aliases: []exporter.Alias{{
		Name: "logging",
		Note: `"logging" is the collector's deprecated name of "debug"; running it as debug (loglevel is mapped onto verbosity)`,
	}},
	Decode: decode,
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		out := s.DebugOutput
		if out == nil {
			out = io.Discard
		}
		e, err := New(id, out, Verbosity(cfg.(*Config).Verbosity))
		if err != nil {
			return nil, err
		}
		return e, nil
	},
}

// decode reads the options of a debug (or logging) exporter.
func decode(d exporter.Decoder, key, value *yaml.Node, path string) any {
	f := d.Options(value, path, []string{"verbosity", "loglevel"}, ignoredKeys)
	v := d.OneOf(f["verbosity"].Value, path+".verbosity", "basic", "normal", "detailed")
	if l, ok := f["loglevel"]; ok {
		// The logging exporter's loglevel: debug printed every item,
		// the other levels a summary line per batch.
		switch lv := d.OneOf(l.Value, path+".loglevel", "debug", "info", "warn", "error"); {
		case v != "":
			d.Warnf("exporter %s: loglevel is ignored: verbosity %s is set", key.Value, v)
		case lv == "debug":
			v = "detailed"
		}
	}
	if v == "" {
		v = "basic"
	}
	return &Config{Verbosity: v}
}
