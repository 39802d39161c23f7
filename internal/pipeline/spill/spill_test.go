package spill

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

func TestReplayOrderAcrossReopen(t *testing.T) {
	tests := []struct {
		name   string
		size   int   // record size
		rounds []int // records put before each reopen
	}{
		{"one record", 100, []int{1}},
		{"small records, one segment", 100, []int{50}},
		{"small records, many segments, reopened", 1000, []int{40, 0, 25, 60}},
		{"records larger than a segment", 40 << 10, []int{3, 2}},
		{"records larger than the read buffer", 200 << 10, []int{2, 1}},
		{"empty data", 0, []int{5, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			n := 0
			for _, k := range tt.rounds {
				q := mustOpen(t, cfg, nil)
				if st := q.Stats(); st.Records != int64(n) {
					t.Fatalf("after reopen: %d records, want %d", st.Records, n)
				}
				putAll(t, q, n, n+k, tt.size)
				n += k
				if err := q.Close(); err != nil {
					t.Fatal(err)
				}
			}
			q := mustOpen(t, cfg, nil)
			defer q.Close()
			var items int64
			for i := range n {
				items += int64(i + 1)
			}
			if st := q.Stats(); st.Records != int64(n) || st.Items != items {
				t.Fatalf("Stats: %d records, %d items; want %d, %d", st.Records, st.Items, n, items)
			}
			if got := drain(t, q); !equalInts(got, seq(0, n)) {
				t.Fatalf("replayed %v, want 0..%d in order", got, n-1)
			}
			st := q.Stats()
			if st.Records != 0 || st.Items != 0 || st.Replayed != int64(n) || st.ReplayedItems != items || st.Corrupt != 0 {
				t.Fatalf("Stats after replay: %+v", st)
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			if f := segFiles(t, cfg.Dir); len(f) != 0 {
				t.Fatalf("segments left after a full replay: %v", f)
			}
			if fi, err := os.Stat(filepath.Join(cfg.Dir, ackName)); err == nil && fi.Size() != 0 {
				t.Fatalf("acknowledgement log of %d bytes left after a full replay", fi.Size())
			}
		})
	}
}

func TestReplayWhileWriting(t *testing.T) {
	q := mustOpen(t, testConfig(t.TempDir()), nil)
	defer q.Close()
	var got []int
	for round := range 20 {
		putAll(t, q, round*7, round*7+7, 3000)
		got = append(got, drain(t, q)...)
	}
	if !equalInts(got, seq(0, 140)) {
		t.Fatalf("replayed %v", got)
	}
	if st := q.Stats(); st.Segments > 1 || st.Records != 0 {
		t.Fatalf("Stats: %+v", st)
	}
}

func TestFullQueueDropsOldest(t *testing.T) {
	tests := []struct {
		name               string
		maxBytes, segBytes int64
		size, n            int
	}{
		{"many segments", 64 << 10, 8 << 10, 1000, 300},
		{"one record per segment", 64 << 10, 1, 5000, 100},
		{"default segment size", 32 << 10, 0, 500, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs, logger := newLog()
			cfg := Config{Dir: t.TempDir(), MaxBytes: tt.maxBytes, SegmentBytes: tt.segBytes, LockWait: -1}
			q := mustOpen(t, cfg, logger)
			defer q.Close()
			for i := range tt.n {
				if err := q.Put(rec(i, tt.size)); err != nil {
					t.Fatal(err)
				}
				if st := q.Stats(); st.Bytes > tt.maxBytes {
					t.Fatalf("after Put(%d): %d bytes on disk, more than MaxBytes %d", i, st.Bytes, tt.maxBytes)
				}
				var onDisk int64
				for _, f := range segFiles(t, cfg.Dir) {
					fi, _ := os.Stat(f)
					onDisk += fi.Size()
				}
				if onDisk > tt.maxBytes {
					t.Fatalf("after Put(%d): segment files hold %d bytes, more than %d", i, onDisk, tt.maxBytes)
				}
			}
			st := q.Stats()
			if st.Dropped == 0 {
				t.Fatal("nothing dropped")
			}
			if st.Dropped+st.Records != int64(tt.n) {
				t.Fatalf("dropped %d + kept %d != put %d", st.Dropped, st.Records, tt.n)
			}
			var droppedItems int64
			for i := range int(st.Dropped) {
				droppedItems += int64(i + 1)
			}
			if st.DroppedItems != droppedItems {
				t.Fatalf("dropped items %d, want %d", st.DroppedItems, droppedItems)
			}
			got := drain(t, q)
			if !equalInts(got, seq(int(st.Dropped), tt.n)) {
				t.Fatalf("replayed %v, want the newest %d..%d", got, st.Dropped, tt.n-1)
			}
			if n := logs.count(`level=WARN msg="spill queue: dropped the oldest`); n != 1 {
				t.Fatalf("%d warnings about dropping, want 1:\n%s", n, logs)
			}
		})
	}
}

