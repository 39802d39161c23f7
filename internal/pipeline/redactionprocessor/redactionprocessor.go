// Package redactionprocessor implements the collector's "redaction"
// processor, with its keys and semantics, for the attributes of
// resources, spans, span events, log records (and their bodies) and data
// points, so that secrets and personal data leave the function's account
// only if the configuration allows them:
//
//   - ignored_keys pass untouched;
//   - a key not in allowed_keys is removed, unless allow_all_keys (an
//     empty allowed_keys removes every attribute: the list fails closed);
//   - a value that matches one of allowed_values (regular expressions)
//     is kept as it is;
//   - the value of a key that matches blocked_key_patterns is masked
//     whole;
//   - the parts of a value that match blocked_values are masked;
//   - masking writes "****", or the hex digest of the masked text when
//     hash_function is md5, sha1 or sha3 (SHA3-256);
//   - values that are not strings are checked as the empty string, unless
//     redact_all_types, which checks their string form;
//   - summary debug adds redaction.redacted.keys/count,
//     redaction.masked.keys/count, redaction.allowed.keys/count and
//     redaction.ignored.count (redaction.body.* for a log body); info only
//     the counts; silent (the default) none.
//
// blocked_values are applied in the order written (upstream applies them
// in an unspecified order; the result differs only when two patterns
// overlap). url_sanitizer, db_sanitizer and skip conditions are refused
// by name.
package redactionprocessor

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/attributesprocessor"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "redaction".
var Factory = processor.Factory{Type: "redaction", Decode: Decode, New: New}

// Config is the processor's configuration.
type Config struct {
	AllowAllKeys       bool
	AllowedKeys        []string
	IgnoredKeys        []string
	BlockedKeyPatterns []*regexp.Regexp
	BlockedValues      []*regexp.Regexp
	AllowedValues      []*regexp.Regexp
	RedactAllTypes     bool
	// HashFunction is "", "md5", "sha1" or "sha3".
	HashFunction string
	// Summary is "debug", "info" or "silent".
	Summary string
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	keys := fmt.Sprintf("%d allowed keys", len(c.AllowedKeys))
	if c.AllowAllKeys {
		keys = "all keys allowed"
	}
	mask := "mask ****"
	if c.HashFunction != "" {
		mask = "hash " + c.HashFunction
	}
	return fmt.Sprintf("redaction: %s, %d ignored, %d blocked key patterns, %d blocked values, %d allowed values, %s, summary %s",
		keys, len(c.IgnoredKeys), len(c.BlockedKeyPatterns), len(c.BlockedValues), len(c.AllowedValues), mask, c.Summary)
}

// refusedKeys are upstream options this processor does not implement,
// with what to do instead.
var refusedKeys = map[string]string{
	"url_sanitizer":   "URL sanitization is not implemented: mask the variable parts with blocked_values, or keep the URL attributes out of allowed_keys",
	"db_sanitizer":    "database statement sanitization is not implemented: keep db.statement/db.query.text out of allowed_keys, or mask literals with blocked_values",
	"skip_conditions": "skip conditions (OTTL) are not implemented for this processor: put it in a pipeline of its own, or use ignored_keys",
}

// Decode reads the processor's options.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	known := []string{"allow_all_keys", "allowed_keys", "ignored_keys", "blocked_key_patterns", "blocked_values", "allowed_values", "redact_all_types", "hash_function", "summary"}
	for k := range refusedKeys {
		known = append(known, k)
	}
	slices.Sort(known[9:])
	nerr := d.Mistakes()
	f := d.Fields(value, path, known)
	if d.Mistakes() > nerr {
		return nil
	}
	for _, k := range known[9:] {
		if e, ok := f[k]; ok {
			d.Errorf(e.Key, "%s.%s: not supported: %s", path, k, refusedKeys[k])
		}
	}
	c := &Config{Summary: "silent"}
	c.AllowAllKeys = d.Bool(f["allow_all_keys"].Value, path+".allow_all_keys")
	c.RedactAllTypes = d.Bool(f["redact_all_types"].Value, path+".redact_all_types")
	c.AllowedKeys, _ = d.List(f["allowed_keys"].Value, path+".allowed_keys")
	c.IgnoredKeys, _ = d.List(f["ignored_keys"].Value, path+".ignored_keys")
	c.BlockedKeyPatterns = regexps(d, f["blocked_key_patterns"].Value, path+".blocked_key_patterns")
	c.BlockedValues = regexps(d, f["blocked_values"].Value, path+".blocked_values")
	c.AllowedValues = regexps(d, f["allowed_values"].Value, path+".allowed_values")
	c.HashFunction = d.OneOf(f["hash_function"].Value, path+".hash_function", "md5", "sha1", "sha3")
	if s := d.OneOf(f["summary"].Value, path+".summary", "debug", "info", "silent"); s != "" {
		c.Summary = s
	}
	return c
}

