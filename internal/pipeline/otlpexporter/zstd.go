package otlpexporter

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdEncoder compresses request bodies with zstd at its fastest level.
// It is made at first use (its tables cost memory and the start path does
// not need them) and is safe for concurrent EncodeAll calls.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1)) // the options are valid
	return enc
})

// zstdCompress returns raw compressed as one zstd frame.
func zstdCompress(raw []byte) []byte {
	return zstdEncoder().EncodeAll(raw, make([]byte, 0, len(raw)/4+64))
}
