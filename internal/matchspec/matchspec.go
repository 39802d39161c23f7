// Package matchspec implements the collector's include/exclude matching of
// spans, log records and metrics (the "MatchProperties" of the attributes
// and span processors, and of the filter processor's legacy form), with
// the collector's configuration keys and semantics:
//
//   - match_type is required: strict compares whole strings, regexp
//     matches Go regular expressions anywhere in the string (unanchored,
//     as upstream: anchor with ^ and $ to compare whole values);
//   - every property given must match; within services, span_names,
//     span_kinds, log_bodies, log_severity_texts and metric_names one item
//     of the list is enough;
//   - attributes and resources: every listed key must be present and, when
//     a value is given, equal it (strict, same type) or match it (regexp,
//     against the value as a string; the value must then be a string);
//   - libraries: every listed library must match the scope's name and, when
//     a version is given, its version;
//   - an item is skipped when include is set and does not match it, or
//     when exclude is set and matches it.
//
// Which properties a signal may use follows upstream: spans take services,
// span_names, span_kinds, attributes, resources and libraries; log records
// log_bodies, log_severity_texts, log_severity_number, attributes,
// resources and libraries; metrics metric_names and resources. As
// upstream, a block that names a property of another signal is refused
// in a pipeline of this one (CheckSignal), and so is a block with nothing
// this signal can match on.
package matchspec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Keys are the keys of an include or exclude block.
var Keys = []string{"match_type", "regexp", "services", "span_names", "span_kinds", "log_bodies", "log_severity_texts", "log_severity_number", "metric_names", "attributes", "resources", "libraries"}

// Config is an include and an exclude block; either may be nil.
type Config struct {
	Include, Exclude *Properties
}

// Properties is one include or exclude block.
type Properties struct {
	Regexp bool // match_type: regexp (else strict)

	Services, SpanNames, SpanKinds, LogBodies, LogSeverityTexts, MetricNames *StringSet
	SeverityNumber                                                           *SeverityNumber
	Attributes, Resources                                                    []Attribute
	Libraries                                                                []Library
}

// StringSet matches a string against a list, strictly or by regular
// expressions.
type StringSet struct {
	strict map[string]bool
	res    []*regexp.Regexp
}

