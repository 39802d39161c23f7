// Package spill is the extension's queue on disk for telemetry it could
// not export within a flush's budget: a bounded, crash-safe queue of OTLP
// batches under /tmp, replayed oldest first at later flushes.
//
// Lambda keeps /tmp when it restarts the extension after a function
// timeout, so what one extension process put is replayed by the next.
// A process killed in the middle of a write leaves at most a torn last
// record, which Open cuts off; data damaged in any other way is skipped,
// counted and logged. Nothing on disk makes the queue fail or loop.
//
// # Replay
//
// Next hands out records oldest first and marks them in flight; Ack
// removes a record once the backend accepted it (or once the caller gives
// up on it for good), and Release (or Rewind, for all of them) puts it back
// so that Next hands it out again. A replay pass:
//
//	q.Rewind() // hand out again what an earlier pass left in flight
//	for {
//		rec, tok, ok := q.Next()
//		if !ok {
//			break
//		}
//		if err := export(rec); err != nil {
//			q.Release(tok) // Next would return it again: stop the pass
//			break
//		}
//		q.Ack(tok)
//	}
//
// Several records may be in flight at once and acknowledged in any order.
// Acknowledgements are persisted as they happen, so after a crash only the
// records that were in flight (sent, not yet acknowledged) are replayed a
// second time: duplicates are bounded by the records in flight.
//
// # Files
//
// The directory holds segment files (NNNNNNNNNNNNNNNN.seg, 16 hex digits,
// in queue order), an acknowledgement log (acks) and a lock file (lock).
// A segment is a sequence of records, each a checksummed header (magic,
// version, signal, exporter id length, data length, items, time, CRC-32C of
// the payload, CRC-32C of the header) followed by the exporter id and the
// OTLP data; a segment that was completely written ends with a seal record
// that holds its record and item counts, so that Open reads one small
// block per segment. New records go to the newest segment; at
// Config.SegmentBytes a new segment starts. The acknowledgement log gets
// one 40-byte checksummed entry per acknowledged record (which byte range
// of which segment was dealt with); it is rewritten compactly when most of
// it describes removed segments, and emptied when the queue is. A segment
// is deleted as a whole once all its records are acknowledged, or, the
// oldest first, when the queue needs room.
//
// Each Open starts a new segment at its first Put and never appends to a
// file an earlier process wrote. Open takes an exclusive flock on the lock
// file: two processes never use one queue at once.
//
// # Durability
//
// The default policy, FsyncNever, writes records and acknowledgements with
// plain write calls. On Lambda that is as safe as fsync: a freeze (cgroup
// freezer) and a killed process both leave the page cache, and so every
// completed write, in place; only a crash of the host loses the page cache,
// and that ends the execution environment and its /tmp with it. FsyncEach
// is for queues on disks that outlive their host.
package spill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/pipeline"
)

// Defaults for Config.
const (
	// DefaultDir is the queue's directory.
	DefaultDir = "/tmp/lambdaotel-spill"
	// DefaultMaxBytes bounds the queue's files: 128 MiB, a quarter of
	// Lambda's default 512 MB /tmp, so that the function keeps most of
	// it. At tens of kilobytes of telemetry per invocation that holds
	// thousands of invocations' data, more than later flushes can replay
	// within their budgets in a reasonable number of invocations anyway.
	DefaultMaxBytes = 128 << 20
	// DefaultSegmentBytes is the size at which a new segment starts (or
	// MaxBytes/8 when that is smaller): dropping the oldest segment when
	// the queue is full frees at most this much at once, and Open reads a
	// few bytes per segment.
	DefaultSegmentBytes = 4 << 20
	// DefaultMinFreeBytes is the free space on /tmp the queue leaves to
	// the function: it drops its oldest data rather than take the file
	// system below that.
	DefaultMinFreeBytes = 64 << 20
	// DefaultLockWait is how long Open waits for another process to
	// release the queue.
	DefaultLockWait = 100 * time.Millisecond
)

// FsyncPolicy says when the queue calls fsync.
type FsyncPolicy int

// The fsync policies.
const (
	// FsyncNever never calls fsync (the default): records survive a killed
	// process and a freeze, not a crash of the host (see the package doc).
	FsyncNever FsyncPolicy = iota
	// FsyncEach calls fsync after every record and acknowledgement (and on
	// the directory after a file is created or renamed), so that a Put or
	// Ack that returned survives a power loss.
	FsyncEach
)

