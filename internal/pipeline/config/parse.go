package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/configsource"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Parse reads a configuration in the collector's YAML layout. filename is
// used in error messages and as Config.Source. getenv (os.Getenv if nil)
// resolves ${env:VAR} references and the LAMBDAOTEL_FLUSH_BUDGET and
// LAMBDAOTEL_LOG_LEVEL overrides. All problems found are returned together,
// ordered by line: one *Error, or several joined with errors.Join.
func Parse(data []byte, filename string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{File: filename, Message: fmt.Sprintf(
			"the configuration is larger than the limit of %d bytes (a configuration is a few KB)", MaxFileBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(filename, err)
	}
	p := &parser{file: filename, getenv: getenv, usedEnv: map[string]bool{}}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root == nil || isNull(root) {
		return nil, &Error{File: filename, Message: "the configuration is empty; it needs receivers, exporters and service.pipelines"}
	}
	p.expandTree(root, map[*yaml.Node]bool{})
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	cfg := p.config(root)
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	cfg.Source = filename
	cfg.Warnings = append(cfg.Warnings, p.warnings...)
	cfg.Secrets = p.secrets
	for _, name := range exporterEnvNames {
		if getenv(name) != "" && !p.usedEnv[name] {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s is set but not used: the configuration comes from %s; reference it there as ${env:%s} or remove it", name, filename, name))
		}
	}
	if err := applyEnv(&cfg.Settings, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) }) // compiled at first use: start-up is cold start

// yamlParserErrors are the messages of the YAML parser (as opposed to its
// scanner). For them the yaml package reports a 0-based line: that of the
// construct being parsed (where a bracket was opened, say), or of the
// problem.
var yamlParserErrors = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError turns a YAML parser error into an *Error with the line.
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserErrors[m[2]] {
			line++
		}
		return &Error{File: file, Line: line, Message: "invalid YAML: " + m[2], Err: err}
	}
	return &Error{File: file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "), Err: err}
}

// Limits that keep a bad configuration from holding up init (Lambda gives
// it 10 s) or taking the memory of the function.
const (
	// MaxFileBytes is the largest configuration file read.
	MaxFileBytes = 256 << 10
	// MaxExpansion bounds the key: value pairs that reading mappings
	// through aliases and merge keys (<<) yields in all: merges nested n
	// deep that each merge the level below twice yield 2^n.
	MaxExpansion = 100_000
	// maxErrors bounds the errors reported for one file.
	maxErrors = 50
)