// TestTornTail cuts the last segment at every byte of its last record and
// its seal, as a process killed in the middle of a write leaves it.
func TestTornTail(t *testing.T) {
	const n, size = 4, 300
	src := t.TempDir()
	q := mustOpen(t, testConfig(src), nil)
	putAll(t, q, 0, n, size)
	q.Close()
	files := segFiles(t, src)
	if len(files) != 1 {
		t.Fatalf("%d segments", len(files))
	}
	recLen := int64(headerLen + len(rec(0, size).Exporter) + size)
	lastStart, lastEnd := (n-1)*recLen, n*recLen
	fileSize := lastEnd + sealLen
	for cut := lastStart; cut < fileSize; cut++ {
		dir := t.TempDir()
		copyFile(t, files[0], filepath.Join(dir, filepath.Base(files[0])), cut)
		logs, logger := newLog()
		q := mustOpen(t, testConfig(dir), logger)
		want := n
		if cut < lastEnd {
			want = n - 1
		}
		torn := int64(0)
		if cut != lastStart && cut != lastEnd {
			torn = 1
		}
		st := q.Stats()
		if st.Records != int64(want) || st.TornTails != torn || st.Corrupt != 0 {
			t.Fatalf("cut at %d: %d records, %d torn tails, %d corrupt; want %d, %d, 0", cut, st.Records, st.TornTails, st.Corrupt, want, torn)
		}
		if torn == 1 && logs.count("repaired") != 1 {
			t.Fatalf("cut at %d: no log line about the repair:\n%s", cut, logs)
		}
		q.Close()
		// The repair is on disk: the next Open finds a sealed segment.
		q = mustOpen(t, testConfig(dir), nil)
		if st := q.Stats(); st.TornTails != 0 || st.Records != int64(want) {
			t.Fatalf("cut at %d, second Open: %+v", cut, st)
		}
		putAll(t, q, want, n+2, size)
		if got := drain(t, q); !equalInts(got, seq(0, n+2)) {
			t.Fatalf("cut at %d: replayed %v", cut, got)
		}
		q.Close()
	}
}

func TestCorruptData(t *testing.T) {
	const n, size = 12, 500
	exp := len(rec(0, size).Exporter)
	recLen := int64(headerLen + exp + size)
	at := func(record int, field int64) int64 { return int64(record)*recLen + field }
	tests := []struct {
		name        string
		damage      func(b []byte)
		lost        int   // records not replayed
		corrupt     int64 // corrupt spots, found by Open or replay
		tornTails   int64
		recordsOpen int // records Stats counts after Open
		replayLog   int // log lines about corrupt data from replay
	}{
		{"magic of record 5", func(b []byte) { b[at(5, 0)] ^= 0x01 }, 1, 1, 0, n, 1},
		{"length of record 5", func(b []byte) { b[at(5, 9)] ^= 0x40 }, 1, 1, 0, n, 1},
		{"header checksum of record 5", func(b []byte) { b[at(5, 33)] ^= 0x80 }, 1, 1, 0, n, 1},
		{"exporter id of record 5", func(b []byte) { b[at(5, headerLen)] ^= 0x02 }, 1, 1, 0, n, 1},
		{"data of record 5", func(b []byte) { b[at(5, headerLen+int64(exp)+100)] ^= 0x10 }, 1, 1, 0, n, 1},
		{"first record", func(b []byte) { b[at(0, 20)] ^= 0x10 }, 1, 1, 0, n, 1},
		{"last record", func(b []byte) { b[at(n-1, headerLen+50)] ^= 0x10 }, 1, 1, 0, n, 1},
		{"records 3 and 8", func(b []byte) { b[at(3, 200)] ^= 1; b[at(8, 2)] ^= 1 }, 2, 2, 0, n, 1},
		{"zeros over records 4 to 6", func(b []byte) { clear(b[at(4, 10):at(7, 0)]) }, 3, 1, 0, n, 1},
		{"seal", func(b []byte) { b[at(n, 30)] ^= 0x04 }, 0, 1, 0, n, 0},
		{"seal and record 2", func(b []byte) { b[at(n, 3)] ^= 0x04; b[at(2, 0)] = 'X' }, 1, 2, 0, n - 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := mustOpen(t, testConfig(dir), nil)
			putAll(t, q, 0, n, size)
			q.Close()
			files := segFiles(t, dir)
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(b)
			if err := os.WriteFile(files[0], b, 0o600); err != nil {
				t.Fatal(err)
			}
			logs, logger := newLog()
			q = mustOpen(t, testConfig(dir), logger)
			defer q.Close()
			if st := q.Stats(); st.Records != int64(tt.recordsOpen) || st.TornTails != tt.tornTails {
				t.Fatalf("after Open: %d records, %d torn tails; want %d, %d", st.Records, st.TornTails, tt.recordsOpen, tt.tornTails)
			}
			got := drain(t, q)
			if len(got) != n-tt.lost {
				t.Fatalf("replayed %d records (%v), want %d", len(got), got, n-tt.lost)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("replayed out of order: %v", got)
				}
			}
			st := q.Stats()
			if st.Corrupt != tt.corrupt || st.Records != 0 || st.Segments != 0 {
				t.Fatalf("Stats: %+v; want %d corrupt spots and an empty queue", st, tt.corrupt)
			}
			if tt.recordsOpen == n && st.LostRecords != int64(tt.lost) {
				t.Fatalf("%d lost records, want %d", st.LostRecords, tt.lost)
			}
			if n := logs.count("skipped corrupt data"); n != tt.replayLog {
				t.Fatalf("%d log lines about corrupt data, want %d:\n%s", n, tt.replayLog, logs)
			}
		})
	}
}