// String returns "never" or "each".
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncNever:
		return "never"
	case FsyncEach:
		return "each"
	}
	return "FsyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Config configures a Queue. The zero value is the defaults.
type Config struct {
	// Dir is the queue's directory, created if missing (default
	// DefaultDir). Nothing else should write there.
	Dir string
	// MaxBytes bounds the size of the queue's segment files (default
	// DefaultMaxBytes). When a record does not fit, the oldest records
	// are dropped, a segment at a time, and counted.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file starts
	// (default DefaultSegmentBytes, at most MaxBytes/8).
	SegmentBytes int64
	// MinFreeBytes is the free space the queue leaves on its file system:
	// when starting a segment would leave less, it drops its oldest
	// records instead, and Put fails with ErrNoSpace if that is not enough
	// (default DefaultMinFreeBytes; negative: no such limit).
	MinFreeBytes int64
	// Fsync says when to call fsync (default FsyncNever).
	Fsync FsyncPolicy
	// LockWait is how long Open waits for another process to release the
	// queue before it fails with ErrLocked (default DefaultLockWait;
	// negative: do not wait).
	LockWait time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxBytes < minMaxBytes {
		return c, fmt.Errorf("spill: max bytes %d is below the minimum of %d", c.MaxBytes, minMaxBytes)
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = min(DefaultSegmentBytes, c.MaxBytes/8)
	}
	if c.SegmentBytes < 0 {
		return c, fmt.Errorf("spill: segment bytes %d is negative", c.SegmentBytes)
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = DefaultMinFreeBytes
	}
	if c.Fsync != FsyncNever && c.Fsync != FsyncEach {
		return c, fmt.Errorf("spill: unknown fsync policy %d", int(c.Fsync))
	}
	if c.LockWait == 0 {
		c.LockWait = DefaultLockWait
	}
	return c, nil
}

// minMaxBytes is the smallest MaxBytes Open accepts.
const minMaxBytes = 4 << 10

// Record is one batch of telemetry in the queue.
type Record struct {
	// Signal is the batch's signal.
	Signal pipeline.Signal
	// Exporter is the id of the exporter the batch was meant for.
	Exporter string
	// Data is the batch as an OTLP protobuf request.
	Data []byte
	// Items counts the spans, data points or log records in Data.
	Items int64
	// Enqueued is when the batch was first put in the queue (Put sets the
	// current time when it is zero).
	Enqueued time.Time
}

// Token identifies a record Next handed out, for Ack and Release.
type Token struct {
	seq uint64 // segment; 0 in the zero Token
	off int64  // offset in the segment
}

func (t Token) less(u Token) bool {
	return t.seq < u.seq || t.seq == u.seq && t.off < u.off
}

// Stats describes a queue: what it holds now, and what happened to records
// since Open.
type Stats struct {
	// Records counts the records in the queue, in flight included.
	Records int64
	// Items counts their spans, data points and log records.
	Items int64
	// Bytes is the size of the queue's segment files.
	Bytes int64
	// Segments counts the segment files.
	Segments int
	// InFlight counts the records Next handed out that were neither
	// acknowledged nor released.
	InFlight int

	// Put and PutItems count the records (and items) Put accepted.
	Put, PutItems int64
	// Replayed and ReplayedItems count the records (and items) that were
	// acknowledged.
	Replayed, ReplayedItems int64
	// Dropped and DroppedItems count the records (and items) removed
	// without being replayed to stay within MaxBytes or MinFreeBytes.
	Dropped, DroppedItems int64
	// Corrupt counts the damaged spots replay stepped over (a record whose
	// checksum failed, a stretch of garbage, an unreadable file) and those
	// Open removed (a segment file with no valid record), and CorruptBytes
	// their size.
	Corrupt, CorruptBytes int64
	// LostRecords and LostItems count the records (and items) written to
	// segments that were removed after replay without them being
	// acknowledged: what the corrupt spots held, as far as the segments'
	// counts tell.
	LostRecords, LostItems int64
	// TornTails counts segments whose last record was cut short (their
	// writer was killed during a write), which Open cut off, and
	// TornBytes the bytes removed.
	TornTails, TornBytes int64
	// Foreign counts files in the directory that the queue did not write;
	// they are left alone.
	Foreign int
}

