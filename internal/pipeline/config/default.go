package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
)

// envPrefix starts the variables that configure the default exporter. They
// mean what the standard OTEL_EXPORTER_OTLP_* variables mean; those belong
// to the function's SDK (which keeps sending to the extension on
// localhost) and are never read here.
const envPrefix = "LAMBDAOTEL_EXPORTER_OTLP_"

// envOptions are the options of the OTLP exporter specification; each is
// read as LAMBDAOTEL_EXPORTER_OTLP_<OPTION> and, per signal, as
// LAMBDAOTEL_EXPORTER_OTLP_<SIGNAL>_<OPTION>, which takes precedence.
var envOptions = []string{"ENDPOINT", "HEADERS", "PROTOCOL", "COMPRESSION", "TIMEOUT", "CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE", "INSECURE"}

// exporterEnvNames lists every variable Default reads for its exporter.
var exporterEnvNames = func() []string {
	var names []string
	for _, o := range envOptions {
		names = append(names, envPrefix+o)
		for _, s := range pipeline.Signals {
			names = append(names, envPrefix+strings.ToUpper(string(s))+"_"+o)
		}
	}
	return names
}()

// Defaults of the OTLP exporter specification.
const (
	defaultEnvTimeout  = 10 * time.Second
	defaultEnvProtocol = "http/protobuf"
)

// Default returns the built-in configuration: an otlp receiver (gRPC on
// 127.0.0.1:4317, HTTP on 127.0.0.1:4318) and the telemetryapi receiver
// feeding traces, metrics and logs pipelines, exported as the
// LAMBDAOTEL_EXPORTER_OTLP_* variables say:
//
//	ENDPOINT                  base URL; /v1/traces, /v1/metrics, /v1/logs appended (HTTP)
//	TRACES_ENDPOINT, ...      a signal's URL, used as it is
//	HEADERS                   k=v,k2=v2 with percent-encoded values
//	PROTOCOL                  http/protobuf (default), http/json or grpc
//	COMPRESSION               gzip or none (default)
//	TIMEOUT                   milliseconds per export (default 10000)
//	CERTIFICATE               CA file to verify the backend with
//	CLIENT_CERTIFICATE, CLIENT_KEY   mutual TLS
//	INSECURE                  true: plaintext gRPC to an endpoint without scheme
//
// Every option but ENDPOINT has a per-signal form too
// (LAMBDAOTEL_EXPORTER_OTLP_TRACES_HEADERS, ...), which wins. Signals with
// the same settings share one exporter (otlphttp, or otlp for grpc); when
// settings differ, each group gets its own, named after its signals
// (otlphttp/traces, otlp/metrics_logs). A signal with no endpoint at all goes
// to the debug exporter (basic verbosity), with a warning.
//
// getenv is os.Getenv if nil. LAMBDAOTEL_FLUSH_BUDGET and
// LAMBDAOTEL_LOG_LEVEL apply as in Parse.
func Default(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := strings.TrimSpace(getenv(EnvExporter)); v != "" {
		if !strings.EqualFold(v, "aws") {
			return nil, envError(EnvExporter, "unsupported value %q; supported: aws (X-Ray and CloudWatch over OTLP), or leave it unset and set LAMBDAOTEL_EXPORTER_OTLP_*", v)
		}
		return awsDefault(getenv)
	}
	cfg := &Config{
		Source: DefaultSource,
		Receivers: map[string]*Receiver{
			"otlp": {ID: "otlp", Type: "otlp", OTLP: &OTLPReceiver{
				GRPC: &GRPCServer{Endpoint: DefaultGRPCEndpoint},
				HTTP: &HTTPServer{Endpoint: DefaultHTTPEndpoint},
			}},
			"telemetryapi": {ID: "telemetryapi", Type: "telemetryapi", TelemetryAPI: &TelemetryAPIReceiver{
				Types: []string{TelemetryPlatform, TelemetryFunction, TelemetryExtension},
			}},
		},
		Processors: map[string]*Processor{},
		Exporters:  map[string]*Exporter{},
		Pipelines:  map[string]*Pipeline{},
		Settings:   defaultSettings(),
	}

	// Work out each signal's exporter, then let signals with the same
	// settings share one.
	type group struct {
		key     string
		exp     *Exporter
		signals []pipeline.Signal
	}
	var groups []*group
	var noBackend []pipeline.Signal
	var errs []error
	for _, s := range pipeline.Signals {
		exp, key, serrs := signalExporter(getenv, s)
		if len(serrs) > 0 {
			// Signals share the general variables: report each problem once.
			for _, e := range serrs {
				if !containsError(errs, e) {
					errs = append(errs, e)
				}
			}
			continue
		}
		if exp == nil {
			noBackend = append(noBackend, s)
			continue
		}
		var g *group
		for _, x := range groups {
			if x.key == key {
				g = x
			}
		}
		if g == nil {
			g = &group{key: key, exp: exp}
			groups = append(groups, g)
		} else if h := exp.OTLPHTTP; h != nil {
			// Same settings but each signal keeps its own URL.
			g.exp.OTLPHTTP.Endpoint = firstNonEmpty(g.exp.OTLPHTTP.Endpoint, h.Endpoint)
			g.exp.OTLPHTTP.TracesEndpoint = firstNonEmpty(g.exp.OTLPHTTP.TracesEndpoint, h.TracesEndpoint)
			g.exp.OTLPHTTP.MetricsEndpoint = firstNonEmpty(g.exp.OTLPHTTP.MetricsEndpoint, h.MetricsEndpoint)
			g.exp.OTLPHTTP.LogsEndpoint = firstNonEmpty(g.exp.OTLPHTTP.LogsEndpoint, h.LogsEndpoint)
		}
		g.signals = append(g.signals, s)
	}
	if err := applyEnv(&cfg.Settings, getenv); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	exporterOf := map[pipeline.Signal]string{}
	for _, g := range groups {
		id := g.exp.Type
		if len(groups) > 1 {
			names := make([]string, len(g.signals))
			for i, s := range g.signals {
				names[i] = string(s)
			}
			id += "/" + strings.Join(names, "_")
		}
		g.exp.ID = id
		cfg.Exporters[id] = g.exp
		for _, s := range g.signals {
			exporterOf[s] = id
		}
	}
	if len(noBackend) > 0 {
		cfg.Exporters["debug"] = &Exporter{ID: "debug", Type: "debug", Debug: &DebugExporter{Verbosity: "basic"}}
		for _, s := range noBackend {
			exporterOf[s] = "debug"
		}
		if len(noBackend) == len(pipeline.Signals) {
			cfg.Warnings = append(cfg.Warnings, "no backend is configured: telemetry goes to the debug exporter, which writes a summary to the function's log; "+
				"set LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT to your backend's OTLP endpoint (e.g. https://otlp.example.com:4318) or give a configuration file with LAMBDAOTEL_CONFIG "+
				"(the OTEL_EXPORTER_OTLP_* variables configure the function's SDK and are not read by lambdaotel)")
		} else {
			var names, vars []string
			for _, s := range noBackend {
				names = append(names, string(s))
				vars = append(vars, envPrefix+strings.ToUpper(string(s))+"_ENDPOINT")
			}
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("no backend is configured for %s: it goes to the debug exporter, which writes a summary to the function's log; set %s",
				strings.Join(names, " and "), strings.Join(vars, " or ")))
		}
	}
	for _, s := range pipeline.Signals {
		id := string(s)
		cfg.Pipelines[id] = &Pipeline{
			ID:        id,
			Signal:    s,
			Receivers: []string{"otlp", "telemetryapi"},
			Exporters: []string{exporterOf[s]},
		}
	}
	signAWSEndpoints(cfg)
	return cfg, nil
}