// TestCorruptReplayedOnce: corrupt data found by one process is noted, so
// that the next one neither counts nor reports it again.
func TestCorruptReplayedOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 10, 100)
	q.Close()
	f := segFiles(t, dir)[0]
	b, _ := os.ReadFile(f)
	b[150] ^= 0xff // record 1's header
	os.WriteFile(f, b, 0o600)

	q = mustOpen(t, cfg, nil)
	for range 3 { // 0 and 2 are handed out; 1 is skipped on the way
		r, tok, _ := q.Next()
		if i := id(t, r); i == 0 {
			q.Ack(tok)
		}
	}
	if st := q.Stats(); st.Corrupt != 1 {
		t.Fatalf("corrupt %d", st.Corrupt)
	}
	q.Close()
	q = mustOpen(t, cfg, nil)
	defer q.Close()
	if got := drain(t, q); !equalInts(got, seq(2, 10)) {
		t.Fatalf("replayed %v", got)
	}
	if st := q.Stats(); st.Corrupt != 0 {
		t.Fatalf("corrupt spot counted again: %+v", st)
	}
}

func TestForeignAndGarbageFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := make([]byte, 10000)
	for i := range garbage {
		garbage[i] = byte(i*31 + i/7)
	}
	copy(garbage[100:], magic[:]) // a magic with no valid header after it
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, segName(1)), garbage, 0o600))
	must(os.WriteFile(filepath.Join(dir, segName(2)), nil, 0o600))
	must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600))
	must(os.Mkdir(filepath.Join(dir, segName(3)), 0o700))
	must(os.WriteFile(filepath.Join(dir, "ffff.seg"), []byte("x"), 0o600))
	must(os.WriteFile(filepath.Join(dir, ackName), garbage[:123], 0o600))

	logs, logger := newLog()
	q := mustOpen(t, testConfig(dir), logger)
	st := q.Stats()
	if st.Records != 0 || st.Corrupt != 1 || st.CorruptBytes != int64(len(garbage)) || st.Foreign != 3 {
		t.Fatalf("Stats: %+v", st)
	}
	if logs.count("repaired or skipped") != 1 || !strings.Contains(logs.String(), "notes.txt") {
		t.Fatalf("log:\n%s", logs)
	}
	putAll(t, q, 0, 5, 100)
	if got := drain(t, q); !equalInts(got, seq(0, 5)) {
		t.Fatalf("replayed %v", got)
	}
	q.Close()
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatalf("a foreign file was touched: %v", err)
	}
}