func regexps(d processor.Decoder, n *yaml.Node, path string) []*regexp.Regexp {
	items, nodes := d.List(n, path)
	var out []*regexp.Regexp
	for i, it := range items {
		re, err := regexp.Compile(it)
		if err != nil {
			d.Errorf(nodes[i], "%s: %q is not a valid regular expression: %v", path, it, err)
			continue
		}
		out = append(out, re)
	}
	return out
}

// Summary attributes, as upstream names them.
const (
	redactedKeys      = "redaction.redacted.keys"
	redactedCount     = "redaction.redacted.count"
	maskedKeys        = "redaction.masked.keys"
	maskedCount       = "redaction.masked.count"
	allowedKeys       = "redaction.allowed.keys"
	allowedCount      = "redaction.allowed.count"
	ignoredCount      = "redaction.ignored.count"
	bodyRedactedKeys  = "redaction.body.redacted.keys"
	bodyRedactedCount = "redaction.body.redacted.count"
	bodyMaskedKeys    = "redaction.body.masked.keys"
	bodyMaskedCount   = "redaction.body.masked.count"
	bodyAllowedKeys   = "redaction.body.allowed.keys"
	bodyAllowedCount  = "redaction.body.allowed.count"
	bodyIgnoredCount  = "redaction.body.ignored.count"
)

// Processor redacts attributes. It keeps no state.
type Processor struct {
	c       Config
	allowed map[string]bool
	ignored map[string]bool
	all     *regexp.Regexp
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("redaction processor: configuration is a %T", cfg)
	}
	p := &Processor{c: *c, allowed: map[string]bool{}, ignored: map[string]bool{}, all: regexp.MustCompile(".*")}
	// The summary attributes the processor writes itself are allowed (the
	// ones upstream allows), so a second redaction keeps them.
	for _, k := range append(slices.Clone(c.AllowedKeys), redactedKeys, redactedCount, maskedKeys, maskedCount, ignoredCount) {
		p.allowed[k] = true
	}
	for _, k := range c.IgnoredKeys {
		p.ignored[k] = true
	}
	return p, nil
}

// processAttrs redacts one attribute map and adds its summary.
func (p *Processor) processAttrs(m pcommon.Map) {
	var redacted, masked, allowed, ignored []string
	for k, v := range m.All() {
		switch {
		case p.ignored[k]:
			ignored = append(ignored, k)
			continue
		case !p.c.AllowAllKeys && !p.allowed[k]:
			redacted = append(redacted, k)
			continue
		}
		s := p.valueString(v)
		switch {
		case p.allowValue(s):
			allowed = append(allowed, k)
		case p.maskKey(k):
			masked = append(masked, k)
			v.SetStr(p.mask(s, p.all))
		default:
			if out := p.maskValues(s); out != s {
				masked = append(masked, k)
				v.SetStr(out)
			}
		}
	}
	for _, k := range redacted {
		m.Remove(k)
	}
	p.summarize(m, redacted, redactedKeys, redactedCount)
	p.summarize(m, masked, maskedKeys, maskedCount)
	p.summarize(m, allowed, allowedKeys, allowedCount)
	p.summarize(m, ignored, "", ignoredCount)
}

// valueString is what the value checks see: a string's text; other
// types' string form with redact_all_types, else "" (as upstream).
func (p *Processor) valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	if p.c.RedactAllTypes {
		return v.AsString()
	}
	return ""
}