func containsError(errs []error, e error) bool {
	for _, x := range errs {
		if x.Error() == e.Error() {
			return true
		}
	}
	return false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// envError reports a bad value of an environment variable. The value is
// not repeated when it may hold a secret.
func envError(name, format string, args ...any) *Error {
	return &Error{File: name, Message: fmt.Sprintf(format, args...)}
}

// signalExporter builds signal s's exporter from the environment, and a
// key equal for signals that can share one exporter. It returns a nil
// exporter when no endpoint is set for s, and every problem found.
func signalExporter(getenv func(string) string, s pipeline.Signal) (*Exporter, string, []error) {
	sig := strings.ToUpper(string(s))
	// get returns the per-signal variable if set, else the general one.
	get := func(opt string) (string, string) {
		name := envPrefix + sig + "_" + opt
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return name, v
		}
		name = envPrefix + opt
		return name, strings.TrimSpace(getenv(name))
	}
	ownName := envPrefix + sig + "_ENDPOINT"
	own := strings.TrimSpace(getenv(ownName))
	baseName := envPrefix + "ENDPOINT"
	base := strings.TrimSpace(getenv(baseName))
	if own == "" && base == "" {
		return nil, "", nil
	}

	var errs []error
	name, protocol := get("PROTOCOL")
	switch protocol {
	case "":
		protocol = defaultEnvProtocol
	case "http/protobuf", "http/json", "grpc":
	default:
		errs = append(errs, envError(name, "unsupported protocol %q; supported: http/protobuf, http/json, grpc", protocol))
	}
	name, v := get("HEADERS")
	headers, err := parseHeaders(v)
	if err != nil {
		errs = append(errs, envError(name, "%v", err))
	}
	compression := CompressionNone
	if name, v := get("COMPRESSION"); v != "" {
		switch strings.ToLower(v) {
		case "gzip":
			compression = CompressionGzip
		case "none":
		default:
			errs = append(errs, envError(name, "unsupported compression %q; supported: gzip, none", v))
		}
	}
	timeout := defaultEnvTimeout
	if name, v := get("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
			errs = append(errs, envError(name, "invalid timeout %q; give a whole number of milliseconds, e.g. 10000", v))
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	var tls TLS
	_, tls.CAFile = get("CERTIFICATE")
	_, tls.CertFile = get("CLIENT_CERTIFICATE")
	_, tls.KeyFile = get("CLIENT_KEY")
	if (tls.CertFile == "") != (tls.KeyFile == "") {
		errs = append(errs, envError(envPrefix+"CLIENT_CERTIFICATE", "%s and %s go together: set both for mutual TLS, or neither", envPrefix+"CLIENT_CERTIFICATE", envPrefix+"CLIENT_KEY"))
	}
	if name, v := get("INSECURE"); v != "" {
		switch strings.ToLower(v) {
		case "true":
			tls.Insecure = true
		case "false":
		default:
			errs = append(errs, envError(name, "expected true or false, got %q", v))
		}
	}

	exp := &Exporter{}
	if protocol == "grpc" {
		ep, epName := base, baseName
		if own != "" {
			ep, epName = own, ownName
		}
		if msg := otlpexporter.CheckGRPCEndpoint(ep); msg != "" {
			errs = append(errs, envError(epName, "invalid endpoint %q: %s", ep, msg))
		}
		exp.Type = "otlp"
		exp.OTLP = &OTLPExporter{Endpoint: ep, Headers: headers, Compression: compression, Timeout: timeout, TLS: tls}
	} else {
		h := &OTLPHTTPExporter{Headers: headers, Compression: compression, Timeout: timeout, TLS: tls, Encoding: "proto"}
		if protocol == "http/json" {
			h.Encoding = "json"
		}
		if own != "" {
			if msg := otlpexporter.CheckHTTPURL(own); msg != "" {
				errs = append(errs, envError(ownName, "invalid URL %q: %s", own, msg))
			}
			switch s {
			case pipeline.Traces:
				h.TracesEndpoint = own
			case pipeline.Metrics:
				h.MetricsEndpoint = own
			case pipeline.Logs:
				h.LogsEndpoint = own
			}
		} else {
			if msg := otlpexporter.CheckHTTPURL(base); msg != "" {
				errs = append(errs, envError(baseName, "invalid URL %q: %s", base, msg))
			}
			h.Endpoint = base
		}
		exp.Type = "otlphttp"
		exp.OTLPHTTP = h
	}
	if len(errs) > 0 {
		return nil, "", errs
	}
	// Signals share an exporter when everything but their own URL matches.
	key := fmt.Sprintf("%s|%s|%s|%s|%v", protocol, canonicalHeaders(headers), compression, timeout, tls)
	if exp.OTLP != nil {
		key += "|" + exp.OTLP.Endpoint
	}
	return exp, key, nil
}

func canonicalHeaders(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q=%q,", k, h[k])
	}
	return b.String()
}

