package prometheusremotewriteexporter

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The remote write 1.0 protobuf (prometheus.WriteRequest), encoded field
// by field: the message is small, and the Prometheus module is large.
//
//	WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//	TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
//	                 repeated Histogram histograms = 4; }
//	Exemplar       { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
//	Label          { string name = 1; string value = 2; }
//	Sample         { double value = 1; int64 timestamp = 2; }
//	MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//	Histogram      { uint64 count_int = 1; double sum = 3; sint32 schema = 4; double zero_threshold = 5;
//	                 uint64 zero_count_int = 6; repeated BucketSpan negative_spans = 8;
//	                 repeated sint64 negative_deltas = 9; repeated BucketSpan positive_spans = 11;
//	                 repeated sint64 positive_deltas = 12; ResetHint reset_hint = 14; int64 timestamp = 15; }
//	BucketSpan     { sint32 offset = 1; uint32 length = 2; }

func appendLabel(b []byte, l label) []byte {
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(1)+protowire.SizeBytes(len(l.name))+protowire.SizeTag(2)+protowire.SizeBytes(len(l.value))))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, l.name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendString(b, l.value)
}

func sampleSize(s sample) int {
	return protowire.SizeTag(1) + protowire.SizeFixed64() + protowire.SizeTag(2) + protowire.SizeVarint(uint64(s.ts))
}

func appendSample(b []byte, s sample) []byte {
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sampleSize(s)))
	b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(s.value))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(s.ts))
}

// appendSpanAndDeltas appends one BucketSpan (field spanField) and the
// packed deltas (field deltaField).
func appendSpanAndDeltas(b []byte, spanField, deltaField protowire.Number, offset int32, deltas []int64) []byte {
	if len(deltas) == 0 {
		return b
	}
	span := protowire.AppendTag(nil, 1, protowire.VarintType)
	span = protowire.AppendVarint(span, protowire.EncodeZigZag(int64(offset)))
	span = protowire.AppendTag(span, 2, protowire.VarintType)
	span = protowire.AppendVarint(span, uint64(len(deltas)))
	b = protowire.AppendTag(b, spanField, protowire.BytesType)
	b = protowire.AppendBytes(b, span)
	var packed []byte
	for _, d := range deltas {
		packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(d))
	}
	b = protowire.AppendTag(b, deltaField, protowire.BytesType)
	return protowire.AppendBytes(b, packed)
}

func encodeHistogram(h nativeHistogram) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, h.count)
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(h.sum))
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(h.schema)))
	b = protowire.AppendTag(b, 5, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(h.zeroThresh))
	b = protowire.AppendTag(b, 6, protowire.VarintType)
	b = protowire.AppendVarint(b, h.zeroCount)
	b = appendSpanAndDeltas(b, 8, 9, h.negOffset, h.negDeltas)
	b = appendSpanAndDeltas(b, 11, 12, h.posOffset, h.posDeltas)
	b = protowire.AppendTag(b, 15, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(h.ts))
}

// encodeSeries is one TimeSeries message, without its field tag.
func encodeSeries(s *timeSeries) []byte {
	var b []byte
	for _, l := range s.labels {
		b = appendLabel(b, l)
	}
	for _, x := range s.samples {
		b = appendSample(b, x)
	}
	for _, e := range s.exemplars {
		var x []byte
		for _, l := range e.labels {
			x = appendLabel(x, l)
		}
		x = protowire.AppendTag(x, 2, protowire.Fixed64Type)
		x = protowire.AppendFixed64(x, math.Float64bits(e.value))
		x = protowire.AppendTag(x, 3, protowire.VarintType)
		x = protowire.AppendVarint(x, uint64(e.ts))
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, x)
	}
	for _, h := range s.histograms {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeHistogram(h))
	}
	return b
}

func encodeMetadata(m metadata) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.typ))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, m.family)
	if m.help != "" {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, m.help)
	}
	if m.unit != "" {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, m.unit)
	}
	return b
}

// request is one WriteRequest: its protobuf and what it holds.
type request struct {
	body    []byte
	samples int // samples and histograms
}

// encodeRequests encodes the series and metadata as WriteRequests of at
// most maxBytes each. A series larger than maxBytes goes alone.
func encodeRequests(series []*timeSeries, meta []metadata, maxBytes int) []request {
	var out []request
	var cur request
	add := func(field protowire.Number, msg []byte, samples int) {
		size := protowire.SizeTag(field) + protowire.SizeBytes(len(msg))
		if len(cur.body) > 0 && len(cur.body)+size > maxBytes {
			out = append(out, cur)
			cur = request{}
		}
		cur.body = protowire.AppendTag(cur.body, field, protowire.BytesType)
		cur.body = protowire.AppendBytes(cur.body, msg)
		cur.samples += samples
	}
	for _, s := range series {
		add(1, encodeSeries(s), len(s.samples)+len(s.histograms))
	}
	for _, m := range meta {
		add(3, encodeMetadata(m), 0)
	}
	if len(cur.body) > 0 {
		out = append(out, cur)
	}
	return out
}
