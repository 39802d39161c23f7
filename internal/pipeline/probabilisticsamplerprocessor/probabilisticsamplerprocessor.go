// Package probabilisticsamplerprocessor implements the collector's
// "probabilistic_sampler" processor for spans and log records, with its
// keys and decisions: for the same trace id (or log attribute) and the
// same settings, it keeps exactly what the collector keeps, and writes the
// same sampling threshold (tracestate "ot=th:..." on spans, the
// sampling.threshold attribute on log records).
//
// Modes (mode; hash_seed by default, as upstream):
//
//   - hash_seed: the 32-bit FNV-1a hash of hash_seed and the trace id (or,
//     for log records, of from_attribute's value when attribute_source is
//     record or the record has no trace id); an item is kept when the hash's
//     low 14 bits are below sampling_percentage * 163.84 (32-bit float,
//     truncated). Items that already carry a threshold or an rv (arriving
//     from an OTel consistent sampler) are refused with fail_closed, as
//     upstream: use proportional or equalizing for them.
//   - proportional: the trace id's last 56 bits (or the tracestate's rv)
//     against a threshold for probability p times the arriving one (the
//     tracestate's th), rounded to sampling_precision hex digits.
//   - equalizing: the same randomness against the threshold for p, or the
//     arriving threshold when that is already lower in probability.
//
// sampling.priority on a span (0: drop, above 0: keep) and, for logs,
// the attribute named by sampling_priority (a percentage) override the
// percentage. An item without randomness (an all-zero trace id, no
// attribute) or with an inconsistent tracestate is dropped when
// fail_closed (the default) and kept otherwise. Metrics are not sampled.
package probabilisticsamplerprocessor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "probabilistic_sampler".
var Factory = processor.Factory{Type: "probabilistic_sampler", Decode: Decode, New: New}

// Modes.
const (
	HashSeed     = "hash_seed"
	Proportional = "proportional"
	Equalizing   = "equalizing"
)

// Config is the processor's configuration, with upstream's defaults.
type Config struct {
	SamplingPercentage float32
	HashSeed           uint32
	Mode               string
	FailClosed         bool
	SamplingPrecision  int
	// Logs only.
	AttributeSource  string // "traceID" or "record"
	FromAttribute    string
	SamplingPriority string
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	return fmt.Sprintf("probabilistic_sampler: %s%% %s (hash_seed %d, precision %d, fail_closed %v)",
		strconv.FormatFloat(float64(c.SamplingPercentage), 'g', -1, 32), c.Mode, c.HashSeed, c.SamplingPrecision, c.FailClosed)
}