// parseHeaders parses the OTLP exporter's headers format: comma-separated
// key=value pairs (as in W3C Baggage, without properties), keys trimmed,
// values percent-decoded and trimmed. Values are never echoed in errors:
// they are often secrets.
func parseHeaders(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	h := map[string]string{}
	for i, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("entry %d has no \"=\"; use key=value pairs separated by commas, e.g. api-key=secret,team=a", i+1)
		}
		if !isToken(k) {
			return nil, fmt.Errorf("entry %d: invalid header name %q", i+1, k)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("the value of header %q has invalid percent-encoding", k)
		}
		h[k] = strings.TrimSpace(dv)
	}
	return h, nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// applyEnv applies LAMBDAOTEL_FLUSH_BUDGET (a duration such as 500ms, or
// a whole number of milliseconds), LAMBDAOTEL_FLUSH_STRATEGY,
// LAMBDAOTEL_FLUSH_INTERVAL and LAMBDAOTEL_LOG_LEVEL.
func applyEnv(s *Settings, getenv func(string) string) error {
	var errs []error
	if v := strings.TrimSpace(getenv("LAMBDAOTEL_FLUSH_BUDGET")); v != "" {
		d, err := time.ParseDuration(v)
		if ms, merr := strconv.ParseInt(v, 10, 64); merr == nil {
			d, err = time.Duration(ms)*time.Millisecond, nil
		}
		if err != nil || d <= 0 {
			errs = append(errs, envError("LAMBDAOTEL_FLUSH_BUDGET", "invalid duration %q; use e.g. 500ms or 2s (a bare number is milliseconds)", v))
		} else {
			s.Flush.Budget = d
		}
	}
	if v := strings.TrimSpace(getenv("LAMBDAOTEL_FLUSH_STRATEGY")); v != "" {
		if st, err := ParseStrategy(v); err != nil {
			errs = append(errs, envError("LAMBDAOTEL_FLUSH_STRATEGY", "%v", err))
		} else {
			s.Flush.Strategy = st
		}
	}
	if v := strings.TrimSpace(getenv("LAMBDAOTEL_FLUSH_INTERVAL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, envError("LAMBDAOTEL_FLUSH_INTERVAL", "invalid duration %q; use e.g. 10s", v))
		} else {
			s.Flush.Interval = d
		}
	}
	if v := strings.TrimSpace(getenv("LAMBDAOTEL_LOG_LEVEL")); v != "" {
		if l, ok := parseLevel(v); ok {
			s.LogLevel = l
		} else {
			errs = append(errs, envError("LAMBDAOTEL_LOG_LEVEL", "unsupported value %q; supported: debug, info, warn, error", v))
		}
	}
	return errors.Join(errs...)
}