// Errors.
var (
	// ErrClosed is returned by Put and Ack after Close.
	ErrClosed = errors.New("spill: queue is closed")
	// ErrLocked is returned by Open when another process holds the queue.
	ErrLocked = errors.New("spill: queue is in use by another process")
	// ErrTooLarge is returned by Put for a record larger than the queue.
	ErrTooLarge = errors.New("spill: record is too large")
	// ErrNoSpace is returned by Put when the file system has no room for
	// the record beyond the space kept for the function.
	ErrNoSpace = errors.New("spill: not enough free space")
	// ErrUnknownToken is returned by Ack for a token that is not in flight:
	// never handed out, or acknowledged or released already.
	ErrUnknownToken = errors.New("spill: record is not in flight")
)

// Queue is a bounded queue of records on disk. It is safe for concurrent
// use.
type Queue struct {
	cfg      Config
	log      *slog.Logger
	lockFile *os.File

	mu       sync.Mutex
	closed   bool
	segs     []*segment // oldest first
	active   *segment   // the segment Put appends to (the last), or nil
	wf       *os.File   // active's file
	rd       reader     // replay reader
	cursor   Token      // where Next reads next
	inflight map[Token]flight
	nextSeq  uint64
	wbuf     []byte
	lastExp  string // the last exporter id read, reused to save allocations
	dropping bool   // dropped data since the queue was last empty

	acks       *os.File // acknowledgement log, opened at the first Ack
	ackEntries int      // entries in the log
	ackDead    int      // entries about removed segments

	bytes, records, items int64
	st                    Stats
}

// flight is a record in flight.
type flight struct {
	next, items int64
	// orphan: its segment was dropped while it was in flight.
	orphan bool
}

// File names in the queue's directory.
const (
	lockName   = "lock"
	ackName    = "acks"
	ackTmpName = "acks.tmp"
)

// Open opens the queue in cfg.Dir, creating the directory if needed. It
// takes the queue's lock (waiting up to cfg.LockWait for another process),
// reads the end of each segment file, cuts off torn writes a killed
// process left, removes segments that were replayed completely and files
// with nothing valid in them, and logs what it repaired in one line.
// logger may be nil.
func Open(cfg Config, logger *slog.Logger) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: create the queue's directory: %w", err)
	}
	lf, err := lockDir(cfg.Dir, cfg.LockWait)
	if err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, log: logger, lockFile: lf, inflight: make(map[Token]flight)}
	if err := q.load(); err != nil {
		lf.Close()
		return nil, err
	}
	return q, nil
}

// lockDir takes the exclusive lock of the queue in dir.
func lockDir(dir string, wait time.Duration) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spill: open the queue's lock file: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		busy, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("spill: lock %s: %w", path, err)
		}
		if !busy {
			break
		}
		if wait <= 0 || time.Now().After(deadline) {
			var b [32]byte
			n, _ := f.ReadAt(b[:], 0)
			f.Close()
			owner := "another process"
			if pid := strings.TrimSpace(string(b[:n])); pid != "" {
				owner = "process " + pid
			}
			return nil, fmt.Errorf("%w: %s is held by %s (waited %s)", ErrLocked, dir, owner, max(wait, 0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Name the owner for the error above; the lock does not depend on it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(strconv.AppendInt(nil, int64(os.Getpid()), 10), 0)
	}
	return f, nil
}

// load reads the directory and the acknowledgement log.
func (q *Queue) load() error {
	dir := q.cfg.Dir
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spill: read the queue's directory: %w", err)
	}
	var seqs []uint64
	var foreign []string
	for _, de := range des {
		name := de.Name()
		switch name {
		case lockName, ackName:
			continue
		case ackTmpName: // an interrupted rewrite of the log
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if seq, ok := parseSegName(name); ok && de.Type().IsRegular() {
			seqs = append(seqs, seq)
			continue
		}
		foreign = append(foreign, name)
	}
	q.st.Foreign = len(foreign)
	slices.Sort(seqs)

	acks, maxAckSeq, err := q.readAcks()
	if err != nil {
		return err
	}
	q.nextSeq = maxAckSeq + 1
	if n := len(seqs); n > 0 {
		q.nextSeq = max(q.nextSeq, seqs[n-1]+1)
	}

	var unreadable []string
	for _, seq := range seqs {
		s := newSegment(dir, seq)
		keep, err := q.loadSegment(s)
		if err != nil {
			unreadable = append(unreadable, fmt.Sprintf("%s: %v", s.path, err))
			continue
		}
		if !keep {
			continue
		}
		es := acks[seq]
		delete(acks, seq)
		slices.SortFunc(es, func(a, b ackEntry) int { return cmp.Or(cmp.Compare(a.off, b.off), cmp.Compare(a.next, b.next)) })
		for i, e := range es {
			if i > 0 && e.off == es[i-1].off && e.next == es[i-1].next {
				q.ackDead++ // a repeated entry
				continue
			}
			s.ack(e.off, e.next)
			s.ackedRecords += e.records
			s.ackedItems += e.items
			s.logEntries++
		}
		if s.done() {
			// Replayed completely by an earlier process.
			q.ackDead += s.logEntries
			if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				unreadable = append(unreadable, err.Error())
			}
			continue
		}
		q.segs = append(q.segs, s)
		q.bytes += s.size
		r, it := s.remaining()
		q.records += r
		q.items += it
	}
	for _, es := range acks {
		q.ackDead += len(es)
	}
	if len(q.segs) > 0 {
		q.cursor = Token{seq: q.segs[0].seq}
	}
	q.tidyAcks()

	attrs := []any{"dir", dir, "records", q.records, "items", q.items, "bytes", q.bytes, "segments", len(q.segs)}
	if q.st.TornTails > 0 || q.st.Corrupt > 0 || len(foreign) > 0 || len(unreadable) > 0 {
		attrs = append(attrs, "torn_tails", q.st.TornTails, "torn_bytes", q.st.TornBytes,
			"corrupt_files", q.st.Corrupt, "corrupt_bytes", q.st.CorruptBytes)
		if len(foreign) > 0 {
			attrs = append(attrs, "foreign_files", strings.Join(foreign, ","))
		}
		if len(unreadable) > 0 {
			attrs = append(attrs, "unreadable", strings.Join(unreadable, "; "))
		}
		q.log.Warn("spill queue: repaired or skipped files an earlier process left", attrs...)
	} else {
		q.log.Debug("spill queue opened", attrs...)
	}
	return nil
}