func (p *Processor) allowValue(s string) bool {
	for _, re := range p.c.AllowedValues {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func (p *Processor) maskKey(k string) bool {
	for _, re := range p.c.BlockedKeyPatterns {
		if re.MatchString(k) {
			return true
		}
	}
	return false
}

func (p *Processor) maskValues(s string) string {
	for _, re := range p.c.BlockedValues {
		if re.MatchString(s) {
			s = p.mask(s, re)
		}
	}
	return s
}

// mask replaces every match of re in s by "****" or its digest.
func (p *Processor) mask(s string, re *regexp.Regexp) string {
	return re.ReplaceAllStringFunc(s, func(match string) string {
		var h hash.Hash
		switch p.c.HashFunction {
		case "md5":
			h = md5.New()
		case "sha1":
			h = sha1.New()
		case "sha3":
			h = sha3.New256()
		default:
			return "****"
		}
		h.Write([]byte(match))
		return hex.EncodeToString(h.Sum(nil))
	})
}

// summarize adds the keys (debug) and their count (debug, info) to m,
// merged with what an earlier redaction wrote.
func (p *Processor) summarize(m pcommon.Map, keys []string, keysAttr, countAttr string) {
	if len(keys) == 0 {
		return
	}
	if p.c.Summary == "debug" && keysAttr != "" {
		if old, ok := m.Get(keysAttr); ok && old.Str() != "" {
			keys = append(keys, strings.Split(old.Str(), ",")...)
		}
		slices.Sort(keys)
		m.PutStr(keysAttr, strings.Join(keys, ","))
	}
	if p.c.Summary == "debug" || p.c.Summary == "info" {
		n := int64(len(keys))
		if old, ok := m.Get(countAttr); ok {
			n += old.Int()
		}
		m.PutInt(countAttr, n)
	}
}

// processBody redacts a log record's body: the keys of a mapping body
// (at any depth) as attributes, a string body by its value.
func (p *Processor) processBody(body pcommon.Value, attrs pcommon.Map) {
	var redacted, masked, allowed, ignored []string
	var walk func(path string, v pcommon.Value)
	walkMap := func(prefix string, m pcommon.Map) {
		var drop []string
		for k, v := range m.All() {
			kp := k
			if prefix != "" {
				kp = prefix + "." + k
			}
			switch {
			case p.ignored[k]:
				ignored = append(ignored, kp)
			case !p.c.AllowAllKeys && !p.allowed[k]:
				drop = append(drop, k)
			case p.maskKey(k):
				masked = append(masked, kp)
				v.SetStr(p.mask(v.Str(), p.all)) // v.Str(): "" for other types, as upstream
			default:
				walk(kp, v)
			}
		}
		for _, k := range drop {
			m.Remove(k)
			if prefix != "" {
				k = prefix + "." + k
			}
			redacted = append(redacted, k)
		}
	}
	walk = func(path string, v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			walkMap(path, v.Map())
		case pcommon.ValueTypeSlice:
			for i, item := range v.Slice().All() {
				walk(fmt.Sprintf("%s.[%d]", path, i), item)
			}
		default:
			s := v.AsString()
			if p.allowValue(s) {
				allowed = append(allowed, path)
				return
			}
			if out := p.maskValues(s); out != s {
				masked = append(masked, path)
				v.SetStr(out)
			}
		}
	}
	switch body.Type() {
	case pcommon.ValueTypeMap:
		walkMap("", body.Map())
	case pcommon.ValueTypeSlice:
		for i, item := range body.Slice().All() {
			walk(fmt.Sprintf("[%d]", i), item)
		}
	default:
		walk("body", body)
	}
	p.summarize(attrs, redacted, bodyRedactedKeys, bodyRedactedCount)
	p.summarize(attrs, masked, bodyMaskedKeys, bodyMaskedCount)
	p.summarize(attrs, allowed, bodyAllowedKeys, bodyAllowedCount)
	p.summarize(attrs, ignored, "", bodyIgnoredCount)
}

// ProcessTraces redacts the attributes of resources, spans and span
// events.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	for _, rs := range td.ResourceSpans().All() {
		p.processAttrs(rs.Resource().Attributes())
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				p.processAttrs(s.Attributes())
				for _, ev := range s.Events().All() {
					p.processAttrs(ev.Attributes())
				}
			}
		}
	}
	return nil
}

// ProcessLogs redacts the attributes of resources and log records, and
// the records' bodies.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	for _, rl := range ld.ResourceLogs().All() {
		p.processAttrs(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				p.processAttrs(lr.Attributes())
				p.processBody(lr.Body(), lr.Attributes())
			}
		}
	}
	return nil
}

// ProcessMetrics redacts the attributes of resources and data points.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	for _, rm := range md.ResourceMetrics().All() {
		p.processAttrs(rm.Resource().Attributes())
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				attributesprocessor.ForEachPoint(m, p.processAttrs)
			}
		}
	}
	return nil
}