// parser walks the YAML tree, collecting errors and warnings.
type parser struct {
	expanded   int  // key: value pairs entries returned
	overExpand bool // MaxExpansion was reached and reported
	file       string
	getenv     func(string) string
	errs       []*Error
	warnings   []string
	usedEnv    map[string]bool        // variables referenced by ${...}
	levelSet   bool                   // lambdaotel.log_level was given
	exts       declared               // the extensions section's ids
	authRefs   map[string]*yaml.Node  // exporter id → its auth.authenticator node
	sources    *configsource.Resolver // ${secretsmanager:...} and ${ssm:...}, made at first use
	secrets    []string               // the values sources resolved
	warnedBare map[string]bool        // $NAME references already warned about
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

func (p *parser) pos(n *yaml.Node) Position {
	return Position{File: p.file, Line: n.Line, Column: n.Column}
}

// err returns the collected errors ordered by position: the only one
// itself, or several joined.
func (p *parser) err() error {
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	if len(p.errs) == 1 {
		return p.errs[0]
	}
	errs := make([]error, 0, min(len(p.errs), maxErrors+1))
	for _, e := range p.errs[:min(len(p.errs), maxErrors)] {
		errs = append(errs, e)
	}
	if n := len(p.errs) - maxErrors; n > 0 {
		errs = append(errs, &Error{File: p.file, Message: fmt.Sprintf("and %d more errors", n)})
	}
	return errors.Join(errs...)
}

// entry is one key: value pair of a mapping.
type entry struct {
	key, val *yaml.Node
}

// The YAML helpers are the processor decoder's, so that processors and the
// rest of the configuration read YAML alike.
var (
	deref    = processor.Deref
	isNull   = processor.IsNull
	describe = processor.Describe
)

// entries returns the pairs of mapping n, following aliases and merge keys
// (<<). A null or absent n is an empty mapping. Duplicate keys are errors.
func (p *parser) entries(n *yaml.Node, path string) []entry {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping (key: value), got %s", path, describe(n))
		return nil
	}
	if p.expanded += len(n.Content) / 2; p.expanded > MaxExpansion {
		if !p.overExpand {
			p.overExpand = true
			p.errorf(n, "%s: aliases and merge keys (<<) expand to more than %d keys; the limit keeps a configuration from growing exponentially", path, MaxExpansion)
		}
		return nil
	}
	var out []entry
	first := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain value, got %s", path, describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if prev, ok := first[k.Value]; ok {
			p.errorf(k, "%s: key %q is defined twice (first at line %d)", path, k.Value, prev.Line)
			continue
		}
		first[k.Value] = k
		out = append(out, entry{k, v})
	}
	for _, m := range merges {
		m = deref(m)
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			for _, e := range p.entries(src, path) {
				if _, ok := first[e.key.Value]; !ok {
					first[e.key.Value] = e.key
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// fields returns the pairs of mapping n by key. Keys in ignored are
// accepted with a warning (the map's value says why); other keys not in
// known are errors. A known key written "~key" is accepted but not listed
// as supported (an old spelling read for compatibility).
func (p *parser) fields(n *yaml.Node, path string, known []string, ignored map[string]string) map[string]entry {
	out := map[string]entry{}
	for _, e := range p.entries(n, path) {
		k := e.key.Value
		if contains(known, k) || contains(known, "~"+k) {
			out[k] = e
			continue
		}
		if why, ok := ignored[k]; ok {
			p.warnf("%s.%s: accepted and ignored: %s", path, k, why)
			continue
		}
		listed := make([]string, 0, len(known))
		for _, x := range known {
			if !strings.HasPrefix(x, "~") {
				listed = append(listed, x)
			}
		}
		if path == "" {
			p.errorf(e.key, "unknown top-level section %q; supported: %s", k, strings.Join(listed, ", "))
		} else {
			p.errorf(e.key, "%s: unknown key %q; supported: %s", path, k, strings.Join(listed, ", "))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns the scalar value of n ("" for null), or reports that n is
// not a single value.
func (p *parser) scalar(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s: expected a single value, got %s", path, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, path string) bool {
	s, ok := p.scalar(n, path)
	if !ok || s == "" {
		return false
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	p.errorf(deref(n), "%s: expected true or false, got %q", path, s)
	return false
}

func (p *parser) integer(n *yaml.Node, path string, min, max int64) int64 {
	s, ok := p.scalar(n, path)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < min || v > max {
		p.errorf(deref(n), "%s: expected a whole number from %d to %d, got %q", path, min, max, s)
		return 0
	}
	return v
}

func (p *parser) duration(n *yaml.Node, path string) time.Duration {
	s, ok := p.scalar(n, path)
	if !ok || s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.errorf(deref(n), "%s: invalid duration %q; use a number with a unit, e.g. 500ms or 5s", path, s)
		return 0
	}
	return d
}

// oneOf returns the value of n, which must be one of allowed (compared
// without case); "" when n is null.
func (p *parser) oneOf(n *yaml.Node, path string, allowed ...string) string {
	s, ok := p.scalar(n, path)
	if !ok || s == "" {
		return ""
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	p.errorf(deref(n), "%s: unsupported value %q; supported: %s", path, s, strings.Join(allowed, ", "))
	return ""
}

// list returns the items of sequence n with their nodes; null is empty.
func (p *parser) list(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	n = deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: expected a list, e.g. [a, b], got %s", path, describe(n))
		return nil, nil
	}
	var vals []string
	var nodes []*yaml.Node
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.errorf(item, "%s: expected a name, got %s", path, describe(item))
			continue
		}
		vals = append(vals, item.Value)
		nodes = append(nodes, item)
	}
	return vals, nodes
}

// headers returns a mapping of header names to single values.
func (p *parser) headers(n *yaml.Node, path string) map[string]string {
	es := p.entries(n, path)
	if len(es) == 0 {
		return nil
	}
	m := make(map[string]string, len(es))
	for _, e := range es {
		if !isToken(e.key.Value) {
			p.errorf(e.key, "%s: invalid header name %q", path, e.key.Value)
			continue
		}
		if v, ok := p.scalar(e.val, path+"."+e.key.Value); ok {
			m[e.key.Value] = v
		}
	}
	return m
}

// Component types, by section.
var (
	receiverTypes = []string{"otlp", "telemetryapi"}
	// typeHints help with names users of the collector commonly write:
	// what to use instead, after the list of supported types.
	typeHints = map[string]string{
		"receivers telemetryapireceiver":   `; the Telemetry API receiver's type is "telemetryapi"`,
		"exporters logzio":                 `; vendors' own exporters are not built in: send OTLP to the vendor's OTLP endpoint with otlphttp (or otlp) and its token in a header`,
		"processors tail_sampling":         `; tail sampling needs a collector that sees whole traces: run it behind the exporter`,
		"processors metricstransform":      `; rename metrics in the function's SDK (views) or in a collector behind the exporter`,
		"processors awsapplicationsignals": `; it prepares spans and metrics for CloudWatch Application Signals (the CloudWatch agent's version cuts their cardinality by keep/drop/replace rules before awsemf and awsxray; collector-contrib's is still a no-op), and lambdaotel makes no Application Signals data: remove it`,
		"exporters awsapplicationsignals":  `; collector-contrib and ADOT have no exporter of this name (the CloudWatch agent sends Application Signals data with awsemf and awsxray): remove it, and send traces with awsxray`,
		"processors k8sattributes":         `; there is no Kubernetes in Lambda: remove it`,
	}
	signalNames = []string{"traces", "metrics", "logs"}
)

var typeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][0-9A-Za-z_]{0,62}$`) }) // compiled at first use: start-up is cold start

// splitID splits "type/name" and checks both parts.
func (p *parser) splitID(key *yaml.Node, section string) (typ, name string, ok bool) {
	id := key.Value
	typ, name, hasName := strings.Cut(id, "/")
	switch {
	case !typeRE().MatchString(typ):
		p.errorf(key, "%s: invalid id %q: the type must start with a letter and hold only letters, digits and _", section, id)
		return "", "", false
	case hasName && strings.TrimSpace(name) == "":
		p.errorf(key, "%s: invalid id %q: the name after \"/\" is empty", section, id)
		return "", "", false
	case hasName && strings.ContainsAny(name, " \t/"):
		p.errorf(key, "%s: invalid id %q: the name after \"/\" must not contain spaces or \"/\"", section, id)
		return "", "", false
	}
	return typ, name, true
}

// component checks a declared component's type, returning the canonical type.
func (p *parser) component(e entry, section string, supported []string) (string, bool) {
	typ, _, ok := p.splitID(e.key, section)
	if !ok {
		return "", false
	}
	note := ""
	if section == "exporters" {
		typ, note = exporter.Canonical(typ)
	}
	if !contains(supported, typ) {
		p.errorf(e.key, "%s: unknown type %q; supported: %s%s", section, typ, strings.Join(supported, ", "), typeHints[section+" "+typ])
		return "", false
	}
	if note != "" {
		p.warnf("exporter %s: %s", e.key.Value, note)
	}
	return typ, true
}

// declared is the set of ids in one section, valid or not, so that a bad
// component is reported once, not again by every pipeline naming it.
type declared map[string]bool

func (d declared) list() string {
	ids := make([]string, 0, len(d))
	for id := range d {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

func (p *parser) config(root *yaml.Node) *Config {
	cfg := &Config{
		Receivers:  map[string]*Receiver{},
		Processors: map[string]*Processor{},
		Exporters:  map[string]*Exporter{},
		Pipelines:  map[string]*Pipeline{},
		Settings:   defaultSettings(),
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the configuration must be a mapping with receivers, exporters and service, got %s", describe(root))
		return cfg
	}
	top := p.fields(root, "", []string{"receivers", "processors", "exporters", "service", "extensions", "connectors", "lambdaotel"}, nil)

	recvs, procs, exps := declared{}, declared{}, declared{}
	for _, e := range p.entries(top["receivers"].val, "receivers") {
		recvs[e.key.Value] = true
		if typ, ok := p.component(e, "receivers", receiverTypes); ok {
			if r := p.receiver(e, typ); r != nil {
				cfg.Receivers[r.ID] = r
			}
		}
	}
	for _, e := range p.entries(top["processors"].val, "processors") {
		procs[e.key.Value] = true
		if typ, ok := p.component(e, "processors", processorTypes()); ok {
			if pr := p.processor(e, typ); pr != nil {
				cfg.Processors[pr.ID] = pr
			}
		}
	}
	for _, e := range p.entries(top["exporters"].val, "exporters") {
		exps[e.key.Value] = true
		if typ, ok := p.component(e, "exporters", exporter.Types()); ok {
			if ex := p.exporter(e, typ); ex != nil {
				cfg.Exporters[ex.ID] = ex
			}
		}
	}
	p.exts = p.extensions(top["extensions"].val, cfg)
	p.checkAuth(cfg, p.exts, p.authRefs)
	p.warnUnsignedAWS(cfg)
	if e, ok := top["connectors"]; ok && !isNull(e.val) {
		p.errorf(e.key, "connectors: not supported by lambdaotel; connect receivers to exporters within each pipeline instead")
	}
	if e, ok := top["lambdaotel"]; ok {
		p.settings(e.val, &cfg.Settings)
	}
	svc, ok := top["service"]
	if !ok {
		p.errorf(root, "service: missing; add service.pipelines with at least one of traces, metrics, logs")
		return cfg
	}
	p.service(svc, cfg, recvs, procs, exps)
	return cfg
}

func (p *parser) receiver(e entry, typ string) *Receiver {
	id := e.key.Value
	path := "receivers." + id
	r := &Receiver{ID: id, Type: typ, Pos: p.pos(e.key)}
	switch typ {
	case "otlp":
		f := p.fields(e.val, path, []string{"protocols"}, nil)
		pe, ok := f["protocols"]
		if !ok {
			p.errorf(e.key, "%s: protocols is required: enable grpc, http or both, e.g. protocols: {grpc: {}, http: {}}", path)
			return nil
		}
		path += ".protocols"
		pf := p.fields(pe.val, path, []string{"grpc", "http"}, nil)
		if len(pf) == 0 {
			p.errorf(pe.key, "%s: enable grpc, http or both, e.g. protocols: {grpc: {}, http: {}}", path)
			return nil
		}
		r.OTLP = &OTLPReceiver{}
		if g, ok := pf["grpc"]; ok {
			gp := path + ".grpc"
			gf := p.fields(g.val, gp, []string{"endpoint", "max_recv_msg_size_mib"}, nil)
			r.OTLP.GRPC = &GRPCServer{
				Endpoint:          p.listenAddr(gf["endpoint"], gp+".endpoint", DefaultGRPCEndpoint),
				MaxRecvMsgSizeMiB: int(p.integer(gf["max_recv_msg_size_mib"].val, gp+".max_recv_msg_size_mib", 0, 4096)),
			}
		}
		if h, ok := pf["http"]; ok {
			hp := path + ".http"
			hf := p.fields(h.val, hp, []string{"endpoint", "max_request_body_size"}, nil)
			r.OTLP.HTTP = &HTTPServer{
				Endpoint:           p.listenAddr(hf["endpoint"], hp+".endpoint", DefaultHTTPEndpoint),
				MaxRequestBodySize: p.integer(hf["max_request_body_size"].val, hp+".max_request_body_size", 0, 1<<40),
			}
		}
	case "telemetryapi":
		r.TelemetryAPI = p.telemetryAPI(e.val, path)
	}
	return r
}

// telemetryAPI decodes a telemetryapi receiver's settings.
func (p *parser) telemetryAPI(n *yaml.Node, path string) *TelemetryAPIReceiver {
	f := p.fields(n, path, []string{"types", "port", "log_report_lines", "temporality", "adopt_xray_parent", "export_unsampled"}, nil)
	t := &TelemetryAPIReceiver{Types: []string{TelemetryPlatform, TelemetryFunction, TelemetryExtension}}
	if e, ok := f["types"]; ok {
		vals, nodes := p.list(e.val, path+".types")
		t.Types = []string{}
		for i, v := range vals {
			switch v {
			case TelemetryPlatform, TelemetryFunction, TelemetryExtension:
				if !t.Has(v) {
					t.Types = append(t.Types, v)
				}
			default:
				p.errorf(nodes[i], "%s.types: unknown type %q; supported: platform, function, extension", path, v)
			}
		}
	}
	t.Port = int(p.integer(f["port"].val, path+".port", 0, 65535))
	t.LogReportLines = p.boolean(f["log_report_lines"].val, path+".log_report_lines")
	t.Cumulative = p.oneOf(f["temporality"].val, path+".temporality", "delta", "cumulative") == "cumulative"
	t.AdoptXRayParent = p.boolean(f["adopt_xray_parent"].val, path+".adopt_xray_parent")
	t.ExportUnsampled = p.boolean(f["export_unsampled"].val, path+".export_unsampled")
	return t
}

// listenAddr checks a receiver's host:port; absent or empty gives def.
func (p *parser) listenAddr(e entry, path, def string) string {
	if e.val == nil {
		return def
	}
	s, ok := p.scalar(e.val, path)
	if !ok {
		return def
	}
	if s == "" {
		return def
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("invalid port %q", port)
		}
	}
	if err == nil && strings.ContainsAny(host, "/ ") {
		err = fmt.Errorf("invalid host %q", host)
	}
	if err != nil {
		p.errorf(deref(e.val), "%s: invalid address %q (%v); use host:port, e.g. %s", path, s, err, def)
		return def
	}
	if !isLoopback(host) {
		p.warnf("%s: %q is not a loopback address: the receiver accepts data from beyond this environment; the function reaches it on 127.0.0.1 (e.g. %s)", path, s, def)
	}
	return s
}

// isLoopback reports whether host names only this machine: localhost or
// a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// processorTypes are the supported processor types: those registered in
// package internal/processor, each of which parses its own options.
func processorTypes() []string { return processor.Types() }

func (p *parser) processor(e entry, typ string) *Processor {
	id := e.key.Value
	pr := &Processor{ID: id, Type: typ, Pos: p.pos(e.key)}
	path := "processors." + id
	f, ok := processor.Lookup(typ)
	if !ok {
		p.errorf(e.key, "%s: type %q is not registered", path, typ)
		return nil
	}
	if f.Ignored != "" {
		p.warnf("processor %s: accepted and ignored: %s", id, f.Ignored)
		return pr
	}
	nerr := len(p.errs)
	opts := f.Decode(&decoder{p: p}, e.key, e.val, path)
	if len(p.errs) > nerr {
		return nil
	}
	if opts == nil {
		opts = struct{}{}
	}
	pr.Options = opts
	return pr
}

// decoder lets a component read its own options with the parser's rules
// (see processor.Decoder and exporter.Decoder); ex is the exporter being
// read, if it is one, whose auth option the parser records.
type decoder struct {
	p  *parser
	ex *Exporter
}

func (d *decoder) Fields(n *yaml.Node, path string, known []string) map[string]processor.Entry {
	out := map[string]processor.Entry{}
	for k, e := range d.p.fields(n, path, known, nil) {
		out[k] = processor.Entry{Key: e.key, Value: e.val}
	}
	return out
}

func (d *decoder) Scalar(n *yaml.Node, path string) (string, bool) { return d.p.scalar(n, path) }

func (d *decoder) OneOf(n *yaml.Node, path string, allowed ...string) string {
	return d.p.oneOf(n, path, allowed...)
}

func (d *decoder) Bool(n *yaml.Node, path string) bool { return d.p.boolean(n, path) }

func (d *decoder) Duration(n *yaml.Node, path string) time.Duration { return d.p.duration(n, path) }

func (d *decoder) List(n *yaml.Node, path string) ([]string, []*yaml.Node) { return d.p.list(n, path) }

func (d *decoder) Entries(n *yaml.Node, path string) []processor.Entry {
	var out []processor.Entry
	for _, e := range d.p.entries(n, path) {
		out = append(out, processor.Entry{Key: e.key, Value: e.val})
	}
	return out
}

func (d *decoder) Getenv(name string) string { return d.p.getenv(name) }

func (d *decoder) Errorf(n *yaml.Node, format string, args ...any) { d.p.errorf(n, format, args...) }

func (d *decoder) Mistakes() int { return len(d.p.errs) }

// Exporter keys accepted for compatibility and ignored.
var ignoredExporterKeys = exporter.IgnoredKeys

// exporter reads an exporter's options with the Decode of its type's
// factory.
func (p *parser) exporter(e entry, typ string) *Exporter {
	id := e.key.Value
	ex := &Exporter{ID: id, Type: typ, Pos: p.pos(e.key)}
	f, ok := exporter.Lookup(typ)
	if !ok {
		p.errorf(e.key, "exporters.%s: type %q is not registered", id, typ)
		return nil
	}
	ex.setOptions(f.Decode(&decoder{p: p, ex: ex}, e.key, e.val, "exporters."+id))
	return ex
}

// httpURL checks an OTLP/HTTP URL; absent gives "".
func (p *parser) httpURL(e entry, path string) string {
	if e.val == nil {
		return ""
	}
	s, ok := p.scalar(e.val, path)
	if !ok {
		return ""
	}
	if msg := otlpexporter.CheckHTTPURL(s); msg != "" {
		p.errorf(deref(e.val), "%s: invalid URL %q: %s", path, pipeline.RedactURL(s), msg)
		return ""
	}
	return s
}

func (p *parser) service(svc entry, cfg *Config, recvs, procs, exps declared) {
	f := p.fields(svc.val, "service", []string{"pipelines", "telemetry", "extensions"}, nil)
	if e, ok := f["extensions"]; ok {
		p.serviceExtensions(e.val)
	}
	if e, ok := f["telemetry"]; ok {
		// The collector's own telemetry has no equivalent, except the log
		// level, which is used unless lambdaotel.log_level says otherwise.
		if logs := findKey(e.val, "logs"); logs != nil {
			if lvl := findKey(logs, "level"); lvl != nil && lvl.Kind == yaml.ScalarNode {
				if l, ok := parseLevel(lvl.Value); ok && !p.levelSet {
					cfg.Settings.LogLevel = l
				}
			}
		}
	}
	pe, ok := f["pipelines"]
	pipes := p.entries(pe.val, "service.pipelines")
	if !ok || len(pipes) == 0 {
		at := svc.key
		if ok {
			at = pe.key
		}
		p.errorf(at, "service.pipelines: no pipelines; add at least one of traces, metrics, logs")
		return
	}
	used := map[string]bool{}
	for _, e := range pipes {
		id := e.key.Value
		typ, _, ok := p.splitID(e.key, "service.pipelines")
		if !ok {
			continue
		}
		if !contains(signalNames, typ) {
			p.errorf(e.key, "service.pipelines: unknown signal %q in pipeline %q; supported: traces, metrics, logs", typ, id)
			continue
		}
		path := "service.pipelines." + id
		pf := p.fields(e.val, path, []string{"receivers", "processors", "exporters"}, nil)
		pl := &Pipeline{ID: id, Signal: pipeline.Signal(typ), Pos: p.pos(e.key)}
		var expNodes []*yaml.Node
		pl.Receivers, _ = p.refs(pf["receivers"], path, "receiver", recvs, used)
		pl.Processors, _ = p.refs(pf["processors"], path, "processor", procs, used)
		pl.Exporters, expNodes = p.refs(pf["exporters"], path, "exporter", exps, used)
		if len(pl.Receivers) == 0 && !p.hasRefs(pf["receivers"]) {
			p.errorf(e.key, "%s: no receivers; a pipeline needs at least one receiver", path)
		}
		if len(pl.Exporters) == 0 && !p.hasRefs(pf["exporters"]) {
			p.errorf(e.key, "%s: no exporters; a pipeline needs at least one exporter", path)
		}
		// Each exporter must export the pipeline's signal, and an otlphttp
		// exporter needs a URL for every signal it exports.
		for i, x := range pl.Exporters {
			p.checkSignal(cfg, pl, x, expNodes[i])
			if ex := cfg.Exporters[x]; ex != nil && ex.OTLPHTTP != nil && ex.OTLPHTTP.HasEndpoint() && ex.OTLPHTTP.URL(pl.Signal) == "" {
				p.errorf(expNodes[i], "%s: exporter %q has no endpoint for %s; set endpoint or %s_endpoint in exporters.%s", path, x, pl.Signal, pl.Signal, x)
			}
		}
		cfg.Pipelines[id] = pl
	}
	for _, kind := range []struct {
		name string
		ids  []string
	}{{"receiver", sortedKeys(cfg.Receivers)}, {"processor", sortedKeys(cfg.Processors)}, {"exporter", sortedKeys(cfg.Exporters)}} {
		for _, id := range kind.ids {
			if !used[kind.name+" "+id] {
				p.warnf("%s %s is declared but not used in any pipeline; it will not run", kind.name, id)
			}
		}
	}
}

// hasRefs reports whether a pipeline list was given with something in it,
// valid or not, so that a bad list is not also reported as an empty one.
func (p *parser) hasRefs(e entry) bool {
	n := deref(e.val)
	return !isNull(n) && !(n.Kind == yaml.SequenceNode && len(n.Content) == 0)
}

// refs checks a pipeline's list of component ids against those declared.
func (p *parser) refs(e entry, path, kind string, decl declared, used map[string]bool) ([]string, []*yaml.Node) {
	if e.val == nil {
		return nil, nil
	}
	listPath := path + "." + kind + "s"
	vals, nodes := p.list(e.val, listPath)
	var out []string
	var outNodes []*yaml.Node
	seen := map[string]bool{}
	for i, id := range vals {
		switch {
		case !decl[id]:
			if len(decl) == 0 {
				p.errorf(nodes[i], "%s: %s %q is not declared; no %ss are declared", path, kind, id, kind)
			} else {
				p.errorf(nodes[i], "%s: %s %q is not declared; declared %ss: %s", path, kind, id, kind, decl.list())
			}
		case seen[id]:
			p.errorf(nodes[i], "%s: %s %q is listed twice", path, kind, id)
		default:
			seen[id] = true
			used[kind+" "+id] = true
			out = append(out, id)
			outNodes = append(outNodes, nodes[i])
		}
	}
	return out, outNodes
}

func sortedKeys[T any](m map[string]T) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// findKey returns the value of key in mapping n, or nil.
func findKey(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// settings decodes the lambdaotel section.
func (p *parser) settings(n *yaml.Node, s *Settings) {
	f := p.fields(n, "lambdaotel", []string{"flush", "buffer", "spill", "self_telemetry", "log_level"}, nil)
	if e, ok := f["flush"]; ok {
		ff := p.fields(e.val, "lambdaotel.flush", []string{"strategy", "budget", "interval"}, nil)
		if v := p.oneOf(ff["strategy"].val, "lambdaotel.flush.strategy", strategyNames()...); v != "" {
			s.Flush.Strategy = Strategy(v)
		}
		if d := p.duration(ff["interval"].val, "lambdaotel.flush.interval"); d > 0 {
			s.Flush.Interval = d
		}
		if b, ok := ff["budget"]; ok && !isNull(b.val) {
			nerr := len(p.errs)
			d := p.duration(b.val, "lambdaotel.flush.budget")
			switch {
			case len(p.errs) > nerr:
			case d <= 0:
				p.errorf(deref(b.val), "lambdaotel.flush.budget: must be more than 0, e.g. 500ms")
			default:
				s.Flush.Budget = d
			}
		}
	}
	if e, ok := f["buffer"]; ok {
		bf := p.fields(e.val, "lambdaotel.buffer", []string{"max_bytes"}, nil)
		if b, ok := bf["max_bytes"]; ok {
			if v, ok := p.scalar(b.val, "lambdaotel.buffer.max_bytes"); ok && v != "" {
				n, err := parseBytes(v)
				if err != nil {
					p.errorf(deref(b.val), "lambdaotel.buffer.max_bytes: %v", err)
				}
				s.Buffer.MaxBytes = n
			}
		}
	}
	if e, ok := f["spill"]; ok {
		sf := p.fields(e.val, "lambdaotel.spill", []string{"enabled", "dir", "max_bytes"}, nil)
		if b, ok := sf["enabled"]; ok && !isNull(b.val) {
			s.Spill.Enabled = p.boolean(b.val, "lambdaotel.spill.enabled")
		}
		if v, ok := p.scalar(sf["dir"].val, "lambdaotel.spill.dir"); ok && v != "" {
			s.Spill.Dir = v
		}
		if v, ok := p.scalar(sf["max_bytes"].val, "lambdaotel.spill.max_bytes"); ok && v != "" {
			n, err := parseBytes(v)
			if err != nil {
				p.errorf(deref(sf["max_bytes"].val), "lambdaotel.spill.max_bytes: %v", err)
			}
			s.Spill.MaxBytes = n
		}
	}
	if e, ok := f["self_telemetry"]; ok && !isNull(e.val) {
		s.SelfTelemetry = p.boolean(e.val, "lambdaotel.self_telemetry")
	}
	if e, ok := f["log_level"]; ok && !isNull(e.val) {
		if v, ok := p.scalar(e.val, "lambdaotel.log_level"); ok {
			l, ok := parseLevel(v)
			if !ok {
				p.errorf(deref(e.val), "lambdaotel.log_level: unsupported value %q; supported: debug, info, warn, error", v)
			}
			s.LogLevel = l
			p.levelSet = true
		}
	}
}

// parseLevel parses debug, info, warn (or warning) and error, in any case.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

var bytesRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+)\s*([A-Za-z]*)$`) }) // compiled at first use: start-up is cold start

// parseBytes parses a byte count: a whole number, optionally with a unit
// (B, KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers of 1024).
func parseBytes(s string) (int64, error) {
	m := bytesRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q; use a number of bytes, optionally with a unit, e.g. 67108864 or 64MiB", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	mult := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[strings.ToLower(m[2])]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q; use B, KB, MB, GB, KiB, MiB or GiB", s, m[2])
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}