// loadSegment learns s's size and counts from its seal, or recovers a
// segment without one: it cuts off a torn last record and writes the
// seal. keep is false when the file was empty or held nothing valid and
// was removed. An error means the file cannot be read; it is left alone.
func (q *Queue) loadSegment(s *segment) (keep bool, err error) {
	readOnly := false
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		readOnly = true
		if f, err = os.Open(s.path); err != nil {
			return false, err
		}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if size == 0 { // its writer was killed before the first record
		_ = os.Remove(s.path)
		return false, nil
	}
	if size >= sealLen {
		var b [sealLen]byte
		if _, err := f.ReadAt(b[:], size-sealLen); err != nil {
			return false, err
		}
		if records, items, ok := parseSeal(b[:]); ok {
			s.size, s.dataEnd, s.sealed = size, size-sealLen, true
			s.records, s.items = records, items
			return true, nil
		}
	}

	end, records, items, err := scan(f, size)
	if err != nil {
		return false, err
	}
	if records == 0 {
		q.st.Corrupt++
		q.st.CorruptBytes += size
		_ = os.Remove(s.path)
		return false, nil
	}
	s.size, s.dataEnd, s.sealed = size, end, true
	s.records, s.items = records, items
	if end < size {
		q.st.TornTails++
		q.st.TornBytes += size - end
	}
	if readOnly {
		return true, nil
	}
	if end < size {
		if err := f.Truncate(end); err != nil {
			return true, nil
		}
		s.size = end
	}
	if _, err := f.WriteAt(appendSeal(nil, records, items, time.Now().UnixNano()), end); err != nil {
		_ = f.Truncate(end)
		return true, nil
	}
	s.size = end + sealLen
	if q.cfg.Fsync == FsyncEach {
		_ = f.Sync()
	}
	return true, nil
}

// readAcks reads the acknowledgement log: its valid entries by segment,
// and the highest segment number it names.
func (q *Queue) readAcks() (map[uint64][]ackEntry, uint64, error) {
	path := filepath.Join(q.cfg.Dir, ackName)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("spill: read the acknowledgement log: %w", err)
	}
	acks := make(map[uint64][]ackEntry)
	var maxSeq uint64
	n := len(b) / ackEntryLen
	for i := range n {
		e, ok := parseAckEntry(b[i*ackEntryLen:])
		if !ok {
			q.ackDead++ // a damaged entry: at worst one record is sent twice
			continue
		}
		acks[e.seq] = append(acks[e.seq], e)
		maxSeq = max(maxSeq, e.seq)
	}
	q.ackEntries = n
	if len(b)%ackEntryLen != 0 {
		// A torn last entry: cut it off so that appends stay aligned.
		if err := os.Truncate(path, int64(n*ackEntryLen)); err != nil {
			return nil, 0, fmt.Errorf("spill: repair the acknowledgement log: %w", err)
		}
	}
	return acks, maxSeq, nil
}

