// Package spanprocessor implements the collector's "span" processor, with
// its keys and semantics, on the spans its include/exclude blocks select:
//
//   - name.from_attributes renames a span to the values of the listed
//     attributes joined by name.separator, when the span has all of them
//     (strings as they are, numbers and booleans formatted, other types
//     as nothing);
//   - name.to_attributes.rules are regular expressions with named groups
//     matched against the span name in order: each group's text becomes
//     an attribute of that name and is replaced by {name} in the span
//     name (unless keep_original_name), and the next rule sees the new
//     name; break_after_match stops at the first rule that matched;
//   - status.code (Ok, Error, Unset) sets the status, with
//     status.description as its message for Error.
//
// from_attributes runs first, then to_attributes, then status.
package spanprocessor

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/matchspec"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "span".
var Factory = processor.Factory{Type: "span", Decode: Decode, New: New}

// Config is the processor's configuration.
type Config struct {
	FromAttributes   []string
	Separator        string
	Rules            []*regexp.Regexp
	BreakAfterMatch  bool
	KeepOriginalName bool
	// Status, if set, is "Ok", "Error" or "Unset".
	Status      string
	Description string
	Match       matchspec.Config
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	var parts []string
	if len(c.FromAttributes) > 0 {
		parts = append(parts, fmt.Sprintf("name from %s joined by %q", strings.Join(c.FromAttributes, ", "), c.Separator))
	}
	if len(c.Rules) > 0 {
		parts = append(parts, fmt.Sprintf("%d to_attributes rule(s)", len(c.Rules)))
	}
	if c.Status != "" {
		parts = append(parts, "status "+c.Status)
	}
	out := "span: " + strings.Join(parts, "; ")
	if m := c.Match.String(); m != "" {
		out += " (" + m + ")"
	}
	return out
}

// Decode reads the processor's options: name, status, include, exclude.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	nerr := d.Mistakes()
	f := d.Fields(value, path, []string{"name", "status", "include", "exclude"})
	if d.Mistakes() > nerr {
		return nil
	}
	c := &Config{Match: matchspec.Decode(d, f, path)}
	if e, ok := f["name"]; ok && !processor.IsNull(e.Value) {
		np := path + ".name"
		nf := d.Fields(e.Value, np, []string{"from_attributes", "separator", "to_attributes"})
		if v, ok := nf["from_attributes"]; ok {
			c.FromAttributes, _ = d.List(v.Value, np+".from_attributes")
		}
		if v, ok := nf["separator"]; ok {
			c.Separator, _ = d.Scalar(v.Value, np+".separator")
		}
		if v, ok := nf["to_attributes"]; ok && !processor.IsNull(v.Value) {
			tp := np + ".to_attributes"
			tf := d.Fields(v.Value, tp, []string{"rules", "break_after_match", "keep_original_name"})
			rules, nodes := d.List(tf["rules"].Value, tp+".rules")
			for i, r := range rules {
				re, err := regexp.Compile(r)
				if err != nil {
					d.Errorf(nodes[i], "%s.rules: %q is not a valid regular expression: %v", tp, r, err)
					continue
				}
				c.Rules = append(c.Rules, re)
			}
			if len(rules) == 0 {
				d.Errorf(v.Key, "%s: rules is required: a list of regular expressions with named groups", tp)
			}
			c.BreakAfterMatch = d.Bool(tf["break_after_match"].Value, tp+".break_after_match")
			c.KeepOriginalName = d.Bool(tf["keep_original_name"].Value, tp+".keep_original_name")
		}
	}
	if e, ok := f["status"]; ok && !processor.IsNull(e.Value) {
		sp := path + ".status"
		sf := d.Fields(e.Value, sp, []string{"code", "description"})
		code, _ := d.Scalar(sf["code"].Value, sp+".code")
		switch code {
		case "Ok", "Error", "Unset":
			c.Status = code
		case "":
			d.Errorf(e.Key, "%s: code is required: Ok, Error or Unset", sp)
		default:
			d.Errorf(processor.Deref(sf["code"].Value), "%s.code: %q is not a status code; use Ok, Error or Unset (as written)", sp, code)
		}
		c.Description, _ = d.Scalar(sf["description"].Value, sp+".description")
		if c.Description != "" && c.Status != "" && c.Status != "Error" {
			d.Errorf(processor.Deref(sf["description"].Value), "%s.description: only for code Error, not %s", sp, c.Status)
		}
	}
	if d.Mistakes() == nerr && len(c.FromAttributes) == 0 && len(c.Rules) == 0 && c.Status == "" {
		d.Errorf(key, "%s: nothing to do: give name.from_attributes, name.to_attributes.rules or status", path)
	}
	return c
}

// Processor renames spans and sets their status. It keeps no state.
type Processor struct{ c Config }

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("span processor: configuration is a %T", cfg)
	}
	return &Processor{c: *c}, nil
}

// CheckSignal refuses include/exclude properties spans cannot match on.
func (p *Processor) CheckSignal(signal string) error { return p.c.Match.CheckSignal(signal) }

// ProcessTraces changes the spans the blocks select.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if !p.c.Match.Empty() && p.c.Match.SkipSpan(rs.Resource(), ss.Scope(), s) {
					continue
				}
				p.fromAttributes(s)
				p.toAttributes(s)
				p.status(s)
			}
		}
	}
	return nil
}

func (p *Processor) fromAttributes(s ptrace.Span) {
	if len(p.c.FromAttributes) == 0 || s.Attributes().Len() == 0 {
		return
	}
	var b strings.Builder
	for i, k := range p.c.FromAttributes {
		v, ok := s.Attributes().Get(k)
		if !ok {
			return // one missing: the name stays
		}
		if i > 0 {
			b.WriteString(p.c.Separator)
		}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			b.WriteString(v.Str())
		case pcommon.ValueTypeBool:
			b.WriteString(strconv.FormatBool(v.Bool()))
		case pcommon.ValueTypeDouble:
			b.WriteString(strconv.FormatFloat(v.Double(), 'f', -1, 64))
		case pcommon.ValueTypeInt:
			b.WriteString(strconv.FormatInt(v.Int(), 10))
		}
	}
	s.SetName(b.String())
}

func (p *Processor) toAttributes(s ptrace.Span) {
	if s.Name() == "" {
		return
	}
	for _, re := range p.c.Rules {
		name := s.Name()
		idx := re.FindStringSubmatchIndex(name)
		if idx == nil {
			continue
		}
		names := re.SubexpNames()
		var b strings.Builder
		last := 0
		for i := 1; i < len(names); i++ {
			start, end := idx[2*i], idx[2*i+1]
			val := ""
			if start >= 0 {
				val = name[start:end]
			}
			s.Attributes().PutStr(names[i], val)
			if start < 0 {
				continue // the group took no part in the match: nothing to replace
			}
			b.WriteString(name[last:start] + "{" + names[i] + "}")
			last = end
		}
		b.WriteString(name[last:])
		if !p.c.KeepOriginalName {
			s.SetName(b.String())
		}
		if p.c.BreakAfterMatch {
			break
		}
	}
}

func (p *Processor) status(s ptrace.Span) {
	switch p.c.Status {
	case "Ok":
		s.Status().SetCode(ptrace.StatusCodeOk)
		s.Status().SetMessage("")
	case "Error":
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(p.c.Description)
	case "Unset":
		s.Status().SetCode(ptrace.StatusCodeUnset)
		s.Status().SetMessage("")
	}
}
