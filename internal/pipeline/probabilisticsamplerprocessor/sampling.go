package probabilisticsamplerprocessor

import (
	"errors"
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The arithmetic of OpenTelemetry's consistent probability sampling
// (the tracestate probability sampling specification, OTEP 235): 56 bits
// of randomness R per item, a threshold T (how many of the 2^56 random
// values are rejected), and the rule "sampled when T <= R".

const (
	// maxAdjustedCount is 2^56: the number of randomness values, and the
	// threshold that samples nothing.
	maxAdjustedCount uint64 = 1 << 56
	// hexDigits is the width of an r-value and the longest t-value.
	hexDigits = 14
	// minProbability is the smallest probability a threshold expresses.
	minProbability = 1.0 / float64(maxAdjustedCount)

	// hashBuckets is the hash_seed mode's resolution: 14 bits.
	hashBucketsLg2 = 14
	hashBuckets    = 1 << hashBucketsLg2
	hashMask       = hashBuckets - 1
)

// threshold is a rejection threshold in [0, 2^56]: 0 samples everything,
// 2^56 nothing.
type threshold uint64

const (
	alwaysSample threshold = 0
	neverSample  threshold = threshold(maxAdjustedCount)
)

// randomness is an item's 56 random bits.
type randomness uint64

// allProbabilities is the randomness sampled at every probability; it
// stands in when an item has none (the decision is then forced anyway).
const allProbabilities randomness = randomness(maxAdjustedCount - 1)

func (t threshold) sample(r randomness) bool { return uint64(t) <= uint64(r) }

// probability is the share of randomness values t accepts.
func (t threshold) probability() float64 {
	return float64(maxAdjustedCount-uint64(t)) / float64(maxAdjustedCount)
}

// tvalue encodes t as the "th" value: 14 hex digits without trailing
// zeros, "0" for always, "" for never.
func (t threshold) tvalue() string {
	switch t {
	case alwaysSample:
		return "0"
	case neverSample:
		return ""
	}
	return strings.TrimRight(randomness(t).rvalue(), "0")
}

// rvalue encodes r as the "rv" value: exactly 14 hex digits.
func (r randomness) rvalue() string {
	return strconv.FormatUint(maxAdjustedCount+uint64(r), 16)[1:]
}

var (
	errTValue = errors.New("th is not 1 to 14 hex digits")
	errRValue = errors.New("rv is not 14 hex digits")
	errRange  = errors.New("sampling probability out of the range [2^-56, 1]")
)

// parseTValue decodes a "th" value; the omitted trailing digits are zeros.
func parseTValue(s string) (threshold, error) {
	if len(s) == 0 || len(s) > hexDigits {
		return alwaysSample, errTValue
	}
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return alwaysSample, errTValue
	}
	return threshold(u << (4 * (hexDigits - len(s)))), nil
}

// parseRValue decodes an "rv" value.
func parseRValue(s string) (randomness, error) {
	if len(s) != hexDigits {
		return 0, errRValue
	}
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, errRValue
	}
	return randomness(u), nil
}

// probabilityToThreshold turns a probability into a threshold rounded to
// precision hex digits, with more digits near 0 and 1 so that the
// relative error stays small there (one more digit for every leading 0
// or f the threshold would have), as the specification's reference
// implementation does.
func probabilityToThreshold(p float64, precision int) (threshold, error) {
	if precision == 0 {
		precision = hexDigits
	}
	if p < minProbability || p > 1 {
		return alwaysSample, errRange
	}
	if p == 1 {
		return alwaysSample, nil
	}
	_, expF := math.Frexp(p)
	_, expR := math.Frexp(1 - p)
	precision = min(hexDigits, max(precision+expF/-4, precision+expR/-4))
	t := maxAdjustedCount - uint64(math.Round(p*float64(maxAdjustedCount)))
	if shift := 4 * (hexDigits - precision); shift != 0 {
		t += uint64(1) << (shift - 1)
		t >>= shift
		t <<= shift
	}
	return threshold(t), nil
}

// traceIDRandomness is the randomness of a W3C trace id: its last 7 bytes.
func traceIDRandomness(id pcommon.TraceID) randomness {
	var u uint64
	for _, b := range id[9:] {
		u = u<<8 | uint64(b)
	}
	return randomness(u)
}