func TestAckPersistence(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 10, 3000) // several segments
	toks := map[int]Token{}
	for range 6 {
		r, tok, ok := q.Next()
		if !ok {
			t.Fatal("no record")
		}
		toks[id(t, r)] = tok
	}
	for _, i := range []int{3, 0, 5, 1} {
		if err := q.Ack(toks[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Ack(toks[0]); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("second Ack: %v", err)
	}
	q.Release(toks[2])
	if st := q.Stats(); st.InFlight != 1 || st.Records != 6 || st.Replayed != 4 {
		t.Fatalf("Stats: %+v", st)
	}
	// Record 2 comes back first, then 6 (4 is still in flight).
	r, tok, _ := q.Next()
	if i := id(t, r); i != 2 {
		t.Fatalf("after Release: %d", i)
	}
	q.Release(tok)
	q.Close() // 4 is in flight: it stays queued

	q = mustOpen(t, cfg, nil)
	if st := q.Stats(); st.Records != 6 {
		t.Fatalf("after reopen: %d records", st.Records)
	}
	if got := drain(t, q); !equalInts(got, []int{2, 4, 6, 7, 8, 9}) {
		t.Fatalf("replayed %v", got)
	}
	q.Close()
}

func TestRewind(t *testing.T) {
	q := mustOpen(t, testConfig(t.TempDir()), nil)
	defer q.Close()
	putAll(t, q, 0, 5, 100)
	for range 3 {
		q.Next()
	}
	q.Rewind()
	if got := drain(t, q); !equalInts(got, seq(0, 5)) {
		t.Fatalf("replayed %v", got)
	}
}

// TestAckLogCompaction holds the oldest record in flight while thousands
// of newer ones are acknowledged: their segments go, and so does most of
// the acknowledgement log.
func TestAckLogCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxBytes: 64 << 20, SegmentBytes: 4 << 10, LockWait: -1}
	q := mustOpen(t, cfg, nil)
	const n = 5000
	putAll(t, q, 0, n, 50)
	first, firstTok, _ := q.Next()
	if id(t, first) != 0 {
		t.Fatal("not the oldest")
	}
	for range n - 1 {
		_, tok, ok := q.Next()
		if !ok {
			t.Fatal("ran out")
		}
		if err := q.Ack(tok); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, ackName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 2*compactAt*ackEntryLen {
		t.Fatalf("acknowledgement log of %d bytes for 1 record", fi.Size())
	}
	if st := q.Stats(); st.Segments > 2 { // the first, and the one being written
		t.Fatalf("%d segments left", st.Segments)
	}
	q.Release(firstTok)
	q.Close()
	q = mustOpen(t, cfg, nil)
	defer q.Close()
	if got := drain(t, q); !equalInts(got, []int{0}) {
		t.Fatalf("replayed %v", got)
	}
}

func TestTornAckLog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 6, 100)
	for range 3 {
		_, tok, _ := q.Next()
		q.Ack(tok)
	}
	q.Close()
	path := filepath.Join(dir, ackName)
	b, _ := os.ReadFile(path)
	b[ackEntryLen+5] ^= 1                                                         // damage the second entry
	b = append(b, appendAckEntry(nil, ackEntry{seq: 1, off: 1, next: 2})[:17]...) // and tear a fourth
	os.WriteFile(path, b, 0o600)
	q = mustOpen(t, cfg, nil)
	defer q.Close()
	// The damaged acknowledgement makes record 1 come back: a duplicate,
	// never a loss.
	if got := drain(t, q); !equalInts(got, []int{1, 3, 4, 5}) {
		t.Fatalf("replayed %v", got)
	}
}

func TestInFlightWhenDropped(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), MaxBytes: 16 << 10, SegmentBytes: 2 << 10, LockWait: -1}
	q := mustOpen(t, cfg, nil)
	defer q.Close()
	putAll(t, q, 0, 4, 500)
	_, tokA, _ := q.Next() // record 0
	_, tokB, _ := q.Next() // record 1
	putAll(t, q, 4, 100, 500)
	st := q.Stats()
	if st.InFlight != 2 || st.Dropped+2+st.Records != 100 {
		t.Fatalf("Stats: %+v", st)
	}
	if err := q.Ack(tokA); err != nil { // delivered after all
		t.Fatal(err)
	}
	q.Release(tokB) // never delivered: dropped
	st2 := q.Stats()
	if st2.Replayed != 1 || st2.Dropped != st.Dropped+1 || st2.DroppedItems != st.DroppedItems+2 {
		t.Fatalf("Stats: %+v", st2)
	}
	if got := drain(t, q); len(got) != int(st.Records) || got[len(got)-1] != 99 {
		t.Fatalf("replayed %v", got)
	}
}

