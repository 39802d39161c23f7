// Package attributesprocessor implements the collector's "attributes"
// processor: a list of actions (insert, update, upsert, delete, hash,
// extract, convert), applied in order to the attributes of every span,
// data point and log record that its include/exclude blocks select, with
// the collector's keys and semantics:
//
//   - insert sets key where it is absent, update where it is present,
//     upsert either way; the value is value, or the attribute
//     from_attribute (nothing happens when it is absent), or else
//     default_value;
//   - delete removes key and every attribute whose key matches pattern (an
//     unanchored Go regular expression);
//   - hash replaces the value of key and of the keys matching pattern by
//     the lowercase hex SHA-256 of its bytes (a string's bytes; an int's or
//     a double's 8 bytes little-endian; a bool's one byte, 1 or 0; other
//     types become the empty string), as the collector does today, so that
//     hashed identifiers join across systems;
//   - extract matches pattern against the string value of key and sets
//     one string attribute per named group (the key itself is kept);
//   - convert turns the value of key into an int, double or string;
//     values that cannot be converted stay as they are.
//
// Resource attributes are the resource processor's. from_context is
// refused: the extension merges the function's requests before its
// processors run, so there is no request context to read.
package attributesprocessor

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/matchspec"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "attributes".
var Factory = processor.Factory{Type: "attributes", Decode: Decode, New: New}

// Config is the processor's configuration: its actions, in order, and
// which items they apply to.
type Config struct {
	Actions []Action
	Match   matchspec.Config
}

// Kind is an action's name in the configuration.
type Kind string

// The actions of the collector's attributes processor.
const (
	Insert  Kind = "insert"
	Update  Kind = "update"
	Upsert  Kind = "upsert"
	Delete  Kind = "delete"
	Hash    Kind = "hash"
	Extract Kind = "extract"
	Convert Kind = "convert"
)

var kinds = []Kind{Insert, Update, Upsert, Delete, Hash, Extract, Convert}

// Action is one action of the list.
type Action struct {
	Kind Kind
	Key  string
	// Pattern selects keys (delete, hash) or holds the named groups to
	// extract (extract).
	Pattern *regexp.Regexp
	// Value, FromAttribute and Default are the value sources of insert,
	// update and upsert: Value, else the attribute FromAttribute, else
	// Default when that gave nothing.
	Value         any
	FromAttribute string
	Default       any
	// ConvertedType is int, double or string (convert).
	ConvertedType string
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	parts := make([]string, 0, len(c.Actions))
	for _, a := range c.Actions {
		s := string(a.Kind)
		if a.Key != "" {
			s += " " + a.Key
		}
		if a.Pattern != nil {
			s += fmt.Sprintf(" pattern %q", a.Pattern.String())
		}
		switch {
		case a.Value != nil:
			s += " = " + processor.FormatValue(a.Value)
		case a.FromAttribute != "":
			s += " from " + a.FromAttribute
		}
		if a.Default != nil {
			s += " default " + processor.FormatValue(a.Default)
		}
		if a.ConvertedType != "" {
			s += " to " + a.ConvertedType
		}
		parts = append(parts, s)
	}
	out := "attributes: " + strings.Join(parts, "; ")
	if m := c.Match.String(); m != "" {
		out += " (" + m + ")"
	}
	return out
}

// Decode reads the processor's options: actions, include, exclude.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"actions", "include", "exclude"})
	if v := processor.Deref(value); !processor.IsNull(v) && v.Kind != yaml.MappingNode {
		return nil // Fields said what it is
	}
	cfg := &Config{Match: matchspec.Decode(d, f, path)}
	a, ok := f["actions"]
	if !ok || processor.IsNull(a.Value) {
		d.Errorf(key, "%s: actions is required: a list of {key, action, ...}; actions: %s", path, kindList())
		return nil
	}
	items := processor.Deref(a.Value)
	if items.Kind != yaml.SequenceNode || len(items.Content) == 0 {
		d.Errorf(items, "%s.actions: expected a non-empty list of {key, action, ...}, got %s", path, processor.Describe(items))
		return nil
	}
	for i, item := range items.Content {
		if act, ok := decodeAction(d, processor.Deref(item), fmt.Sprintf("%s.actions[%d]", path, i)); ok {
			cfg.Actions = append(cfg.Actions, act)
		}
	}
	return cfg
}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// actionKeys are the keys of an action.
var actionKeys = []string{"key", "action", "value", "from_attribute", "from_context", "default_value", "pattern", "converted_type"}

