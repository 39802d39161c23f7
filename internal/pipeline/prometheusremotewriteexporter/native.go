package prometheusremotewriteexporter

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Exponential histograms: as Prometheus native histograms, and delta
// points added into a cumulative one.

// maxExpBuckets bounds the buckets of a side of an exponential histogram
// made cumulative; past it the scale is lowered.
const maxExpBuckets = 2048

// mergeExponential adds the delta point dp to the cumulative st, at the
// lower of their scales.
func mergeExponential(st, dp pmetric.ExponentialHistogramDataPoint) {
	scale := min(st.Scale(), dp.Scale())
	pos, neg := map[int32]uint64{}, map[int32]uint64{}
	addBuckets(pos, st.Positive(), st.Scale()-scale)
	addBuckets(pos, dp.Positive(), dp.Scale()-scale)
	addBuckets(neg, st.Negative(), st.Scale()-scale)
	addBuckets(neg, dp.Negative(), dp.Scale()-scale)
	for spread(pos) > maxExpBuckets || spread(neg) > maxExpBuckets {
		pos, neg = halve(pos), halve(neg)
		scale--
	}
	setBuckets(st.Positive(), pos)
	setBuckets(st.Negative(), neg)
	st.SetScale(scale)
	st.SetCount(st.Count() + dp.Count())
	st.SetSum(st.Sum() + dp.Sum())
	st.SetZeroCount(st.ZeroCount() + dp.ZeroCount())
	st.SetZeroThreshold(max(st.ZeroThreshold(), dp.ZeroThreshold()))
}

func addBuckets(m map[int32]uint64, b pmetric.ExponentialHistogramDataPointBuckets, shift int32) {
	for i, c := range b.BucketCounts().AsRaw() {
		if c > 0 {
			m[(b.Offset()+int32(i))>>shift] += c
		}
	}
}

func spread(m map[int32]uint64) int {
	if len(m) == 0 {
		return 0
	}
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for i := range m {
		lo, hi = min(lo, i), max(hi, i)
	}
	return int(hi-lo) + 1
}

func halve(m map[int32]uint64) map[int32]uint64 {
	out := make(map[int32]uint64, len(m))
	for i, c := range m {
		out[i>>1] += c
	}
	return out
}

func setBuckets(b pmetric.ExponentialHistogramDataPointBuckets, m map[int32]uint64) {
	if len(m) == 0 {
		b.SetOffset(0)
		b.BucketCounts().FromRaw(nil)
		return
	}
	lo := int32(math.MaxInt32)
	for i := range m {
		lo = min(lo, i)
	}
	counts := make([]uint64, spread(m))
	for i, c := range m {
		counts[i-lo] = c
	}
	b.SetOffset(lo)
	b.BucketCounts().FromRaw(counts)
}

// native makes a Prometheus native histogram of an exponential histogram
// point. Scales above 8 are merged down to schema 8; below -4 there is
// no schema.
func native(dp pmetric.ExponentialHistogramDataPoint, ts int64) (nativeHistogram, bool) {
	scale := dp.Scale()
	if scale < -4 {
		return nativeHistogram{}, false
	}
	shift := int32(0)
	if scale > 8 {
		shift = scale - 8
		scale = 8
	}
	h := nativeHistogram{
		count: dp.Count(), sum: dp.Sum(), schema: scale, zeroCount: dp.ZeroCount(), zeroThresh: dp.ZeroThreshold(), ts: ts,
	}
	if dp.Flags().NoRecordedValue() {
		h.sum = staleNaN
	}
	h.posOffset, h.posDeltas = nativeBuckets(dp.Positive(), shift)
	h.negOffset, h.negDeltas = nativeBuckets(dp.Negative(), shift)
	return h, true
}

// nativeBuckets returns the first Prometheus bucket index and the counts
// as deltas, one span: OpenTelemetry's bucket i is (base^i, base^(i+1)],
// Prometheus' bucket i+1.
func nativeBuckets(b pmetric.ExponentialHistogramDataPointBuckets, shift int32) (int32, []int64) {
	counts := b.BucketCounts().AsRaw()
	if len(counts) == 0 {
		return 0, nil
	}
	first := b.Offset() >> shift
	merged := make([]uint64, 0, len(counts))
	for i, c := range counts {
		idx := (b.Offset() + int32(i)) >> shift
		pos := int(idx - first)
		for len(merged) <= pos {
			merged = append(merged, 0)
		}
		merged[pos] += c
	}
	// Leading and trailing empty buckets are left out.
	lo, hi := 0, len(merged)
	for lo < hi && merged[lo] == 0 {
		lo++
	}
	for hi > lo && merged[hi-1] == 0 {
		hi--
	}
	if lo == hi {
		return 0, nil
	}
	deltas := make([]int64, 0, hi-lo)
	var prev int64
	for _, c := range merged[lo:hi] {
		deltas = append(deltas, int64(c)-prev)
		prev = int64(c)
	}
	return first + int32(lo) + 1, deltas
}