// Decode reads the processor's options.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	nerr := d.Mistakes()
	f := d.Fields(value, path, []string{"sampling_percentage", "hash_seed", "mode", "fail_closed", "sampling_precision", "attribute_source", "from_attribute", "sampling_priority"})
	if d.Mistakes() > nerr {
		return nil
	}
	c := &Config{Mode: HashSeed, FailClosed: true, SamplingPrecision: 4, AttributeSource: "traceID"}
	if e, ok := f["sampling_percentage"]; !ok || processor.IsNull(e.Value) {
		d.Errorf(key, "%s: sampling_percentage is required: the percentage of traces (and log records) to keep, e.g. 10", path)
	} else {
		s, _ := d.Scalar(e.Value, path+".sampling_percentage")
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			d.Errorf(processor.Deref(e.Value), "%s.sampling_percentage: expected a number such as 10 or 0.5, got %q", path, s)
		case v < 0:
			d.Errorf(processor.Deref(e.Value), "%s.sampling_percentage: %q is negative; 0 keeps nothing, 100 everything", path, s)
		case v > 0 && v/100 < minProbability:
			d.Errorf(processor.Deref(e.Value), "%s.sampling_percentage: %q is too small: the smallest is 2^-56 of 100", path, s)
		default:
			c.SamplingPercentage = float32(v) // 32-bit, as upstream
		}
	}
	if e, ok := f["hash_seed"]; ok && !processor.IsNull(e.Value) {
		s, _ := d.Scalar(e.Value, path+".hash_seed")
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			d.Errorf(processor.Deref(e.Value), "%s.hash_seed: expected a whole number from 0 to 4294967295, got %q", path, s)
		}
		c.HashSeed = uint32(v)
	}
	if m := d.OneOf(f["mode"].Value, path+".mode", HashSeed, Proportional, Equalizing); m != "" {
		c.Mode = m
	}
	if e, ok := f["fail_closed"]; ok && !processor.IsNull(e.Value) {
		c.FailClosed = d.Bool(e.Value, path+".fail_closed")
	}
	if e, ok := f["sampling_precision"]; ok && !processor.IsNull(e.Value) {
		s, _ := d.Scalar(e.Value, path+".sampling_precision")
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > hexDigits {
			d.Errorf(processor.Deref(e.Value), "%s.sampling_precision: expected a whole number from 1 to 14 (hex digits of the threshold), got %q", path, s)
		}
		c.SamplingPrecision = v
	}
	if s := d.OneOf(f["attribute_source"].Value, path+".attribute_source", "traceID", "record"); s != "" {
		c.AttributeSource = s
	}
	c.FromAttribute, _ = d.Scalar(f["from_attribute"].Value, path+".from_attribute")
	c.SamplingPriority, _ = d.Scalar(f["sampling_priority"].Value, path+".sampling_priority")
	if c.AttributeSource == "record" && c.FromAttribute == "" {
		d.Errorf(processor.Deref(f["attribute_source"].Value), "%s: attribute_source record needs from_attribute: the log record attribute to hash", path)
	}
	return c
}

// Processor drops the spans and log records that are not sampled. It
// keeps no state and is safe for concurrent use.
type Processor struct {
	c Config
	// never: the percentage is 0 (or below the hash mode's resolution).
	never bool
	// t is the hash_seed and equalizing modes' threshold.
	t threshold
	// ratio is the proportional mode's probability.
	ratio float64
}

// New makes the processor of a configuration Decode returned.
func New(cfg any) (processor.Processor, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("probabilistic_sampler processor: configuration is a %T", cfg)
	}
	p := &Processor{c: *c}
	pct := min(c.SamplingPercentage, 100)
	if pct == 0 {
		p.never = true
		return p, nil
	}
	p.ratio = max(float64(pct)/100, minProbability)
	switch c.Mode {
	case HashSeed:
		p.t = hashThreshold(pct)
		p.never = p.t == neverSample
	case Equalizing:
		p.t, _ = probabilityToThreshold(p.ratio, c.SamplingPrecision) // in range: rounded above
	}
	return p, nil
}

// carrier is where an item keeps its sampling threshold and randomness:
// a span's tracestate or a log record's attributes.
type carrier interface {
	threshold() (threshold, bool)
	randomness() (randomness, bool)
	setRandomness(randomness)
	clearThreshold()
	// updateThreshold records the threshold the item was sampled with,
	// unless that would raise an arriving probability.
	updateThreshold(threshold)
	save()
}

// The conditions under which an item has no usable randomness.
var (
	errMissing      = errors.New("missing randomness")
	errInconsistent = errors.New("inconsistent arriving threshold")
	errRandomInUse  = errors.New("item has sampling randomness, equalizing or proportional mode recommended")
	errThInUse      = errors.New("item has sampling threshold, equalizing or proportional mode recommended")
)

// decide applies the sampling logic common to spans and log records:
// rnd is the item's randomness (ok false: it has none), c its carrier
// (nil when unusable), err a problem found reading it; priority may
// override the threshold.
func (p *Processor) decide(rnd randomness, hasRnd bool, c carrier, err error, priority func(threshold) threshold) bool {
	if !hasRnd {
		rnd = allProbabilities
		if err == nil && !p.never {
			err = errMissing
		}
	}
	if err == nil && c != nil {
		if th, ok := c.threshold(); ok && !th.sample(rnd) {
			c.clearThreshold()
			err = errInconsistent
		}
	}
	var t threshold
	switch {
	case err != nil && p.c.FailClosed:
		t = neverSample
	case err != nil:
		t = alwaysSample
	default:
		t = p.threshold(c)
	}
	t = priority(t)
	sampled := t.sample(rnd)
	if sampled && c != nil {
		c.updateThreshold(t)
		c.save()
	}
	return sampled
}