func decodeAction(d processor.Decoder, n *yaml.Node, path string) (Action, bool) {
	var a Action
	nerr := d.Mistakes()
	f := d.Fields(n, path, actionKeys)
	if d.Mistakes() > nerr {
		return a, false
	}
	name, _ := d.Scalar(f["action"].Value, path+".action")
	for _, k := range kinds {
		if strings.EqualFold(name, string(k)) {
			a.Kind = k
		}
	}
	switch {
	case name == "":
		d.Errorf(n, "%s: action is required; actions: %s", path, kindList())
		return a, false
	case a.Kind == "":
		d.Errorf(processor.Deref(f["action"].Value), "%s.action: unknown action %q; actions: %s", path, name, kindList())
		return a, false
	}
	if e, ok := f["from_context"]; ok {
		d.Errorf(e.Key, "%s.from_context: not supported: the extension merges the function's requests before its processors run, so there is no request context (metadata, auth, client.address) to read; use value or from_attribute", path)
	}
	a.Key, _ = d.Scalar(f["key"].Value, path+".key")
	pattern, _ := d.Scalar(f["pattern"].Value, path+".pattern")
	if d.Mistakes() > nerr {
		return a, false
	}
	has := func(k string) bool { e, ok := f[k]; return ok && !processor.IsNull(e.Value) }
	// notWith reports keys the action does not take.
	notWith := func(keys ...string) {
		for _, k := range keys {
			if has(k) {
				d.Errorf(f[k].Key, "%s: action %s does not take %s", path, a.Kind, k)
			}
		}
	}
	switch a.Kind {
	case Insert, Update, Upsert:
		if a.Key == "" {
			d.Errorf(n, "%s: action %s needs key", path, a.Kind)
		}
		notWith("pattern", "converted_type")
		sources := 0
		for _, k := range []string{"value", "from_attribute", "from_context"} {
			if has(k) {
				sources++
			}
		}
		switch {
		case sources > 1:
			d.Errorf(n, "%s: action %s takes one of value, from_attribute, from_context, not several", path, a.Kind)
		case sources == 0 && !has("default_value"):
			d.Errorf(n, "%s: action %s needs value, from_attribute or default_value", path, a.Kind)
		}
		if has("value") {
			a.Value, _ = processor.Value(d, f["value"].Value, path+".value")
		}
		a.FromAttribute, _ = d.Scalar(f["from_attribute"].Value, path+".from_attribute")
		if has("default_value") {
			a.Default, _ = processor.Value(d, f["default_value"].Value, path+".default_value")
		}
	case Delete, Hash:
		notWith("value", "from_attribute", "default_value", "converted_type")
		if a.Key == "" && pattern == "" {
			d.Errorf(n, "%s: action %s needs key or pattern", path, a.Kind)
		}
		if pattern != "" {
			a.Pattern = compile(d, f["pattern"].Value, pattern, path)
		}
	case Extract:
		notWith("value", "from_attribute", "default_value", "converted_type")
		if a.Key == "" {
			d.Errorf(n, "%s: action extract needs key", path)
		}
		if pattern == "" {
			d.Errorf(n, "%s: action extract needs pattern, a regular expression with named groups such as (?P<name>...)", path)
			break
		}
		if re := compile(d, f["pattern"].Value, pattern, path); re != nil {
			names := re.SubexpNames()
			switch {
			case len(names) <= 1:
				d.Errorf(processor.Deref(f["pattern"].Value), "%s.pattern: %q has no named groups such as (?P<name>...): there is nothing to extract", path, pattern)
			case contains(names[1:], ""):
				d.Errorf(processor.Deref(f["pattern"].Value), "%s.pattern: %q has a group without a name; every group names the attribute it extracts (use (?:...) to group without extracting)", path, pattern)
			default:
				a.Pattern = re
			}
		}
	case Convert:
		notWith("value", "from_attribute", "default_value", "pattern")
		if a.Key == "" {
			d.Errorf(n, "%s: action convert needs key", path)
		}
		if !has("converted_type") {
			d.Errorf(n, "%s: action convert needs converted_type: int, double or string", path)
		} else {
			a.ConvertedType = d.OneOf(f["converted_type"].Value, path+".converted_type", "int", "double", "string")
		}
	}
	return a, d.Mistakes() == nerr
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func compile(d processor.Decoder, n *yaml.Node, pattern, path string) *regexp.Regexp {
	re, err := regexp.Compile(pattern)
	if err != nil {
		d.Errorf(processor.Deref(n), "%s.pattern: %q is not a valid regular expression: %v", path, pattern, err)
		return nil
	}
	return re
}

// Processor applies the actions. It keeps no state and is safe for
// concurrent use on different batches.
type Processor struct {
	actions []Action
	match   matchspec.Config
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok || len(c.Actions) == 0 {
		return nil, fmt.Errorf("attributes processor: no actions (configuration %T)", cfg)
	}
	return &Processor{actions: c.Actions, match: c.Match}, nil
}

// CheckSignal refuses include/exclude properties the signal cannot match
// on, as upstream does when it builds the processor for that signal.
func (p *Processor) CheckSignal(signal string) error { return p.match.CheckSignal(signal) }

// Apply runs the actions on one attribute map.
func (p *Processor) Apply(m pcommon.Map) {
	for i := range p.actions {
		apply(&p.actions[i], m)
	}
}

func apply(a *Action, m pcommon.Map) {
	switch a.Kind {
	case Delete:
		if a.Key != "" {
			m.Remove(a.Key)
		}
		if a.Pattern != nil {
			m.RemoveIf(func(k string, _ pcommon.Value) bool { return a.Pattern.MatchString(k) })
		}
	case Hash:
		if v, ok := m.Get(a.Key); ok && a.Key != "" {
			HashValue(v)
		}
		if a.Pattern != nil {
			for k, v := range m.All() {
				if a.Pattern.MatchString(k) {
					HashValue(v)
				}
			}
		}
	case Insert, Update, Upsert:
		src, ok := a.source(m)
		if !ok {
			return
		}
		dst, exists := m.Get(a.Key)
		switch {
		case exists && a.Kind != Insert:
			src.CopyTo(dst)
		case !exists && a.Kind != Update:
			src.CopyTo(m.PutEmpty(a.Key))
		}
	case Extract:
		v, ok := m.Get(a.Key)
		if !ok || v.Type() != pcommon.ValueTypeStr {
			return
		}
		sub := a.Pattern.FindStringSubmatch(v.Str())
		if sub == nil {
			return
		}
		names := a.Pattern.SubexpNames()
		for i := 1; i < len(sub); i++ {
			m.PutStr(names[i], sub[i])
		}
	case Convert:
		if v, ok := m.Get(a.Key); ok {
			convert(v, a.ConvertedType)
		}
	}
}

// source is the value insert, update and upsert set, and whether there is
// one.
func (a *Action) source(m pcommon.Map) (pcommon.Value, bool) {
	switch {
	case a.Value != nil:
		return rawValue(a.Value), true
	case a.FromAttribute != "":
		if v, ok := m.Get(a.FromAttribute); ok {
			// a copy: the source may be the key the action writes
			c := pcommon.NewValueEmpty()
			v.CopyTo(c)
			return c, true
		}
	}
	if a.Default != nil {
		return rawValue(a.Default), true
	}
	return pcommon.Value{}, false
}

func rawValue(v any) pcommon.Value {
	out := pcommon.NewValueEmpty()
	_ = out.FromRaw(v) // int64, float64, bool or string: never an error
	return out
}

// HashValue replaces v by the hex SHA-256 of its bytes, as the
// collector's attributes processor does.
func HashValue(v pcommon.Value) {
	var b []byte
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = []byte(v.Str())
	case pcommon.ValueTypeBool:
		b = []byte{0}
		if v.Bool() {
			b[0] = 1
		}
	case pcommon.ValueTypeInt:
		b = binary.LittleEndian.AppendUint64(nil, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = binary.LittleEndian.AppendUint64(nil, math.Float64bits(v.Double()))
	}
	if len(b) == 0 {
		v.SetStr("")
		return
	}
	sum := sha256.Sum256(b)
	v.SetStr(hex.EncodeToString(sum[:]))
}

// convert changes v's type as the collector's convert action does.
func convert(v pcommon.Value, to string) {
	switch to {
	case "string":
		if v.Type() != pcommon.ValueTypeStr {
			v.SetStr(v.AsString())
		}
	case "int":
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			v.SetInt(int64(v.Double()))
		case pcommon.ValueTypeBool:
			v.SetInt(map[bool]int64{false: 0, true: 1}[v.Bool()])
		case pcommon.ValueTypeStr:
			if n, err := strconv.ParseInt(v.Str(), 10, 64); err == nil {
				v.SetInt(n)
			}
		}
	case "double":
		switch v.Type() {
		case pcommon.ValueTypeInt:
			v.SetDouble(float64(v.Int()))
		case pcommon.ValueTypeBool:
			v.SetDouble(map[bool]float64{false: 0, true: 1}[v.Bool()])
		case pcommon.ValueTypeStr:
			if n, err := strconv.ParseFloat(v.Str(), 64); err == nil {
				v.SetDouble(n)
			}
		}
	}
}

