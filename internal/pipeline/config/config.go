// Package config reads the extension's configuration: the OpenTelemetry
// Collector's YAML layout (receivers, processors, exporters,
// service.pipelines), restricted to the components lambdaotel implements,
// plus lambdaotel's own optional top-level section "lambdaotel".
//
// Load finds the file the way a Lambda user expects (LAMBDAOTEL_CONFIG,
// then the upstream collector layer's OPENTELEMETRY_COLLECTOR_CONFIG_URI
// and OPENTELEMETRY_COLLECTOR_CONFIG_FILE, then /opt/lambdaotel/config.yaml)
// and falls back to a built-in default driven by LAMBDAOTEL_EXPORTER_OTLP_*
// variables. Every problem found in a file is reported as an *Error that
// names the file, line and column.
//
// Supported components:
//
//	receivers:  otlp, telemetryapi
//	processors: the types registered in package internal/processor, each
//	            of which parses its own options (resource, attributes);
//	            batch, decouple, memory_limiter (accepted and ignored)
//	exporters:  otlp (alias otlp_grpc), otlphttp (alias otlp_http), debug
//	            (alias logging), awsxray (traces only), awsemf and
//	            prometheusremotewrite (metrics only)
//
// Scalar values may use ${env:VAR}, ${VAR} and ${env:VAR:-default}; $$ is a
// literal $. A variable that is set to the empty string counts as unset.
package config

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/awsemfexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/debugexporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
)

// Config is a validated configuration. Every pipeline names only declared
// components; components that no pipeline uses are kept (with a warning)
// but should not be started.
type Config struct {
	// Source says where the configuration came from: the file's path, or
	// DefaultSource for the built-in default.
	Source string

	// Receivers, Processors and Exporters hold every declared component,
	// keyed by its id ("otlp", "otlphttp/backend").
	Receivers  map[string]*Receiver
	Processors map[string]*Processor
	Exporters  map[string]*Exporter

	// Pipelines holds service.pipelines, keyed by pipeline id ("traces",
	// "logs/platform"). PipelinesFor gives them per signal, in order.
	Pipelines map[string]*Pipeline

	// Extensions holds the declared authenticator extensions, keyed by id;
	// nil when there are none.
	Extensions map[string]*Extension

	// Settings is the "lambdaotel" section, with defaults and environment
	// overrides applied.
	Settings Settings

	// Warnings are notes for the extension's log: settings that were
	// accepted but have no effect, components declared but unused, and a
	// missing backend in the default configuration.
	Warnings []string

	// Secrets are the values resolved from ${secretsmanager:...} and
	// ${ssm:...} references, for the extension to keep out of its logs.
	Secrets []string
}

// DefaultSource is Config.Source for the built-in default configuration.
const DefaultSource = "built-in default (LAMBDAOTEL_EXPORTER_OTLP_*)"

// Position is a place in a configuration file. Line and Column start at 1;
// zero means unknown.
type Position struct {
	File   string
	Line   int
	Column int
}

// String formats the position as file:line:column, leaving out what is unknown.
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// Error is a problem with the configuration, located in its file when the
// place is known.
type Error struct {
	File    string // the file's path, or an environment variable's name
	Line    int    // 1-based; 0 when the error concerns the whole file
	Column  int    // 1-based; 0 when unknown
	Message string
	Err     error // the underlying error, if any (e.g. fs.ErrNotExist)
}