// threshold is the mode's threshold for an item with usable randomness.
func (p *Processor) threshold(c carrier) threshold {
	if p.never {
		return neverSample
	}
	switch p.c.Mode {
	case Proportional:
		incoming := 1.0
		if c != nil {
			if th, ok := c.threshold(); ok {
				incoming = th.probability()
			}
		}
		t, err := probabilityToThreshold(incoming*p.ratio, p.c.SamplingPrecision)
		if err != nil {
			return neverSample // below the smallest probability
		}
		return t
	case Equalizing:
		if c != nil {
			if th, ok := c.threshold(); ok && p.t < th {
				return th
			}
		}
	}
	return p.t
}

// ProcessTraces drops the spans that are not sampled.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return !p.sampleSpan(s) })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return nil
}

// spanCarrier keeps a span's sampling information in its tracestate.
type spanCarrier struct {
	span ptrace.Span
	ts   traceState
}

func (c *spanCarrier) threshold() (threshold, bool) { return c.ts.ot.t, c.ts.ot.th != "" }
func (c *spanCarrier) randomness() (randomness, bool) {
	return c.ts.ot.r, c.ts.ot.rv != ""
}
func (c *spanCarrier) setRandomness(r randomness) { c.ts.ot.r, c.ts.ot.rv = r, r.rvalue() }
func (c *spanCarrier) clearThreshold()            { c.ts.ot.t, c.ts.ot.th = 0, "" }
func (c *spanCarrier) updateThreshold(t threshold) {
	if c.ts.ot.th != "" && c.ts.ot.t > t {
		return // would raise the arriving probability: left as it is
	}
	c.ts.ot.t, c.ts.ot.th = t, t.tvalue()
}
func (c *spanCarrier) save() { c.span.TraceState().FromRaw(c.ts.String()) }

func (p *Processor) sampleSpan(s ptrace.Span) bool {
	ts, err := parseTraceState(s.TraceState().AsRaw())
	var c carrier = &spanCarrier{span: s, ts: ts}
	if err != nil {
		c = nil
	}
	var rnd randomness
	hasRnd := false
	tid := s.TraceID()
	switch {
	case p.never:
		rnd, hasRnd = allProbabilities, true
	case p.c.Mode == HashSeed:
		if !tid.IsEmpty() {
			rnd, hasRnd = hashRandomness(tid[:], p.c.HashSeed), true
		}
		if c != nil {
			if _, ok := c.randomness(); ok {
				err, c = errRandomInUse, nil
			} else if _, ok := c.threshold(); ok {
				err, c = errThInUse, nil
			} else {
				c.setRandomness(orAll(rnd, hasRnd))
			}
		}
	default:
		if c != nil {
			rnd, hasRnd = c.randomness()
		}
		if !hasRnd && !tid.IsEmpty() {
			rnd, hasRnd = traceIDRandomness(tid), true
		}
	}
	return p.decide(rnd, hasRnd, c, err, func(t threshold) threshold {
		switch spanPriority(s) {
		case 1:
			return alwaysSample
		case -1:
			return neverSample
		}
		return t
	})
}

func orAll(r randomness, ok bool) randomness {
	if ok {
		return r
	}
	return allProbabilities
}

// spanPriority reads sampling.priority: 1 keep, -1 drop, 0 no say.
func spanPriority(s ptrace.Span) int {
	v, ok := s.Attributes().Get("sampling.priority")
	if !ok {
		return 0
	}
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeStr:
		x, err := strconv.ParseFloat(v.Str(), 64)
		if err != nil {
			return 0
		}
		f = x
	default:
		return 0
	}
	switch {
	case f == 0:
		return -1
	case f > 0:
		return 1
	}
	return 0
}