// hashRandomness is the hash_seed mode's randomness of some bytes: the
// 32-bit FNV-1a hash of the seed (4 bytes, little-endian) followed by the
// bytes; its low 14 bits h give R' = 2^14-1-h as the top 14 bits, so that
// "T <= R" with T = (2^14 - rate) << 42 is the original test h < rate.
// The rest is filled as upstream does (its upper 18 bits, mixed, then h),
// so that the rv written to the tracestate is the same.
func hashRandomness(b []byte, seed uint32) randomness {
	h := fnv.New32a()
	h.Write([]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	h.Write(b)
	sum := h.Sum32()
	hashed := uint64(sum & hashMask)
	rprime := uint64(hashBuckets-1) - hashed
	unused18 := uint64(sum >> hashBucketsLg2)
	mixed28 := unused18 ^ (unused18 << 10)
	return randomness(rprime<<42 | mixed28<<14 | hashed)
}

// hashThreshold is the hash_seed mode's threshold for a percentage: the
// rate 2^14 * pct / 100 computed in 32-bit floating point and truncated,
// as the processor always has (so that decisions stay the same across
// versions), as a rejection threshold in the top 14 of 56 bits.
func hashThreshold(pct float32) threshold {
	const scale = float32(hashBuckets) / 100 // 163.84
	rate := uint32(pct * scale)
	if rate == 0 {
		return neverSample
	}
	return threshold(uint64(hashBuckets-rate) << 42)
}

// otelState is the "ot" member of a W3C tracestate: rv, th and the other
// keys in order.
type otelState struct {
	rv, th string
	r      randomness
	t      threshold
	extra  []string // "key:value"
}

// traceState is a parsed W3C tracestate: the "ot" member and the others.
type traceState struct {
	ot     otelState
	others []string // "key=value", in order
}

var errTraceState = errors.New("tracestate is not valid")

// parseTraceState parses a W3C tracestate header value.
func parseTraceState(s string) (traceState, error) {
	var ts traceState
	if len(s) > 1024 {
		return ts, errTraceState
	}
	n := 0
	for m := range strings.SplitSeq(s, ",") {
		m = strings.Trim(m, " \t")
		if m == "" {
			continue
		}
		n++
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" || v == "" || n > 32 || !validW3CKey(k) || !validW3CValue(v) {
			return ts, errTraceState
		}
		if k != "ot" {
			ts.others = append(ts.others, m)
			continue
		}
		if err := ts.ot.parse(v); err != nil {
			return ts, err
		}
	}
	return ts, nil
}

func validW3CKey(k string) bool {
	if len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '*' || c == '/' || c == '@'
		if !ok {
			return false
		}
	}
	return true
}

func validW3CValue(v string) bool {
	if len(v) > 256 || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

// parse reads the "ot" member: key:value pairs separated by ";", keys
// [a-z][a-z0-9]*, values [A-Za-z0-9._-]*.
func (o *otelState) parse(v string) error {
	if len(v) > 256 || strings.HasSuffix(v, ";") {
		return errTraceState
	}
	var errs []error
	for m := range strings.SplitSeq(v, ";") {
		k, val, ok := strings.Cut(m, ":")
		if !ok || !validOTelKey(k) || !validOTelValue(val) {
			return errTraceState
		}
		switch k {
		case "rv":
			r, err := parseRValue(val)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			o.rv, o.r = val, r
		case "th":
			t, err := parseTValue(val)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			o.th, o.t = val, t
		default:
			o.extra = append(o.extra, m)
		}
	}
	return errors.Join(errs...)
}

func validOTelKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validOTelValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// String writes the tracestate back: "ot" first (rv, th, the other keys),
// then the other members in their order.
func (ts traceState) String() string {
	var parts []string
	var ot []string
	if ts.ot.rv != "" {
		ot = append(ot, "rv:"+ts.ot.rv)
	}
	if ts.ot.th != "" {
		ot = append(ot, "th:"+ts.ot.th)
	}
	ot = append(ot, ts.ot.extra...)
	if len(ot) > 0 {
		parts = append(parts, "ot="+strings.Join(ot, ";"))
	}
	parts = append(parts, ts.others...)
	return strings.Join(parts, ",")
}