// Error formats the error as "file:line:col: message".
func (e *Error) Error() string {
	pos := Position{File: e.File, Line: e.Line, Column: e.Column}.String()
	if pos == "" {
		return e.Message
	}
	return pos + ": " + e.Message
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Receiver is a declared receiver. Exactly one of the type-specific fields
// is set, according to Type.
type Receiver struct {
	ID   string // as declared, e.g. "otlp/app"
	Type string // "otlp" or "telemetryapi"
	Pos  Position

	OTLP         *OTLPReceiver
	TelemetryAPI *TelemetryAPIReceiver
}

// OTLPReceiver configures the OTLP receiver. A nil protocol is off.
type OTLPReceiver struct {
	GRPC *GRPCServer
	HTTP *HTTPServer
}

// Default receiver endpoints. They are loopback only: the function's SDK
// sends from the same sandbox.
const (
	DefaultGRPCEndpoint = "127.0.0.1:4317"
	DefaultHTTPEndpoint = "127.0.0.1:4318"
)

// GRPCServer configures the OTLP/gRPC server (protocols.grpc).
type GRPCServer struct {
	Endpoint string // host:port
	// MaxRecvMsgSizeMiB limits a request's size; 0 means the server's default.
	MaxRecvMsgSizeMiB int
}

// HTTPServer configures the OTLP/HTTP server (protocols.http).
type HTTPServer struct {
	Endpoint string // host:port
	// MaxRequestBodySize limits a request body in bytes; 0 means the
	// server's default.
	MaxRequestBodySize int64
}

// Telemetry API event types a telemetryapi receiver can subscribe to.
const (
	TelemetryPlatform  = "platform"
	TelemetryFunction  = "function"
	TelemetryExtension = "extension"
)

// TelemetryAPIReceiver configures the receiver that turns Lambda Telemetry
// API events into telemetry. New options belong here.
type TelemetryAPIReceiver struct {
	// Types lists the event types to turn into telemetry, in the order
	// given: "platform", "function", "extension". Default: all three.
	Types []string
	// Port is the port to receive Telemetry API deliveries on; 0 lets the
	// extension choose. Accepted for compatibility with the upstream layer.
	Port int
	// LogReportLines also turns the platform's START, END and REPORT into
	// log records (log_report_lines; default false).
	LogReportLines bool
	// Cumulative makes the platform metrics cumulative (temporality:
	// cumulative); the default is delta, since environments come and go.
	Cumulative bool
	// AdoptXRayParent makes the invocation span a child of Lambda's X-Ray
	// trace header (adopt_xray_parent; default false: the span starts its
	// own trace and links to the X-Ray context). For backends that
	// receive X-Ray's own spans, i.e. AWS X-Ray.
	AdoptXRayParent bool
	// ExportUnsampled exports invocation spans of traces that are not
	// sampled (export_unsampled; default false).
	ExportUnsampled bool
}

// Has reports whether t is among the receiver's types.
func (r *TelemetryAPIReceiver) Has(t string) bool {
	for _, x := range r.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Processor is a declared processor of a type registered in package
// internal/processor. Options is that type's own configuration (what its
// factory's Decode returned); it is nil for the types registered as
// ignored (batch, decouple, memory_limiter), accepted for compatibility.
type Processor struct {
	ID   string
	Type string
	Pos  Position

	// Options is the type's own configuration.
	Options any
}

// Ignored reports whether the processor is accepted but does nothing.
func (p *Processor) Ignored() bool { return p.Options == nil }

// Action is what a HeaderAction does.
type Action string

// The supported actions.
const (
	Insert Action = "insert" // set the key if it is absent
	Update Action = "update" // set the key if it is present
	Upsert Action = "upsert" // set the key
	Delete Action = "delete" // remove the key
)

// Exporter is a declared exporter. Exactly one of the type-specific fields
// is set, according to Type.
type Exporter struct {
	ID   string // as declared, e.g. "otlphttp/backend" or "otlp_http"
	Type string // canonical type: "otlp", "otlphttp", "debug", "awsxray", "awsemf" or "prometheusremotewrite"
	Pos  Position
	// Auth is the id of the extension that authenticates the exporter's
	// requests (auth: {authenticator: ID}), or "".
	Auth string

	// The options of the built-in types, by type; read them through
	// Config. A type without a field here keeps its options in Options.
	OTLP                  *OTLPExporter
	OTLPHTTP              *OTLPHTTPExporter
	Debug                 *DebugExporter
	AWSXRay               *AWSXRayExporter
	AWSEMF                *awsemfexporter.Config
	PrometheusRemoteWrite *PrometheusRemoteWriteExporter
	// Options are the options of a type without a field above, as its
	// factory's Decode returned them (see package exporter).
	Options any
}

// Compression values after normalisation.
const (
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// TLS configures a client's TLS (the OTLP clients' settings, which the
// other HTTP exporters share). The zero value verifies the server with the
// system's roots; Insecure turns TLS off for an otlp (gRPC) endpoint given
// without a scheme and has no effect on URLs.
type TLS = otlpexporter.TLSConfig

// OTLPExporter configures the OTLP/gRPC exporter (the otlp type's
// options, which its package parses).
type OTLPExporter = otlpexporter.GRPCOptions

// DefaultOTLPTimeout is the otlp exporter's timeout when none is given (the
// collector's default).
const DefaultOTLPTimeout = otlpexporter.DefaultGRPCTimeout

// OTLPHTTPExporter configures the OTLP/HTTP exporter (the otlphttp type's
// options, which its package parses).
type OTLPHTTPExporter = otlpexporter.HTTPOptions

// DefaultOTLPHTTPTimeout is the otlphttp exporter's timeout when none is
// given (the collector's default).
const DefaultOTLPHTTPTimeout = otlpexporter.DefaultHTTPTimeout

// DebugExporter configures the debug exporter (its package's Config).
type DebugExporter = debugexporter.Config

// Pipeline is one entry of service.pipelines. The lists hold component ids
// in the order written; Processors may name ignored processors.
type Pipeline struct {
	ID         string // "traces", "traces/backend", ...
	Signal     pipeline.Signal
	Receivers  []string
	Processors []string
	Exporters  []string
	Pos        Position
}

// Settings is lambdaotel's own section:
//
//	lambdaotel:
//	  flush:
//	    strategy: adaptive
//	    budget: 500ms
//	    interval: 10s
//	  buffer:
//	    max_bytes: 0
//	  spill:
//	    enabled: true
//	    dir: /tmp/lambdaotel-spill
//	    max_bytes: 0
//	  self_telemetry: true
//	  log_level: info
//
// LAMBDAOTEL_FLUSH_STRATEGY, LAMBDAOTEL_FLUSH_BUDGET,
// LAMBDAOTEL_FLUSH_INTERVAL and LAMBDAOTEL_LOG_LEVEL override the file.
type Settings struct {
	Flush         FlushSettings
	Buffer        BufferSettings
	Spill         SpillSettings
	SelfTelemetry bool
	LogLevel      slog.Level
}

// Strategy says when the extension flushes: one of the Strategy
// constants. The configuration (file or LAMBDAOTEL_FLUSH_STRATEGY) is
// read with ParseStrategy; the extension then decides, in one place, the
// strategy it applies (on Managed Instances always continuous).
type Strategy string

// Flush strategies.
const (
	// StrategyEnd flushes after each invocation's runtimeDone, before the
	// extension asks for the next event.
	StrategyEnd Strategy = "end"
	// StrategyPeriodic flushes at the start of an invocation once Interval
	// has passed since the last flush, while the function runs.
	StrategyPeriodic Strategy = "periodic"
	// StrategyContinuous exports in the background and asks for the next
	// event at once.
	StrategyContinuous Strategy = "continuous"
	// StrategyAdaptive moves between end and periodic with the gaps
	// between invocations.
	StrategyAdaptive Strategy = "adaptive"
)

// strategies lists the strategies, as users see them listed.
var strategies = []Strategy{StrategyAdaptive, StrategyEnd, StrategyPeriodic, StrategyContinuous}

// strategyNames are the strategies' names, in the order of strategies.
func strategyNames() []string {
	out := make([]string, len(strategies))
	for i, s := range strategies {
		out[i] = string(s)
	}
	return out
}

// ParseStrategy returns the strategy named s (any case), or an error
// listing the supported ones.
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range strategies {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", fmt.Errorf("unsupported value %q; supported: %s", s, strings.Join(strategyNames(), ", "))
}

// FlushSettings says when and how long the extension flushes.
type FlushSettings struct {
	// Strategy is one of the Strategy constants (default adaptive).
	Strategy Strategy
	// Budget is the longest a flush may hold the next event: retries stop
	// and what is left goes to the spill queue when it runs out.
	Budget time.Duration
	// Interval is how often the periodic and continuous strategies (and
	// adaptive in its periodic mode) flush.
	Interval time.Duration
}

// SpillSettings configures the queue on disk for data that could not be
// sent within the budget.
type SpillSettings struct {
	// Enabled turns the queue on (default true).
	Enabled bool
	// Dir is the queue's directory (default under /tmp).
	Dir string
	// MaxBytes bounds the queue; 0 is the spill package's default.
	MaxBytes int64
}

// BufferSettings bounds the in-memory buffer.
type BufferSettings struct {
	// MaxBytes limits the buffer; 0 means derive it from the function's
	// memory size.
	MaxBytes int64
}

// DefaultFlushBudget is Settings.Flush.Budget when none is given.
const DefaultFlushBudget = 500 * time.Millisecond

// DefaultFlushInterval is Settings.Flush.Interval when none is given.
const DefaultFlushInterval = 10 * time.Second

// defaultSettings returns the settings before the file and the environment.
func defaultSettings() Settings {
	return Settings{
		Flush:         FlushSettings{Strategy: StrategyAdaptive, Budget: DefaultFlushBudget, Interval: DefaultFlushInterval},
		Spill:         SpillSettings{Enabled: true},
		SelfTelemetry: true,
		LogLevel:      slog.LevelInfo,
	}
}

// PipelinesFor returns the pipelines of signal s, ordered by id ("traces"
// before "traces/a").
func (c *Config) PipelinesFor(s pipeline.Signal) []*Pipeline {
	var ps []*Pipeline
	for _, p := range c.Pipelines {
		if p.Signal == s {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps
}

// Summary describes, for a person, the pipelines the configuration runs and
// the settings of every component they use. Header values are never shown.
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "configuration: %s\n", c.Source)
	b.WriteString("pipelines:\n")
	used := map[string]bool{}
	for _, s := range pipeline.Signals {
		for _, p := range c.PipelinesFor(s) {
			procs := make([]string, 0, len(p.Processors))
			for _, id := range p.Processors {
				if pr := c.Processors[id]; pr != nil && pr.Ignored() {
					id += " (ignored)"
				}
				procs = append(procs, id)
			}
			chain := strings.Join(p.Receivers, ", ")
			if len(procs) > 0 {
				chain += " -> " + strings.Join(procs, " -> ")
			}
			chain += " -> " + strings.Join(p.Exporters, ", ")
			fmt.Fprintf(&b, "  %s: %s\n", p.ID, chain)
			for _, id := range p.Receivers {
				used["r "+id] = true
			}
			for _, id := range p.Processors {
				used["p "+id] = true
			}
			for _, id := range p.Exporters {
				used["e "+id] = true
			}
		}
	}
	if ids := usedIDs(c.Receivers, used, "r "); len(ids) > 0 {
		b.WriteString("receivers:\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "  %s: %s\n", id, c.Receivers[id].describe())
		}
	}
	if ids := usedIDs(c.Processors, used, "p "); len(ids) > 0 {
		b.WriteString("processors:\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "  %s: %s\n", id, c.Processors[id].describe())
		}
	}
	if ids := usedIDs(c.Exporters, used, "e "); len(ids) > 0 {
		b.WriteString("exporters:\n")
		for _, id := range ids {
			e := c.Exporters[id]
			signals := c.exporterSignals(id)
			d := e.describe(signals)
			if e.Auth != "" {
				d += ", authenticated by " + e.Auth
			}
			fmt.Fprintf(&b, "  %s: %s\n", id, d)
		}
	}
	budget := c.Settings.Flush.Budget
	buf := "derived from the function's memory size"
	if c.Settings.Buffer.MaxBytes > 0 {
		buf = strconv.FormatInt(c.Settings.Buffer.MaxBytes, 10) + " bytes"
	}
	spill := "off"
	if c.Settings.Spill.Enabled {
		spill = "on"
	}
	fmt.Fprintf(&b, "flush: %s, budget %s, interval %s; buffer limit: %s; spill to disk: %s; log level: %s\n",
		c.Settings.Flush.Strategy, budget, c.Settings.Flush.Interval, buf, spill, strings.ToLower(c.Settings.LogLevel.String()))
	if len(c.Warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	return b.String()
}

// exporterSignals lists the signals whose pipelines use exporter id.
func (c *Config) exporterSignals(id string) []pipeline.Signal {
	var out []pipeline.Signal
	for _, s := range pipeline.Signals {
	pipelines:
		for _, p := range c.PipelinesFor(s) {
			for _, e := range p.Exporters {
				if e == id {
					out = append(out, s)
					break pipelines
				}
			}
		}
	}
	return out
}

func usedIDs[T any](m map[string]T, used map[string]bool, prefix string) []string {
	var ids []string
	for id := range m {
		if used[prefix+id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (r *Receiver) describe() string {
	switch {
	case r.OTLP != nil:
		var parts []string
		if g := r.OTLP.GRPC; g != nil {
			s := "grpc " + g.Endpoint
			if g.MaxRecvMsgSizeMiB > 0 {
				s += fmt.Sprintf(" (max %d MiB)", g.MaxRecvMsgSizeMiB)
			}
			parts = append(parts, s)
		}
		if h := r.OTLP.HTTP; h != nil {
			s := "http " + h.Endpoint
			if h.MaxRequestBodySize > 0 {
				s += fmt.Sprintf(" (max %d bytes)", h.MaxRequestBodySize)
			}
			parts = append(parts, s)
		}
		return "OTLP on " + strings.Join(parts, ", ")
	case r.TelemetryAPI != nil:
		if len(r.TelemetryAPI.Types) == 0 {
			return "Lambda Telemetry API events (no types)"
		}
		return "Lambda Telemetry API events: " + strings.Join(r.TelemetryAPI.Types, ", ")
	}
	return r.Type
}

func (p *Processor) describe() string {
	if p.Options == nil {
		return "accepted and ignored"
	}
	if s, ok := p.Options.(fmt.Stringer); ok {
		return s.String()
	}
	return p.Type
}

func (e *Exporter) describe(signals []pipeline.Signal) string {
	if d, ok := e.Config().(exporter.Describer); ok {
		return d.Describe(signals)
	}
	return e.Type
}
