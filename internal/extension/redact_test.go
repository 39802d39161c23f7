package extension

import (
	"bytes"
	"testing"
)

// TestRedactWriter checks that secret values never reach the log.
func TestRedactWriter(t *testing.T) {
	var out bytes.Buffer
	w := &redactWriter{w: &out}
	w.Write([]byte("before: s3cr3t\n"))
	w.set([]string{"s3cr3t", "k-123"})
	n, err := w.Write([]byte("POST https://x: 401: invalid key s3cr3t (k-123)\n"))
	if err != nil || n != 48 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	want := "before: s3cr3t\nPOST https://x: 401: invalid key [redacted] ([redacted])\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}