// ProcessLogs drops the log records that are not sampled.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return !p.sampleLog(lr) })
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return nil
}

// Log record attributes that carry sampling information.
const (
	thresholdAttr  = "sampling.threshold"
	randomnessAttr = "sampling.randomness"
)

// logCarrier keeps a log record's sampling information in its attributes.
type logCarrier struct {
	lr     plog.LogRecord
	t      threshold
	th, rv string
	r      randomness
}

func newLogCarrier(lr plog.LogRecord) (*logCarrier, error) {
	c := &logCarrier{lr: lr}
	var errs []error
	if v, ok := lr.Attributes().Get(thresholdAttr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		t, err := parseTValue(v.Str())
		if err != nil {
			errs = append(errs, err)
		} else {
			c.t, c.th = t, v.Str()
		}
	}
	if v, ok := lr.Attributes().Get(randomnessAttr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		r, err := parseRValue(v.Str())
		if err != nil {
			errs = append(errs, err)
		} else {
			c.r, c.rv = r, v.Str()
		}
	}
	return c, errors.Join(errs...)
}

func (c *logCarrier) threshold() (threshold, bool)   { return c.t, c.th != "" }
func (c *logCarrier) randomness() (randomness, bool) { return c.r, c.rv != "" }
func (c *logCarrier) setRandomness(r randomness) {
	c.r, c.rv = r, r.rvalue()
	c.lr.Attributes().PutStr(randomnessAttr, c.rv)
}
func (c *logCarrier) clearThreshold() {
	c.t, c.th = neverSample, ""
	c.lr.Attributes().Remove(thresholdAttr)
}
func (c *logCarrier) updateThreshold(t threshold) {
	if c.th != "" && t < c.t {
		return // would raise the arriving probability
	}
	c.lr.Attributes().PutStr(thresholdAttr, t.tvalue())
}
func (c *logCarrier) save() {}

func (p *Processor) sampleLog(lr plog.LogRecord) bool {
	lc, err := newLogCarrier(lr)
	var c carrier = lc
	if err != nil {
		c = nil
	}
	var rnd randomness
	hasRnd := false
	tid := lr.TraceID()
	switch {
	case p.never:
		rnd, hasRnd = allProbabilities, true
	case p.c.Mode == HashSeed:
		if p.c.AttributeSource == "traceID" && !tid.IsEmpty() {
			rnd, hasRnd = hashRandomness(tid[:], p.c.HashSeed), true
		}
		if !hasRnd && p.c.FromAttribute != "" {
			if v, ok := lr.Attributes().Get(p.c.FromAttribute); ok {
				var b []byte
				if v.Type() == pcommon.ValueTypeBytes {
					b = v.Bytes().AsRaw()
				} else {
					b = []byte(v.AsString())
				}
				if len(b) > 0 {
					rnd, hasRnd = hashRandomness(b, p.c.HashSeed), true
				}
			}
		}
		if c != nil {
			if _, ok := c.randomness(); ok {
				err, c = errRandomInUse, nil
			} else if _, ok := c.threshold(); ok {
				err, c = errThInUse, nil
			} else if hasRnd {
				c.setRandomness(rnd)
			}
		}
	default:
		if c != nil {
			rnd, hasRnd = c.randomness()
		}
		if !hasRnd && !tid.IsEmpty() {
			rnd, hasRnd = traceIDRandomness(tid), true
		}
	}
	return p.decide(rnd, hasRnd, c, err, func(t threshold) threshold {
		if p.c.SamplingPriority == "" {
			return t
		}
		v, ok := lr.Attributes().Get(p.c.SamplingPriority)
		if !ok {
			return t
		}
		var pct float64
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			pct = v.Double()
		case pcommon.ValueTypeInt:
			pct = float64(v.Int())
		}
		if pct == 0 {
			return t // upstream: 0 (or another type) leaves the percentage as configured
		}
		if pt, err := probabilityToThreshold(pct/100, p.c.SamplingPrecision); err == nil {
			return pt
		}
		return t // above 100 or below 2^-56: as upstream, the configured percentage applies
	})
}