// Matches reports whether s matches an item of the set.
func (s *StringSet) Matches(v string) bool {
	if s.strict != nil {
		return s.strict[v]
	}
	for _, re := range s.res {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// Attribute matches one attribute: Key present, and its value equal to
// Value (strict) or matching Pattern (regexp) when either is set.
type Attribute struct {
	Key     string
	Value   any // int64, float64, bool or string; nil: key presence only
	Pattern *regexp.Regexp
}

// Library matches an instrumentation scope by name and, if Version is
// set, by version (an empty version then matches only an empty one).
type Library struct {
	Name    *StringSet
	Version *StringSet
}

// SeverityNumber matches log records whose severity number is at least
// Min; records without one match only if MatchUndefined.
type SeverityNumber struct {
	Min            plog.SeverityNumber
	MatchUndefined bool
}

// Decode reads the include and exclude blocks of f (a processor's fields)
// and reports every mistake through d.
func Decode(d processor.Decoder, f map[string]processor.Entry, path string) Config {
	return DecodeNamed(d, f, path, nil)
}

// DecodeNamed is Decode for blocks that spell properties otherwise (the
// filter processor's logs and metrics blocks): names maps a key of Keys to
// the key written in the block, and only the keys it names are accepted.
// A nil names is Keys as they are.
func DecodeNamed(d processor.Decoder, f map[string]processor.Entry, path string, names map[string]string) Config {
	var c Config
	if e, ok := f["include"]; ok {
		c.Include = decodeProperties(d, e, path+".include", names)
	}
	if e, ok := f["exclude"]; ok {
		c.Exclude = decodeProperties(d, e, path+".exclude", names)
	}
	return c
}

func decodeProperties(d processor.Decoder, e processor.Entry, path string, names map[string]string) *Properties {
	n := processor.Deref(e.Value)
	if processor.IsNull(n) {
		d.Errorf(e.Key, "%s: match_type is required (strict or regexp), with at least one property to match", path)
		return nil
	}
	key, keys := func(k string) string { return k }, Keys
	if names != nil {
		key, keys = func(k string) string { return names[k] }, nil
		for _, k := range Keys {
			if names[k] != "" {
				keys = append(keys, names[k])
			}
		}
	}
	nerr := d.Mistakes()
	raw := d.Fields(n, path, keys)
	if d.Mistakes() > nerr {
		return nil
	}
	// f holds the entries under the names of Keys.
	f := make(map[string]processor.Entry, len(raw))
	for _, k := range Keys {
		if v, ok := raw[key(k)]; ok && key(k) != "" {
			f[k] = v
		}
	}
	p := &Properties{}
	mt, ok := f["match_type"]
	if !ok || processor.IsNull(mt.Value) {
		d.Errorf(e.Key, "%s: match_type is required: strict or regexp", path)
		return nil
	}
	switch d.OneOf(mt.Value, path+".match_type", "strict", "regexp") {
	case "regexp":
		p.Regexp = true
	case "strict":
	default:
		return nil
	}
	if r, ok := f["regexp"]; ok {
		// cacheenabled and cachemaxnumentries tune the collector's cache of
		// match results; matching is the same without it.
		d.Fields(r.Value, path+"."+key("regexp"), []string{"cacheenabled", "cachemaxnumentries"})
	}
	sets := []struct {
		key string
		dst **StringSet
	}{{"services", &p.Services}, {"span_names", &p.SpanNames}, {"span_kinds", &p.SpanKinds}, {"log_bodies", &p.LogBodies}, {"log_severity_texts", &p.LogSeverityTexts}, {"metric_names", &p.MetricNames}}
	for _, s := range sets {
		if v, ok := f[s.key]; ok {
			items, nodes := d.List(v.Value, path+"."+key(s.key))
			if len(items) > 0 {
				*s.dst = newSet(d, items, nodes, p.Regexp, path+"."+key(s.key))
			}
		}
	}
	if p.SpanKinds != nil && !p.Regexp {
		for _, k := range p.SpanKinds.keys() {
			if !slices.Contains(spanKinds, k) {
				d.Errorf(f["span_kinds"].Value, "%s.span_kinds: %q is not a span kind; with match_type strict use one of %s", path, k, strings.Join(spanKinds, ", "))
			}
		}
	}
	if v, ok := f["log_severity_number"]; ok && !processor.IsNull(v.Value) {
		p.SeverityNumber = decodeSeverity(d, v.Value, path+"."+key("log_severity_number"))
	}
	if v, ok := f["attributes"]; ok {
		p.Attributes = decodeAttributes(d, v.Value, p.Regexp, path+"."+key("attributes"))
	}
	if v, ok := f["resources"]; ok {
		p.Resources = decodeAttributes(d, v.Value, p.Regexp, path+"."+key("resources"))
	}
	if v, ok := f["libraries"]; ok {
		p.Libraries = decodeLibraries(d, v.Value, p.Regexp, path+"."+key("libraries"))
	}
	if d.Mistakes() > nerr {
		return nil
	}
	return p
}

// spanKinds are the collector's names of span kinds (its SpanKindStr).
var spanKinds = []string{"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}

func kindName(k ptrace.SpanKind) string {
	if int(k) >= 0 && int(k) < len(spanKinds) {
		return spanKinds[k]
	}
	return ""
}

func newSet(d processor.Decoder, items []string, nodes []*yaml.Node, regexps bool, path string) *StringSet {
	s := &StringSet{}
	if !regexps {
		s.strict = make(map[string]bool, len(items))
		for _, it := range items {
			s.strict[it] = true
		}
		return s
	}
	for i, it := range items {
		re, err := regexp.Compile(it)
		if err != nil {
			d.Errorf(nodes[i], "%s: %q is not a valid regular expression: %v", path, it, err)
			continue
		}
		s.res = append(s.res, re)
	}
	return s
}

func (s *StringSet) keys() []string {
	out := make([]string, 0, len(s.strict))
	for k := range s.strict {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func decodeAttributes(d processor.Decoder, n *yaml.Node, regexps bool, path string) []Attribute {
	n = processor.Deref(n)
	if processor.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%s: expected a list of {key, value}, got %s", path, processor.Describe(n))
		return nil
	}
	var out []Attribute
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		nerr := d.Mistakes()
		f := d.Fields(item, ip, []string{"key", "value"})
		if d.Mistakes() > nerr {
			continue
		}
		key, _ := d.Scalar(f["key"].Value, ip+".key")
		if key == "" {
			d.Errorf(processor.Deref(item), "%s: key is required (an attribute name)", ip)
			continue
		}
		a := Attribute{Key: key}
		v, ok := processor.Value(d, f["value"].Value, ip+".value")
		if !ok {
			continue
		}
		switch x := v.(type) {
		case nil:
		case string:
			if regexps {
				re, err := regexp.Compile(x)
				if err != nil {
					d.Errorf(processor.Deref(f["value"].Value), "%s.value: %q is not a valid regular expression: %v", ip, x, err)
					continue
				}
				a.Pattern = re
			} else {
				a.Value = x
			}
		default:
			if regexps {
				d.Errorf(processor.Deref(f["value"].Value), "%s.value: match_type regexp takes a string (a regular expression), got %s", ip, processor.FormatValue(x))
				continue
			}
			a.Value = x
		}
		out = append(out, a)
	}
	return out
}

func decodeLibraries(d processor.Decoder, n *yaml.Node, regexps bool, path string) []Library {
	n = processor.Deref(n)
	if processor.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%s: expected a list of {name, version}, got %s", path, processor.Describe(n))
		return nil
	}
	var out []Library
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		nerr := d.Mistakes()
		f := d.Fields(item, ip, []string{"name", "version"})
		if d.Mistakes() > nerr {
			continue
		}
		name, _ := d.Scalar(f["name"].Value, ip+".name")
		l := Library{Name: newSet(d, []string{name}, []*yaml.Node{processor.Deref(f["name"].Value)}, regexps, ip+".name")}
		if v, ok := f["version"]; ok && v.Value != nil {
			// version: "" matches only an empty version, as upstream; a
			// version that is absent matches any.
			ver, _ := d.Scalar(v.Value, ip+".version")
			l.Version = newSet(d, []string{ver}, []*yaml.Node{processor.Deref(v.Value)}, regexps, ip+".version")
		}
		out = append(out, l)
	}
	return out
}

// severityNames are the log data model's short names of severity numbers.
var severityNames = map[string]plog.SeverityNumber{}

func init() {
	for i, base := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		for j := range 4 {
			n := plog.SeverityNumber(i*4 + j + 1)
			if j == 0 {
				severityNames[base] = n
			}
			severityNames[base+strconv.Itoa(j+1)] = n
		}
	}
}

