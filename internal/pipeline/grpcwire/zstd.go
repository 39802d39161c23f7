package grpcwire

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// readZstd reads the n bytes of a zstd-compressed message from r and
// decompresses them into buf, refusing more than max bytes after
// decompression.
func readZstd(r io.Reader, buf *bytes.Buffer, n uint32, max int) error {
	var comp bytes.Buffer
	if _, err := io.CopyN(&comp, r, int64(n)); err != nil {
		if err == io.EOF {
			return &Status{Code: Internal, Message: fmt.Sprintf(
				"the stream ends after %d of the message's %d bytes", comp.Len(), n)}
		}
		return err
	}
	zr, err := zstd.NewReader(&comp, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return &Status{Code: Internal, Message: "cannot decompress the zstd message: " + err.Error()}
	}
	defer zr.Close()
	m, err := buf.ReadFrom(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return &Status{Code: Internal, Message: "cannot decompress the zstd message: " + err.Error()}
	}
	if m > int64(max) {
		return &Status{Code: ResourceExhausted, Message: fmt.Sprintf(
			"message is larger than the limit of %d bytes after zstd decompression", max)}
	}
	return nil
}
