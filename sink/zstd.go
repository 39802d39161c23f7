package sink

import (
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/encoding"
)

// zstdCompressor is grpc-go's encoding.Compressor for "zstd", so that the
// sink accepts OTLP/gRPC requests compressed with zstd (grpc-go has none of
// its own).
type zstdCompressor struct{}

func init() { encoding.RegisterCompressor(zstdCompressor{}) }

// Name is the grpc-encoding value.
func (zstdCompressor) Name() string { return "zstd" }

// Compress returns a writer that compresses into w.
func (zstdCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
}

// Decompress returns a reader of r's decompressed bytes; the reader frees
// its decoder at the end of the message.
func (zstdCompressor) Decompress(r io.Reader) (io.Reader, error) {
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &closingReader{d: d}, nil
}

// closingReader closes its decoder once the message is read.
type closingReader struct {
	d    *zstd.Decoder
	once sync.Once
}

func (c *closingReader) Read(p []byte) (int, error) {
	n, err := c.d.Read(p)
	if err != nil {
		c.once.Do(c.d.Close)
	}
	return n, err
}