func decodeSeverity(d processor.Decoder, n *yaml.Node, path string) *SeverityNumber {
	f := d.Fields(n, path, []string{"min", "match_undefined"})
	s := &SeverityNumber{}
	if v, ok := f["min"]; ok {
		raw, _ := d.Scalar(v.Value, path+".min")
		if num, err := strconv.Atoi(raw); err == nil && num >= 0 && num <= 24 {
			s.Min = plog.SeverityNumber(num)
		} else if sn, ok := severityNames[strings.ToUpper(raw)]; ok {
			s.Min = sn
		} else {
			d.Errorf(processor.Deref(v.Value), "%s.min: %q is not a severity: a number from 1 to 24 or a name such as INFO, WARN, ERROR3", path, raw)
		}
	}
	if v, ok := f["match_undefined"]; ok {
		s.MatchUndefined = d.Bool(v.Value, path+".match_undefined")
	}
	return s
}

// CheckSignal reports what upstream refuses for the signal ("traces",
// "metrics" or "logs") in the blocks: properties of another signal, or no
// property of this one.
func (c Config) CheckSignal(signal string) error {
	var errs []error
	for _, b := range []struct {
		name string
		p    *Properties
	}{{"include", c.Include}, {"exclude", c.Exclude}} {
		if b.p == nil {
			continue
		}
		if err := b.p.check(signal); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Properties) given() map[string]bool {
	return map[string]bool{
		"services": p.Services != nil, "span_names": p.SpanNames != nil, "span_kinds": p.SpanKinds != nil,
		"log_bodies": p.LogBodies != nil, "log_severity_texts": p.LogSeverityTexts != nil, "log_severity_number": p.SeverityNumber != nil,
		"metric_names": p.MetricNames != nil, "attributes": len(p.Attributes) > 0, "resources": len(p.Resources) > 0, "libraries": len(p.Libraries) > 0,
	}
}

// signalKeys are the properties each signal matches on; refused are the
// ones upstream refuses for it.
var (
	signalKeys = map[string][]string{
		"traces":  {"services", "span_names", "span_kinds", "attributes", "resources", "libraries"},
		"logs":    {"log_bodies", "log_severity_texts", "log_severity_number", "attributes", "resources", "libraries"},
		"metrics": {"metric_names", "resources"},
	}
	refused = map[string][]string{
		"traces":  {"log_bodies", "log_severity_texts", "log_severity_number", "metric_names"},
		"logs":    {"services", "span_names", "span_kinds", "metric_names"},
		"metrics": {"services", "span_names", "span_kinds", "log_bodies", "log_severity_texts", "log_severity_number", "attributes", "libraries"},
	}
)

func (p *Properties) check(signal string) error {
	g := p.given()
	var bad []string
	for _, k := range refused[signal] {
		if g[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s cannot match %s; for %s use %s", strings.Join(bad, ", "), signal, signal, strings.Join(signalKeys[signal], ", "))
	}
	for _, k := range signalKeys[signal] {
		if g[k] {
			return nil
		}
	}
	return fmt.Errorf("nothing to match %s on: give at least one of %s", signal, strings.Join(signalKeys[signal], ", "))
}

// SkipSpan reports whether a span is left alone: not matched by include,
// or matched by exclude.
func (c Config) SkipSpan(res pcommon.Resource, scope pcommon.InstrumentationScope, s ptrace.Span) bool {
	if c.Include != nil && !c.Include.matchSpan(res, scope, s) {
		return true
	}
	return c.Exclude != nil && c.Exclude.matchSpan(res, scope, s)
}

// SkipLog reports whether a log record is left alone.
func (c Config) SkipLog(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) bool {
	if c.Include != nil && !c.Include.matchLog(res, scope, lr) {
		return true
	}
	return c.Exclude != nil && c.Exclude.matchLog(res, scope, lr)
}

// SkipMetric reports whether a metric (all its data points) is left alone.
func (c Config) SkipMetric(res pcommon.Resource, m pmetric.Metric) bool {
	if c.Include != nil && !c.Include.matchMetric(res, m) {
		return true
	}
	return c.Exclude != nil && c.Exclude.matchMetric(res, m)
}

// SkipMetricResource reports whether a resource and all its metrics are
// skipped by the resources of the blocks. With SkipMetricName it is the
// filter processor's metric matching, which upstream runs at two levels:
// a resource is skipped when include's resources do not match it or
// exclude's do, a metric when include's metric_names do not match its
// name or exclude's do. A block without resources (or metric_names) takes
// no part at that level, so an exclude block drops what matches either.
func (c Config) SkipMetricResource(res pcommon.Resource) bool {
	if c.Include != nil && len(c.Include.Resources) > 0 && !matchAttributes(c.Include.Resources, res.Attributes()) {
		return true
	}
	return c.Exclude != nil && len(c.Exclude.Resources) > 0 && matchAttributes(c.Exclude.Resources, res.Attributes())
}

// SkipMetricName reports whether a metric is skipped by the metric_names
// of the blocks.
func (c Config) SkipMetricName(m pmetric.Metric) bool {
	if c.Include != nil && c.Include.MetricNames != nil && !c.Include.MetricNames.Matches(m.Name()) {
		return true
	}
	return c.Exclude != nil && c.Exclude.MetricNames != nil && c.Exclude.MetricNames.Matches(m.Name())
}

// IsEmpty reports whether the block gives no property to match on.
func (p *Properties) IsEmpty() bool {
	for _, g := range p.given() {
		if g {
			return false
		}
	}
	return true
}

// Empty reports whether there is nothing to match: every item is processed.
func (c Config) Empty() bool { return c.Include == nil && c.Exclude == nil }

func (p *Properties) matchSpan(res pcommon.Resource, scope pcommon.InstrumentationScope, s ptrace.Span) bool {
	if p.Services != nil {
		name := "<nil-service-name>" // upstream's stand-in when the resource has none
		if v, ok := res.Attributes().Get("service.name"); ok {
			name = v.AsString()
		}
		if !p.Services.Matches(name) {
			return false
		}
	}
	if p.SpanNames != nil && !p.SpanNames.Matches(s.Name()) {
		return false
	}
	if p.SpanKinds != nil && !p.SpanKinds.Matches(kindName(s.Kind())) {
		return false
	}
	return p.matchCommon(s.Attributes(), res, scope)
}

func (p *Properties) matchLog(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) bool {
	if p.LogBodies != nil && !p.LogBodies.Matches(lr.Body().AsString()) {
		return false
	}
	if p.LogSeverityTexts != nil && !p.LogSeverityTexts.Matches(lr.SeverityText()) {
		return false
	}
	if sn := p.SeverityNumber; sn != nil {
		if lr.SeverityNumber() == plog.SeverityNumberUnspecified {
			if !sn.MatchUndefined {
				return false
			}
		} else if lr.SeverityNumber() < sn.Min {
			return false
		}
	}
	return p.matchCommon(lr.Attributes(), res, scope)
}

func (p *Properties) matchMetric(res pcommon.Resource, m pmetric.Metric) bool {
	if p.MetricNames != nil && !p.MetricNames.Matches(m.Name()) {
		return false
	}
	return matchAttributes(p.Resources, res.Attributes())
}

func (p *Properties) matchCommon(attrs pcommon.Map, res pcommon.Resource, scope pcommon.InstrumentationScope) bool {
	for _, l := range p.Libraries {
		if !l.Name.Matches(scope.Name()) {
			return false
		}
		if l.Version != nil && !l.Version.Matches(scope.Version()) {
			return false
		}
	}
	if !matchAttributes(p.Resources, res.Attributes()) {
		return false
	}
	return matchAttributes(p.Attributes, attrs)
}

// matchAttributes reports whether every listed attribute is in m with a
// matching value.
func matchAttributes(list []Attribute, m pcommon.Map) bool {
	for _, a := range list {
		v, ok := m.Get(a.Key)
		if !ok {
			return false
		}
		switch {
		case a.Pattern != nil:
			s, ok := stringOf(v)
			if !ok || !a.Pattern.MatchString(s) {
				return false
			}
		case a.Value != nil:
			if !equal(a.Value, v) {
				return false
			}
		}
	}
	return true
}

// stringOf is upstream's string form of a scalar value for regexp
// matching; other types do not match.
func stringOf(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str(), true
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.Bool()), true
	case pcommon.ValueTypeDouble:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64), true
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10), true
	}
	return "", false
}

// equal compares a configured value and an attribute value of the same
// type (a string "1" does not equal the integer 1, as upstream).
func equal(want any, v pcommon.Value) bool {
	switch w := want.(type) {
	case string:
		return v.Type() == pcommon.ValueTypeStr && v.Str() == w
	case int64:
		return v.Type() == pcommon.ValueTypeInt && v.Int() == w
	case float64:
		return v.Type() == pcommon.ValueTypeDouble && v.Double() == w
	case bool:
		return v.Type() == pcommon.ValueTypeBool && v.Bool() == w
	}
	return false
}

// String describes the blocks for `config check`.
func (c Config) String() string {
	var parts []string
	if c.Include != nil {
		parts = append(parts, "include "+c.Include.String())
	}
	if c.Exclude != nil {
		parts = append(parts, "exclude "+c.Exclude.String())
	}
	return strings.Join(parts, ", ")
}

// String names the block's match type and properties.
func (p *Properties) String() string {
	mt := "strict"
	if p.Regexp {
		mt = "regexp"
	}
	var ks []string
	for _, k := range Keys[2:] {
		if p.given()[k] {
			ks = append(ks, k)
		}
	}
	return mt + " on " + strings.Join(ks, ", ")
}
