package spill

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// rec returns record i of a test: its data starts with i and is filled
// with a pattern of i, size bytes long (at least 8).
func rec(i, size int) Record {
	size = max(size, 8)
	data := make([]byte, size)
	binary.LittleEndian.PutUint64(data, uint64(i))
	for j := 8; j < size; j++ {
		data[j] = byte(i*7 + j)
	}
	return Record{
		Signal:   pipeline.Signals[i%3],
		Exporter: fmt.Sprintf("otlphttp/%d", i%2),
		Data:     data,
		Items:    int64(i + 1),
		Enqueued: time.Unix(1_700_000_000, int64(i)),
	}
}

// id checks that r is a record rec made and returns its index.
func id(t testing.TB, r Record) int {
	t.Helper()
	if len(r.Data) < 8 {
		t.Fatalf("record of %d bytes", len(r.Data))
	}
	i := int(binary.LittleEndian.Uint64(r.Data))
	want := rec(i, len(r.Data))
	if r.Signal != want.Signal || r.Exporter != want.Exporter || r.Items != want.Items ||
		!r.Enqueued.Equal(want.Enqueued) || !bytes.Equal(r.Data, want.Data) {
		t.Fatalf("record %d came back different: signal %s exporter %q items %d enqueued %v",
			i, r.Signal, r.Exporter, r.Items, r.Enqueued)
	}
	return i
}

// testConfig is a queue in dir with small segments.
func testConfig(dir string) Config {
	return Config{Dir: dir, MaxBytes: 64 << 20, SegmentBytes: 16 << 10, LockWait: -1}
}

func mustOpen(t testing.TB, cfg Config, logger *slog.Logger) *Queue {
	t.Helper()
	q, err := Open(cfg, logger)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return q
}

func putAll(t testing.TB, q *Queue, from, to, size int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := q.Put(rec(i, size)); err != nil {
			t.Fatalf("Put(%d): %v", i, err)
		}
	}
}

// drain replays and acknowledges everything, returning the indexes in
// replay order.
func drain(t testing.TB, q *Queue) []int {
	t.Helper()
	var got []int
	for n := 0; ; n++ {
		if n > 1_000_000 {
			t.Fatal("Next does not end")
		}
		r, tok, ok := q.Next()
		if !ok {
			return got
		}
		got = append(got, id(t, r))
		if err := q.Ack(tok); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// segFiles lists the segment files in dir, oldest first.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logBuffer collects log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the lines that contain s.
func (l *logBuffer) count(s string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func newLog() (*logBuffer, *slog.Logger) {
	l := &logBuffer{}
	return l, slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func copyFile(t testing.TB, src, dst string, n int64) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(out, in, n); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