// Put appends r to the queue. When the queue has no room for it, Put drops
// the oldest records first (a segment at a time), counts them and logs it.
// It returns ErrTooLarge for a record larger than MaxBytes allows and an
// error wrapping ErrNoSpace when the file system has no room beyond
// MinFreeBytes; a write error names the file. r.Data is not retained.
func (q *Queue) Put(r Record) error {
	kind, ok := signalKind(r.Signal)
	switch {
	case !ok:
		return fmt.Errorf("spill: put: unknown signal %q", r.Signal)
	case len(r.Exporter) > maxExporterLen:
		return fmt.Errorf("spill: put: exporter id of %d bytes is longer than %d", len(r.Exporter), maxExporterLen)
	case r.Items < 0:
		return fmt.Errorf("spill: put: negative item count %d", r.Items)
	case len(r.Data) > maxDataLen:
		return fmt.Errorf("%w: %d bytes of data; a record holds at most %d", ErrTooLarge, len(r.Data), maxDataLen)
	}
	total := int64(headerLen + len(r.Exporter) + len(r.Data))
	if total+sealLen > q.cfg.MaxBytes {
		return fmt.Errorf("%w: a record of %d bytes does not fit in a queue of %d bytes", ErrTooLarge, total, q.cfg.MaxBytes)
	}
	enq := r.Enqueued
	if enq.IsZero() {
		enq = time.Now()
	}
	h := header{kind: kind, expLen: len(r.Exporter), dataLen: len(r.Data), items: r.Items,
		enqueued: enq.UnixNano(), payloadCRC: payloadCRC([]byte(r.Exporter), r.Data)}

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if s := q.active; s != nil && s.size > 0 && s.size+total > q.cfg.SegmentBytes {
		q.sealActive()
	}
	for q.bytes+total+sealLen > q.cfg.MaxBytes && len(q.segs) > 0 {
		q.drop("the queue is full")
	}
	if q.active == nil {
		if err := q.startSegment(total + sealLen); err != nil {
			return err
		}
	}
	s := q.active
	off := s.size
	buf := q.wbuf[:0]
	var hb [headerLen]byte
	putHeader(hb[:], h)
	buf = append(append(buf, hb[:]...), r.Exporter...)
	small := len(r.Data) <= smallWrite
	if small {
		buf = append(buf, r.Data...)
	}
	_, err := q.wf.WriteAt(buf, off)
	if err == nil && !small {
		_, err = q.wf.WriteAt(r.Data, off+int64(len(buf)))
	}
	if err == nil && q.cfg.Fsync == FsyncEach {
		err = q.wf.Sync()
	}
	if cap(buf) <= 2*smallWrite {
		q.wbuf = buf[:0]
	}
	if err != nil {
		_ = q.wf.Truncate(off)
		return fmt.Errorf("spill: put: write a record of %d bytes: %w", total, err)
	}
	s.size += total
	s.dataEnd = s.size
	s.records++
	s.items += r.Items
	q.bytes += total
	q.records++
	q.items += r.Items
	q.st.Put++
	q.st.PutItems += r.Items
	return nil
}

// smallWrite is the largest data Put copies to write with its header in
// one call; larger data is written by a second call.
const smallWrite = 32 << 10

// startSegment creates the segment Put appends to, first dropping the
// oldest records if the file system has less than MinFreeBytes left
// beyond the new segment (need bytes at least).
func (q *Queue) startSegment(need int64) error {
	if q.cfg.MinFreeBytes > 0 {
		if avail, ok := freeSpace(q.cfg.Dir); ok {
			want := q.cfg.MinFreeBytes + max(q.cfg.SegmentBytes, need)
			for avail < want && len(q.segs) > 0 {
				avail += q.drop("the file system is low on free space")
			}
			if avail < want {
				return fmt.Errorf("%w: %s has %d bytes free; the queue needs %d and leaves %d to the function",
					ErrNoSpace, q.cfg.Dir, avail, max(q.cfg.SegmentBytes, need), q.cfg.MinFreeBytes)
			}
		}
	}
	var s *segment
	var f *os.File
	for tries := 0; ; tries++ {
		s = newSegment(q.cfg.Dir, q.nextSeq)
		var err error
		f, err = os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || tries == 100 {
			return fmt.Errorf("spill: put: start a segment: %w", err)
		}
		q.nextSeq++ // something else has that name
	}
	q.nextSeq++
	if q.cfg.Fsync == FsyncEach {
		syncDir(q.cfg.Dir)
	}
	q.segs = append(q.segs, s)
	q.active, q.wf = s, f
	if len(q.segs) == 1 {
		q.cursor = Token{seq: s.seq}
	}
	return nil
}