// ProcessTraces applies the actions to the spans the blocks select.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if p.match.Empty() || !p.match.SkipSpan(rs.Resource(), ss.Scope(), s) {
					p.Apply(s.Attributes())
				}
			}
		}
	}
	return nil
}

// ProcessLogs applies the actions to the log records the blocks select.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if p.match.Empty() || !p.match.SkipLog(rl.Resource(), sl.Scope(), lr) {
					p.Apply(lr.Attributes())
				}
			}
		}
	}
	return nil
}

// ProcessMetrics applies the actions to the data points of the metrics
// the blocks select.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if p.match.Empty() || !p.match.SkipMetric(rm.Resource(), m) {
					ForEachPoint(m, p.Apply)
				}
			}
		}
	}
	return nil
}

// ForEachPoint calls f with the attributes of every data point of m.
func ForEachPoint(m pmetric.Metric, f func(pcommon.Map)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			f(dp.Attributes())
		}
	case pmetric.MetricTypeSum:
		for _, dp := range m.Sum().DataPoints().All() {
			f(dp.Attributes())
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			f(dp.Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			f(dp.Attributes())
		}
	case pmetric.MetricTypeSummary:
		for _, dp := range m.Summary().DataPoints().All() {
			f(dp.Attributes())
		}
	}
}