func TestConcurrentPutAndReplay(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), MaxBytes: 64 << 20, SegmentBytes: 32 << 10, LockWait: -1}
	q := mustOpen(t, cfg, nil)
	defer q.Close()
	const producers, per = 4, 400
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				if err := q.Put(rec(p*per+i, 100+i%700)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := make(map[int]bool)
	last := make([]int, producers)
	for p := range last {
		last[p] = -1
	}
	var held []Token
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true
		default:
		}
		for {
			r, tok, ok := q.Next()
			if !ok {
				break
			}
			i := id(t, r)
			// Release every 7th record once, to be handed out again.
			if i%7 == 0 && !seen[-i-1] {
				seen[-i-1] = true
				held = append(held, tok)
				continue
			}
			if seen[i] {
				t.Fatalf("record %d twice", i)
			}
			seen[i] = true
			if p := i / per; i%7 != 0 && i < last[p] {
				t.Fatalf("producer %d: %d after %d", p, i, last[p])
			} else if i%7 != 0 {
				last[p] = i
			}
			if err := q.Ack(tok); err != nil {
				t.Fatal(err)
			}
		}
		for _, tok := range held {
			q.Release(tok)
		}
		held = held[:0]
		_ = q.Stats()
	}
	for _, i := range drain(t, q) {
		if seen[i] {
			t.Fatalf("record %d twice", i)
		}
		seen[i] = true
	}
	for i := range producers * per {
		if !seen[i] {
			t.Fatalf("record %d never replayed", i)
		}
	}
	if st := q.Stats(); st.Records != 0 || st.Replayed != producers*per || st.InFlight != 0 {
		t.Fatalf("Stats: %+v", st)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, Config{Dir: dir}, nil)
	start := time.Now()
	_, err := Open(Config{Dir: dir, LockWait: 30 * time.Millisecond}, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Open: %v", err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("did not wait")
	}
	q.Close()
	q = mustOpen(t, Config{Dir: dir}, nil)
	q.Close()
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(Config{Dir: filepath.Join(file, "spill")}, nil); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Open under a file: %v", err)
	}
	if _, err := Open(Config{Dir: dir, MaxBytes: 100}, nil); err == nil {
		t.Fatal("Open with a tiny MaxBytes")
	}
	if _, err := Open(Config{Dir: dir, Fsync: 7}, nil); err == nil {
		t.Fatal("Open with an unknown fsync policy")
	}

	q := mustOpen(t, Config{Dir: filepath.Join(dir, "q"), MaxBytes: 8 << 10, LockWait: -1}, nil)
	tests := []struct {
		name string
		r    Record
		want error
	}{
		{"unknown signal", Record{Signal: "profiles", Data: []byte("x")}, nil},
		{"negative items", Record{Signal: pipeline.Logs, Items: -1}, nil},
		{"larger than the queue", Record{Signal: pipeline.Traces, Data: make([]byte, 8<<10)}, ErrTooLarge},
		{"long exporter id", Record{Signal: pipeline.Traces, Exporter: strings.Repeat("x", 70000)}, nil},
	}
	for _, tt := range tests {
		err := q.Put(tt.r)
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Put: %v", tt.name, err)
		}
	}
	if st := q.Stats(); st.Put != 0 || st.Segments != 0 {
		t.Fatalf("Stats after refused Puts: %+v", st)
	}
	if err := q.Ack(Token{}); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("Ack of the zero Token: %v", err)
	}
	q.Close()
	if err := q.Put(rec(0, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, _, ok := q.Next(); ok {
		t.Fatal("Next after Close")
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNoSpace(t *testing.T) {
	cfg := testConfig(t.TempDir())
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 50, 1000) // several segments
	q.Close()
	cfg.MinFreeBytes = 1 << 62 // more than any disk: as if the function had filled /tmp
	logs, logger := newLog()
	q = mustOpen(t, cfg, logger)
	defer q.Close()
	err := q.Put(rec(50, 1000))
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), cfg.Dir) {
		t.Fatalf("Put: %v", err)
	}
	st := q.Stats()
	if st.Dropped != 50 || st.Records != 0 || st.Segments != 0 || len(segFiles(t, cfg.Dir)) != 0 {
		t.Fatalf("the queue did not give its space to the function: %+v", st)
	}
	if logs.count("low on free space") == 0 {
		t.Fatalf("log:\n%s", logs)
	}
}

func TestUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories; TestWriteFails covers write errors")
	}
	readOnly := func(dir string) {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}

	// An empty read-only directory: Open cannot take the lock.
	empty := t.TempDir()
	readOnly(empty)
	if _, err := Open(Config{Dir: empty}, nil); err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("Open: %v", err)
	}

	// A queue to be created under a read-only directory.
	absent := filepath.Join(empty, "spill")
	if _, err := Open(Config{Dir: absent}, nil); err == nil || !strings.Contains(err.Error(), absent) {
		t.Fatalf("Open: %v", err)
	}

	// A queue whose directory became read-only: its data replays, and Put
	// says why it cannot start a segment.
	dir := t.TempDir()
	q := mustOpen(t, testConfig(dir), nil)
	putAll(t, q, 0, 3, 100)
	q.Close()
	readOnly(dir)
	q = mustOpen(t, testConfig(dir), nil)
	defer q.Close()
	if err := q.Put(rec(3, 100)); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Put: %v", err)
	}
	// Acknowledgements cannot be written down: Ack says so, and the
	// records are replayed once all the same.
	var got []int
	for {
		r, tok, ok := q.Next()
		if !ok {
			break
		}
		got = append(got, id(t, r))
		if err := q.Ack(tok); err == nil || !strings.Contains(err.Error(), "replayed again") {
			t.Fatalf("Ack: %v", err)
		}
	}
	if !equalInts(got, seq(0, 3)) {
		t.Fatalf("replayed %v", got)
	}
}

func TestFsyncEach(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Fsync = FsyncEach
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 30, 1000)
	q.Close()
	q = mustOpen(t, cfg, nil)
	defer q.Close()
	if got := drain(t, q); !equalInts(got, seq(0, 30)) {
		t.Fatalf("replayed %v", got)
	}
	if FsyncEach.String() != "each" || FsyncNever.String() != "never" {
		t.Fatal("String")
	}
}

func TestEnqueuedDefaultsToNow(t *testing.T) {
	q := mustOpen(t, testConfig(t.TempDir()), nil)
	defer q.Close()
	before := time.Now()
	if err := q.Put(Record{Signal: pipeline.Metrics, Exporter: "x", Data: []byte{1, 2}, Items: 3}); err != nil {
		t.Fatal(err)
	}
	r, _, ok := q.Next()
	if !ok || r.Enqueued.Before(before.Truncate(time.Nanosecond)) || r.Enqueued.After(time.Now()) {
		t.Fatalf("Enqueued %v", r.Enqueued)
	}
}

// TestAbsentDir: Open creates nothing when there is nothing to replay; the
// first Put creates the directory and takes the lock.
func TestAbsentDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "spill")
	q := mustOpen(t, Config{Dir: dir, LockWait: -1}, nil)
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open created something: %v", err)
	}
	if _, _, ok := q.Next(); ok {
		t.Fatal("Next on an empty queue")
	}
	putAll(t, q, 0, 3, 100)
	if _, err := os.Stat(filepath.Join(dir, lockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir, LockWait: -1}, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	q.Close()
	q = mustOpen(t, Config{Dir: dir, LockWait: -1}, nil)
	defer q.Close()
	if got := drain(t, q); !equalInts(got, seq(0, 3)) {
		t.Fatalf("replayed %v", got)
	}

	q2 := mustOpen(t, Config{Dir: filepath.Join(t.TempDir(), "never")}, nil)
	if err := q2.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUnreadableSegment: a segment that cannot be read stops replay for a
// couple of calls (the error may pass), then is skipped.
func TestUnreadableSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := mustOpen(t, cfg, nil)
	putAll(t, q, 0, 30, 1000) // two segments or more
	q.Close()
	logs, logger := newLog()
	q = mustOpen(t, cfg, logger)
	defer q.Close()
	first := segFiles(t, dir)[0]
	// A directory in its place: opening works, reading fails (EISDIR).
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(first, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < maxReadFails; i++ {
		if _, _, ok := q.Next(); ok {
			t.Fatalf("Next %d returned a record", i)
		}
	}
	got := drain(t, q)
	if len(got) == 0 || len(got) >= 30 || got[len(got)-1] != 29 {
		t.Fatalf("replayed %v", got)
	}
	if st := q.Stats(); st.Corrupt != 1 || st.LostRecords != int64(30-len(got)) || st.Records != 0 {
		t.Fatalf("Stats: %+v", st)
	}
	if logs.count("read failed;") != maxReadFails-1 || logs.count("read failed again") != 1 {
		t.Fatalf("log:\n%s", logs)
	}
}
