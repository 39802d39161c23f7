package spill

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks print MB/s (of OTLP data) and records/s; budgets are read
// from the figures, not asserted.

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func benchConfig(dir string, fsync FsyncPolicy) Config {
	return Config{Dir: dir, MaxBytes: 256 << 20, Fsync: fsync, LockWait: -1}
}

func reportRecords(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPut writes records; once the queue is full, every segment
// started drops the oldest one, as in a long outage.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, fsync := range []FsyncPolicy{FsyncNever, FsyncEach} {
			b.Run(fmt.Sprintf("size=%s/fsync=%s", sizeName(size), fsync), func(b *testing.B) {
				q := mustOpen(b, benchConfig(b.TempDir(), fsync), nil)
				defer q.Close()
				r := rec(0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := q.Put(r); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportRecords(b)
			})
		}
	}
}

// BenchmarkReplay replays and acknowledges records (Next, then Ack).
func BenchmarkReplay(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, fsync := range []FsyncPolicy{FsyncNever, FsyncEach} {
			b.Run(fmt.Sprintf("size=%s/fsync=%s", sizeName(size), fsync), func(b *testing.B) {
				q := mustOpen(b, benchConfig(b.TempDir(), fsync), nil)
				defer q.Close()
				r := rec(0, size)
				batch := max(64, (32<<20)/size)
				left := 0
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if left == 0 {
						b.StopTimer()
						for range batch {
							if err := q.Put(r); err != nil {
								b.Fatal(err)
							}
						}
						left = batch
						b.StartTimer()
					}
					_, tok, ok := q.Next()
					if !ok {
						b.Fatal("queue empty")
					}
					if err := q.Ack(tok); err != nil {
						b.Fatal(err)
					}
					left--
				}
				b.StopTimer()
				reportRecords(b)
			})
		}
	}
}

// BenchmarkOpen measures Open (Close is not timed) on the directories the
// extension finds at start-up.
func BenchmarkOpen(b *testing.B) {
	fill := func(b *testing.B, dir string, n, size, acked int) {
		q := mustOpen(b, Config{Dir: dir}, nil)
		putAll(b, q, 0, n, size)
		for range acked {
			_, tok, _ := q.Next()
			q.Ack(tok)
		}
		q.Close()
	}
	// run times Open alone (the open-µs metric) and reports what Open
	// found; ns/op also counts Close and any preparation.
	run := func(b *testing.B, dir func(i int) string, prepare func(dir string)) {
		var open time.Duration
		for i := range b.N {
			d := dir(i)
			if prepare != nil {
				prepare(d)
			}
			start := time.Now()
			q, err := Open(Config{Dir: d}, nil)
			open += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				st := q.Stats()
				b.ReportMetric(float64(st.Records), "records")
				b.ReportMetric(float64(st.Segments), "segments")
			}
			q.Close()
		}
		b.ReportMetric(float64(open.Microseconds())/float64(b.N), "open-µs")
	}
	b.Run("absent dir", func(b *testing.B) {
		base := b.TempDir()
		run(b, func(i int) string { return filepath.Join(base, fmt.Sprint(i)) }, nil)
	})
	b.Run("empty dir", func(b *testing.B) {
		dir := b.TempDir()
		run(b, func(int) string { return dir }, nil)
	})
	for _, tc := range []struct {
		size, acked int
	}{{1 << 10, 0}, {1 << 10, 500}, {64 << 10, 0}} {
		b.Run(fmt.Sprintf("1000 records of %s, %d acknowledged", sizeName(tc.size), tc.acked), func(b *testing.B) {
			dir := b.TempDir()
			fill(b, dir, 1000, tc.size, tc.acked)
			run(b, func(int) string { return dir }, nil)
		})
	}
	// A full queue (128 MiB, 32 segments) whose writer was killed: Open
	// reads 31 seals and the headers of the last segment, and seals it.
	b.Run("full queue of 64KiB records, writer killed", func(b *testing.B) {
		dir := b.TempDir()
		fill(b, dir, 2100, 64<<10, 0)
		files := segFiles(b, dir)
		last := files[len(files)-1]
		fi, _ := os.Stat(last)
		run(b, func(int) string { return dir }, func(string) {
			if err := os.Truncate(last, fi.Size()-sealLen); err != nil {
				b.Fatal(err)
			}
		})
	})
	// After a crash: the segment has no seal, Open reads its headers,
	// seals it, and the benchmark puts the unsealed copy back each time.
	b.Run("1000 records of 1KiB, writer killed", func(b *testing.B) {
		src := b.TempDir()
		fill(b, src, 1000, 1<<10, 0)
		seg := segFiles(b, src)[0]
		fi, _ := os.Stat(seg)
		dir := b.TempDir()
		run(b, func(int) string { return dir }, func(dir string) {
			copyFile(b, seg, filepath.Join(dir, filepath.Base(seg)), fi.Size()-sealLen)
		})
	})
}