// sealActive writes the active segment's seal and closes it. Should the
// write fail, the next Open scans the segment instead.
func (q *Queue) sealActive() {
	s := q.active
	if _, err := q.wf.WriteAt(appendSeal(nil, s.records, s.items, time.Now().UnixNano()), s.size); err != nil {
		_ = q.wf.Truncate(s.size)
		q.log.Warn("spill queue: could not seal a segment; the next start reads it whole", "file", s.path, "error", err)
	} else {
		s.size += sealLen
		q.bytes += sealLen
		if q.cfg.Fsync == FsyncEach {
			_ = q.wf.Sync()
		}
	}
	s.sealed = true
	q.wf.Close()
	q.active, q.wf = nil, nil
	if s.done() {
		q.finish(s)
	}
}

// drop removes the oldest segment to make room and returns the bytes it
// freed. Its records in flight stay in flight: they count as dropped if
// they are released, as replayed if they are acknowledged.
func (q *Queue) drop(why string) int64 {
	s := q.segs[0]
	records, items := s.remaining()
	for t, f := range q.inflight {
		if t.seq == s.seq {
			f.orphan = true
			q.inflight[t] = f
			records--
			items -= f.items
		}
	}
	q.st.Dropped += records
	q.st.DroppedItems += items
	level := slog.LevelDebug
	if !q.dropping {
		level = slog.LevelWarn // once until the queue is empty again
		q.dropping = true
	}
	q.log.Log(context.Background(), level, "spill queue: dropped the oldest records: "+why,
		"records", records, "items", items, "bytes", s.size, "max_bytes", q.cfg.MaxBytes,
		"dropped_records_total", q.st.Dropped, "dropped_items_total", q.st.DroppedItems)
	freed := s.size
	q.remove(s)
	return freed
}

// finish removes a sealed segment all of whose records were dealt with;
// records not acknowledged were lost to corruption.
func (q *Queue) finish(s *segment) {
	records, items := s.remaining()
	q.st.LostRecords += records
	q.st.LostItems += items
	q.remove(s)
}

// remove deletes segment s.
func (q *Queue) remove(s *segment) {
	q.reportCorrupt(s)
	if s == q.active {
		q.wf.Close()
		q.active, q.wf = nil, nil
	}
	if q.rd.seq == s.seq {
		q.rd.close()
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		q.log.Warn("spill queue: could not delete a segment", "error", err)
	}
	records, items := s.remaining()
	q.bytes -= s.size
	q.records -= records
	q.items -= items
	q.ackDead += s.logEntries
	if i := slices.Index(q.segs, s); i >= 0 {
		q.segs = slices.Delete(q.segs, i, i+1)
	}
	if q.records == 0 {
		q.dropping = false
	}
	q.tidyAcks()
}

// reportCorrupt logs the corrupt data replay found in s, once.
func (q *Queue) reportCorrupt(s *segment) {
	if s.corruptSpots == 0 {
		return
	}
	q.log.Warn("spill queue: skipped corrupt data", "file", s.path, "spots", s.corruptSpots, "bytes", s.corruptBytes,
		"corrupt_spots_total", q.st.Corrupt)
	s.corruptSpots, s.corruptBytes = 0, 0
}

// Next hands out the oldest record that is neither acknowledged nor in
// flight, and marks it in flight. ok is false when there is none. Damaged
// data is skipped (and counted and logged); a read error other than
// damage ends the call with ok false and is logged. Data is the caller's.
func (q *Queue) Next() (rec Record, tok Token, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return Record{}, Token{}, false
	}
	for {
		i := q.resolveCursor()
		if i < 0 {
			return Record{}, Token{}, false
		}
		s := q.segs[i]
		off := q.cursor.off
		if off >= s.dataEnd {
			if s == q.active {
				return Record{}, Token{}, false
			}
			q.reportCorrupt(s)
			if s.done() {
				q.finish(s)
			} else {
				q.cursor = Token{seq: s.seq + 1}
			}
			continue
		}
		if next, ok := s.acked(off); ok {
			q.cursor.off = next
			continue
		}
		t := Token{seq: s.seq, off: off}
		if f, ok := q.inflight[t]; ok {
			q.cursor.off = f.next
			continue
		}
		rec, next, corrupt, err := q.read(s, off)
		if err != nil {
			q.log.Warn("spill queue: read failed; replay stops for now", "file", s.path, "offset", off, "error", err)
			return Record{}, Token{}, false
		}
		if corrupt {
			q.skip(s, off, next)
			q.cursor.off = next
			continue
		}
		q.inflight[t] = flight{next: next, items: rec.Items}
		q.cursor.off = next
		return rec, t, true
	}
}

