package buffer

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// mergeTraces merges, in place, the ResourceSpans of td that have equal
// resources, and within each the ScopeSpans that have equal scopes. The
// first of equal entries keeps its place; order is otherwise kept.
func mergeTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	dedupe(rss, resourceKey, sameResource, func(from, into ptrace.ResourceSpans) {
		from.ScopeSpans().MoveAndAppendTo(into.ScopeSpans())
	})
	for i := range rss.Len() {
		dedupe(rss.At(i).ScopeSpans(), scopeKey, sameScope, func(from, into ptrace.ScopeSpans) {
			from.Spans().MoveAndAppendTo(into.Spans())
		})
	}
}

// mergeMetrics is mergeTraces for metrics. Metrics of the same name are not
// merged: they stay separate entries of their scope.
func mergeMetrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	dedupe(rms, resourceKey, sameResource, func(from, into pmetric.ResourceMetrics) {
		from.ScopeMetrics().MoveAndAppendTo(into.ScopeMetrics())
	})
	for i := range rms.Len() {
		dedupe(rms.At(i).ScopeMetrics(), scopeKey, sameScope, func(from, into pmetric.ScopeMetrics) {
			from.Metrics().MoveAndAppendTo(into.Metrics())
		})
	}
}

// mergeLogs is mergeTraces for logs.
func mergeLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	dedupe(rls, resourceKey, sameResource, func(from, into plog.ResourceLogs) {
		from.ScopeLogs().MoveAndAppendTo(into.ScopeLogs())
	})
	for i := range rls.Len() {
		dedupe(rls.At(i).ScopeLogs(), scopeKey, sameScope, func(from, into plog.ScopeLogs) {
			from.LogRecords().MoveAndAppendTo(into.LogRecords())
		})
	}
}

// pdataSlice is what dedupe needs of a pdata slice.
type pdataSlice[E any] interface {
	Len() int
	At(i int) E
	RemoveIf(f func(E) bool)
}

// dedupe finds the elements of s that equal an earlier element, moves their
// content into that earlier element with merge, and removes them. Elements
// are compared by key first, then, if the keys are the same, with equal.
func dedupe[E any, S pdataSlice[E]](s S, key func(E) uint64, equal func(a, b E) bool, merge func(from, into E)) {
	n := s.Len()
	if n < 2 {
		return
	}
	seen := make(map[uint64][]int, n) // key -> indexes of distinct elements
	var first []int                   // first[i]: the earliest element equal to i; nil if none repeats
	for i := range n {
		e := s.At(i)
		k := key(e)
		target := -1
		for _, j := range seen[k] {
			if equal(e, s.At(j)) {
				target = j
				break
			}
		}
		if target < 0 {
			seen[k] = append(seen[k], i)
			continue
		}
		if first == nil {
			first = make([]int, n)
			for j := range first {
				first[j] = j
			}
		}
		first[i] = target
		merge(e, s.At(target))
	}
	if first == nil {
		return
	}
	i := 0
	s.RemoveIf(func(E) bool { // RemoveIf visits the elements in order
		dup := first[i] != i
		i++
		return dup
	})
}

// resourceOwner is a ResourceSpans, ResourceMetrics or ResourceLogs.
type resourceOwner interface {
	Resource() pcommon.Resource
	SchemaUrl() string
}

// scopeOwner is a ScopeSpans, ScopeMetrics or ScopeLogs.
type scopeOwner interface {
	Scope() pcommon.InstrumentationScope
	SchemaUrl() string
}

func resourceKey[E resourceOwner](e E) uint64 {
	r := e.Resource()
	h := hashString(offset64, e.SchemaUrl())
	h = hashUint(h, uint64(r.DroppedAttributesCount()))
	return hashMap(h, r.Attributes())
}

func sameResource[E resourceOwner](a, b E) bool {
	ra, rb := a.Resource(), b.Resource()
	return a.SchemaUrl() == b.SchemaUrl() &&
		ra.DroppedAttributesCount() == rb.DroppedAttributesCount() &&
		ra.Attributes().Equal(rb.Attributes())
}

func scopeKey[E scopeOwner](e E) uint64 {
	s := e.Scope()
	h := hashString(offset64, e.SchemaUrl())
	h = hashString(h, s.Name())
	h = hashString(h, s.Version())
	h = hashUint(h, uint64(s.DroppedAttributesCount()))
	return hashMap(h, s.Attributes())
}

func sameScope[E scopeOwner](a, b E) bool {
	sa, sb := a.Scope(), b.Scope()
	return a.SchemaUrl() == b.SchemaUrl() &&
		sa.Name() == sb.Name() && sa.Version() == sb.Version() &&
		sa.DroppedAttributesCount() == sb.DroppedAttributesCount() &&
		sa.Attributes().Equal(sb.Attributes())
}

// FNV-1a, 64 bits. The hash of a map does not depend on the order of its
// entries, as pcommon.Map.Equal does not.
const (
	offset64 = 14695981039346656037
	prime64  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	h = hashUint(h, uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	return h
}

func hashUint(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= prime64
		v >>= 8
	}
	return h
}

func hashMap(h uint64, m pcommon.Map) uint64 {
	var sum uint64 // order-independent: a sum of mixed entry hashes
	m.Range(func(k string, v pcommon.Value) bool {
		sum += mix(hashValue(hashString(offset64, k), v))
		return true
	})
	return hashUint(hashUint(h, uint64(m.Len())), sum)
}

func hashValue(h uint64, v pcommon.Value) uint64 {
	h = hashUint(h, uint64(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		h = hashString(h, v.Str())
	case pcommon.ValueTypeInt:
		h = hashUint(h, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		h = hashUint(h, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			h = hashUint(h, 1)
		}
	case pcommon.ValueTypeBytes:
		b := v.Bytes()
		h = hashUint(h, uint64(b.Len()))
		for i := range b.Len() {
			h ^= uint64(b.At(i))
			h *= prime64
		}
	case pcommon.ValueTypeMap:
		h = hashMap(h, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		h = hashUint(h, uint64(s.Len()))
		for i := range s.Len() {
			h = hashValue(h, s.At(i))
		}
	}
	return h
}

// mix spreads the bits of h (the splitmix64 finalizer) so that sums of
// entry hashes do not cancel out.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
