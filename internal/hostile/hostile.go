// Package hostile makes the hostile inputs the extension's tests throw at
// it: OTLP requests nested deeper than any decoder or backend takes,
// requests of millions of empty items that compress to kilobytes, and
// configuration files that expand exponentially. The bytes are built
// without recursion and without the data model, so that a generator never
// suffers what it makes.
package hostile

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/protobuf/encoding/protowire"
)

// DeepValue returns an OTLP AnyValue in protobuf that nests levels arrays:
// {array_value: {values: [{array_value: ...}]}}, with an empty AnyValue at
// the bottom. Each level costs four bytes or more.
func DeepValue(levels int) []byte {
	// Sizes from the inside out, then the prefixes from the outside in:
	// the message is nothing but prefixes.
	type prefix struct{ arrayLen, valueLen int }
	sizes := make([]prefix, levels)
	inner := 0 // the innermost AnyValue is empty
	for i := levels - 1; i >= 0; i-- {
		arr := 1 + protowire.SizeVarint(uint64(inner)) + inner // ArrayValue{values: inner}
		val := 1 + protowire.SizeVarint(uint64(arr)) + arr     // AnyValue{array_value: arr}
		sizes[i] = prefix{arr, val}
		inner = val
	}
	out := make([]byte, 0, inner)
	for i := range levels {
		out = protowire.AppendTag(out, 5, protowire.BytesType) // AnyValue.array_value
		out = protowire.AppendVarint(out, uint64(sizes[i].arrayLen))
		out = protowire.AppendTag(out, 1, protowire.BytesType) // ArrayValue.values
		var next int
		if i+1 < levels {
			next = sizes[i+1].valueLen
		}
		out = protowire.AppendVarint(out, uint64(next))
	}
	return out
}

// message appends field num holding msg.
func message(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// DeepSpan returns an ExportTraceServiceRequest in protobuf of one span
// named name whose attribute "deep" nests levels arrays.
func DeepSpan(name string, levels int) []byte {
	kv := message(nil, 1, []byte("deep"))
	kv = message(kv, 2, DeepValue(levels))
	sp := message(nil, 5, []byte(name))
	sp = message(sp, 1, make([]byte, 16)) // trace_id
	sp[len(sp)-16] = 1
	sp = message(sp, 2, []byte{1, 2, 3, 4, 5, 6, 7, 8}) // span_id
	sp = message(sp, 9, kv)
	ss := message(nil, 2, sp)
	rs := message(nil, 2, ss)
	return message(nil, 1, rs)
}

// DeepLog returns an ExportLogsServiceRequest in protobuf of one log
// record whose body nests levels arrays.
func DeepLog(levels int) []byte {
	lr := message(nil, 5, DeepValue(levels))
	sl := message(nil, 2, lr)
	rl := message(nil, 2, sl)
	return message(nil, 1, rl)
}

// DeepSpanJSON returns an ExportTraceServiceRequest in OTLP/JSON of one span
// whose attribute "deep" nests levels arrays (kvlist if kvlist is true).
func DeepSpanJSON(levels int, kvlist bool) []byte {
	open, close := `{"arrayValue":{"values":[`, `]}}`
	if kvlist {
		open, close = `{"kvlistValue":{"values":[{"key":"k","value":`, `}]}}`
	}
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000","spanId":"0102030405060708","name":"deep","attributes":[{"key":"deep","value":`)
	for range levels {
		b.WriteString(open)
	}
	b.WriteString(`{"stringValue":"bottom"}`)
	for range levels {
		b.WriteString(close)
	}
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

// EmptySpans returns an ExportTraceServiceRequest in protobuf of n empty
// spans in one scope: two bytes each, about 200 decoded.
func EmptySpans(n int) []byte {
	ss := make([]byte, 0, 2*n)
	for range n {
		ss = append(ss, 0x12, 0) // ScopeSpans.spans: empty
	}
	rs := message(nil, 2, ss)
	return message(nil, 1, rs)
}

// EmptySpansJSON returns an ExportTraceServiceRequest in OTLP/JSON of n
// empty spans: three bytes each.
func EmptySpansJSON(n int) []byte {
	var b bytes.Buffer
	b.Grow(3*n + 64)
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]}]}]}`)
	return b.Bytes()
}

// Gzip returns b compressed with gzip.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// InvalidUTF8Span returns an ExportTraceServiceRequest in protobuf of one
// span whose name is not UTF-8, which protobuf decoders that check strings
// (Go's, Java's) refuse.
func InvalidUTF8Span() []byte {
	sp := message(nil, 5, []byte("bad\xff\xfename"))
	sp = message(sp, 1, append([]byte{1}, make([]byte, 15)...))
	sp = message(sp, 2, []byte{1, 2, 3, 4, 5, 6, 7, 9})
	ss := message(nil, 2, sp)
	rs := message(nil, 2, ss)
	return message(nil, 1, rs)
}

// MergeBomb returns a YAML configuration whose merge keys (<<:) nest
// levels deep, each level merging the one below twice, so that a loader
// that follows merges naively does 2^levels work. The bomb is the OTLP/HTTP
// receiver's settings.
func MergeBomb(levels int) []byte {
	var b strings.Builder
	b.WriteString("x0: &a0 {endpoint: 127.0.0.1:4318}\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	fmt.Fprintf(&b, "receivers:\n  otlp:\n    protocols:\n      http: {<<: *a%d}\n", levels)
	b.WriteString("exporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n")
	return []byte(b.String())
}

// AliasBomb returns a YAML document of the "billion laughs" kind: each of
// levels anchors is a list of ten aliases of the one before.
func AliasBomb(levels int) []byte {
	var b strings.Builder
	b.WriteString("a0: &a0 [\"lol\"]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return []byte(b.String())
}