// resolveCursor moves the cursor to the first segment at or after it and
// returns that segment's index, or -1.
func (q *Queue) resolveCursor() int {
	for i, s := range q.segs {
		if s.seq == q.cursor.seq {
			return i
		}
		if s.seq > q.cursor.seq {
			q.cursor = Token{seq: s.seq}
			return i
		}
	}
	return -1
}

// read reads the record at off of s. corrupt means there is no valid
// record there; next is where to go on. err is a read error.
func (q *Queue) read(s *segment, off int64) (rec Record, next int64, corrupt bool, err error) {
	if q.rd.f == nil || q.rd.seq != s.seq {
		f, err := os.Open(s.path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // deleted behind our back
				return Record{}, s.dataEnd, true, nil
			}
			return Record{}, 0, false, err
		}
		q.rd.use(f, s.seq)
	}
	end := s.dataEnd
	h, ok, err := q.rd.header(off, end)
	if err != nil {
		return Record{}, 0, false, err
	}
	if !ok || h.kind == kindSeal {
		next, err := q.rd.resync(off+1, end)
		if err != nil {
			return Record{}, 0, false, err
		}
		return Record{}, next, true, nil
	}
	next = off + h.total()
	plen := h.expLen + h.dataLen
	var payload, data []byte
	if plen <= readBufSize {
		payload, err = q.rd.read(off+headerLen, plen, end)
	} else {
		payload, err = q.rd.readLarge(off+headerLen, plen)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) { // the file is shorter than it was
			return Record{}, end, true, nil
		}
		return Record{}, 0, false, err
	}
	exp := payload[:h.expLen]
	if payloadCRC(exp, payload[h.expLen:]) != h.payloadCRC {
		return Record{}, next, true, nil
	}
	if plen <= readBufSize {
		data = make([]byte, h.dataLen)
		copy(data, payload[h.expLen:])
	} else {
		data = payload[h.expLen:plen:plen]
	}
	if string(exp) != q.lastExp {
		q.lastExp = string(exp)
	}
	return Record{
		Signal:   kindSignal(h.kind),
		Exporter: q.lastExp,
		Data:     data,
		Items:    h.items,
		Enqueued: time.Unix(0, h.enqueued),
	}, next, false, nil
}

// skip records that [off, next) of s is damaged: counted, logged when
// replay leaves the segment, and noted in the acknowledgement log so that
// a later process steps over it without counting it again.
func (q *Queue) skip(s *segment, off, next int64) {
	s.corruptSpots++
	s.corruptBytes += next - off
	q.st.Corrupt++
	q.st.CorruptBytes += next - off
	if err := q.appendAck(s, ackEntry{seq: s.seq, off: off, next: next}); err != nil {
		q.log.Debug("spill queue: could not note corrupt data in the acknowledgement log", "error", err)
	}
	s.ack(off, next)
}

// Ack removes a record Next handed out: the backend accepted it, or the
// caller gave up on it for good. The acknowledgement is written to disk
// before Ack returns, so a later process does not replay the record; if
// that write fails the record is removed all the same and the error says
// that it may be replayed again after a restart.
func (q *Queue) Ack(t Token) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	f, ok := q.inflight[t]
	if !ok {
		return ErrUnknownToken
	}
	delete(q.inflight, t)
	q.st.Replayed++
	q.st.ReplayedItems += f.items
	if f.orphan {
		return nil
	}
	i := slices.IndexFunc(q.segs, func(s *segment) bool { return s.seq == t.seq })
	if i < 0 {
		return nil
	}
	s := q.segs[i]
	err := q.appendAck(s, ackEntry{seq: t.seq, off: t.off, next: f.next, items: f.items, records: 1})
	s.ack(t.off, f.next)
	// Count through remaining, which never goes below zero even if the
	// segment holds more than its (damaged) seal says.
	r0, i0 := s.remaining()
	s.ackedRecords++
	s.ackedItems += f.items
	r1, i1 := s.remaining()
	q.records -= r0 - r1
	q.items -= i0 - i1
	if q.records == 0 {
		q.dropping = false
	}
	if s.done() {
		q.finish(s)
	}
	if err != nil {
		return fmt.Errorf("spill: ack: the record may be replayed again after a restart: %w", err)
	}
	return nil
}

// Release puts a record Next handed out back in the queue: Next hands it
// out again, before anything newer. A record whose segment was dropped
// while it was in flight is counted as dropped.
func (q *Queue) Release(t Token) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.release(t)
}

// Rewind releases every record in flight: the next Next starts again at
// the oldest record not acknowledged.
func (q *Queue) Rewind() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for t := range q.inflight {
		q.release(t)
	}
}

func (q *Queue) release(t Token) {
	f, ok := q.inflight[t]
	if !ok {
		return
	}
	delete(q.inflight, t)
	if f.orphan {
		q.st.Dropped++
		q.st.DroppedItems += f.items
		return
	}
	if t.less(q.cursor) {
		q.cursor = t
	}
}

// appendAck appends e to the acknowledgement log.
func (q *Queue) appendAck(s *segment, e ackEntry) error {
	if q.acks == nil {
		f, err := os.OpenFile(filepath.Join(q.cfg.Dir, ackName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		q.acks = f
	}
	if _, err := q.acks.Write(appendAckEntry(nil, e)); err != nil {
		// Keep the entries aligned for the next append.
		_ = q.acks.Truncate(int64(q.ackEntries) * ackEntryLen)
		return err
	}
	q.ackEntries++
	s.logEntries++
	if q.cfg.Fsync == FsyncEach {
		return q.acks.Sync()
	}
	return nil
}

// compactAt is how many dead entries the acknowledgement log holds at
// least before it is rewritten (when they are also the majority).
const compactAt = 1024

// tidyAcks empties the acknowledgement log when the queue is empty, and
// rewrites it when it is mostly about removed segments.
func (q *Queue) tidyAcks() {
	if q.ackEntries == 0 {
		return
	}
	if len(q.segs) == 0 {
		path := filepath.Join(q.cfg.Dir, ackName)
		var err error
		if q.acks != nil {
			err = q.acks.Truncate(0)
		} else {
			err = os.Truncate(path, 0)
		}
		if err == nil {
			q.ackEntries, q.ackDead = 0, 0
		}
		return
	}
	if q.ackDead >= compactAt && 2*q.ackDead >= q.ackEntries {
		if err := q.rewriteAcks(); err != nil {
			q.log.Debug("spill queue: could not rewrite the acknowledgement log", "error", err)
		}
	}
}

// rewriteAcks replaces the acknowledgement log by one that describes the
// current segments only: per segment, the acknowledged prefix and the
// ranges above it, the first entry carrying the segment's counts.
func (q *Queue) rewriteAcks() error {
	var b []byte
	n := 0
	for _, s := range q.segs {
		s.logEntries = 0
		emit := func(off, next int64) {
			e := ackEntry{seq: s.seq, off: off, next: next}
			if s.logEntries == 0 {
				e.records, e.items = s.ackedRecords, s.ackedItems
			}
			b = appendAckEntry(b, e)
			s.logEntries++
			n++
		}
		if s.ackedUpTo > 0 {
			emit(0, s.ackedUpTo)
		}
		for off, next := range s.ackedAbove {
			emit(off, next)
		}
	}
	tmp := filepath.Join(q.cfg.Dir, ackTmpName)
	if err := writeFile(tmp, b, q.cfg.Fsync == FsyncEach); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(q.cfg.Dir, ackName)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if q.cfg.Fsync == FsyncEach {
		syncDir(q.cfg.Dir)
	}
	if q.acks != nil {
		q.acks.Close()
		q.acks = nil
	}
	q.ackEntries, q.ackDead = n, 0
	return nil
}

func writeFile(path string, b []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes file creations, renames and removals in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Stats returns the queue's figures.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.st
	st.Records, st.Items, st.Bytes = q.records, q.items, q.bytes
	st.Segments = len(q.segs)
	st.InFlight = len(q.inflight)
	return st
}

// Close seals the segment being written, closes the queue's files and
// releases its lock. Records in flight stay in the queue. Close is
// idempotent.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	for _, s := range q.segs {
		q.reportCorrupt(s)
	}
	if q.active != nil {
		q.sealActive()
	}
	q.rd.close()
	var errs []error
	if q.acks != nil {
		errs = append(errs, q.acks.Close())
		q.acks = nil
	}
	errs = append(errs, q.lockFile.Close())
	q.closed = true
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spill: close: %w", err)
	}
	return nil
}
