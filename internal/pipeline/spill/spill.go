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
// Each Open starts a new segment at its first Put and never appends
// records to a file an earlier process wrote (it only seals one that its
// writer could not). Open takes an exclusive flock on the lock file: two
// processes never use one queue at once.
//
// # Limits
//
// The queue's files stay within Config.MaxBytes (default 128 MiB, a
// quarter of Lambda's default /tmp), and the queue leaves
// Config.MinFreeBytes (default 64 MiB) of its file system to the
// function: when either would be exceeded, it drops its oldest segment
// (records in it are counted in Stats and logged, one warning per episode)
// rather than refuse new data or fill /tmp. Memory stays small: records
// are read one at a time through a 64 KiB buffer, and Open reads the last
// 44 bytes of each segment, plus the headers of a segment whose writer
// was killed.
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
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
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
	// Dir is the queue's directory (default DefaultDir), created by the
	// first Put if missing. Nothing else should write there.
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
	// Open removed (garbage at the end of a segment, or a segment with no
	// valid record), and CorruptBytes their size.
	Corrupt, CorruptBytes int64
	// LostRecords and LostItems count the records (and items) written to
	// segments that were removed after replay without them being
	// acknowledged: what the corrupt spots held, as far as the segments'
	// counts tell.
	LostRecords, LostItems int64
	// TornTails counts segments whose last record was cut short (their
	// writer was killed during a write), which Open cut off (or removed,
	// when that was their only record), and TornBytes the bytes removed.
	TornTails, TornBytes int64
	// Foreign counts files in the directory that the queue did not write;
	// they are left alone.
	Foreign int
}

// Errors.
var (
	// ErrClosed is returned by Put and Ack after Close.
	ErrClosed = errors.New("spill: queue is closed")
	// ErrLocked is returned by Open when another process holds the queue
	// (or by the first Put, when Open found no directory).
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
	lockFile *os.File // nil until the directory exists and is locked

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
	readFail struct {
		at Token // where reading failed
		n  int   // how many times in a row
	}

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

// Open opens the queue in cfg.Dir. It takes the queue's lock (waiting up
// to cfg.LockWait for another process), reads the end of each segment
// file, cuts off torn writes a killed process left, removes segments that
// were replayed completely and files with nothing valid in them, and logs
// what it repaired in one line. When the directory does not exist, Open
// only checks that it can be created; the first Put creates it and takes
// the lock. logger may be nil.
func Open(cfg Config, logger *slog.Logger) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{cfg: cfg, log: logger, inflight: make(map[Token]flight)}
	fi, err := os.Stat(cfg.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Nothing to replay: the directory is created at the first Put,
		// which saves a start-up that never spills the time it takes.
		if err := checkCreatable(cfg.Dir); err != nil {
			return nil, err
		}
		return q, nil
	case err != nil:
		return nil, fmt.Errorf("spill: the queue's directory: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("spill: the queue's directory %s is not a directory", cfg.Dir)
	}
	if err := q.attach(); err != nil {
		return nil, err
	}
	return q, nil
}

// checkCreatable checks that dir can be created: its nearest existing
// ancestor is a directory this process may write to.
func checkCreatable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if errors.Is(err, fs.ErrNotExist) && d != filepath.Dir(d) {
			continue
		}
		if err != nil {
			return fmt.Errorf("spill: the queue's directory %s: %w", dir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("spill: cannot create the queue's directory %s: %s is not a directory", dir, d)
		}
		if err := writable(d); err != nil {
			return fmt.Errorf("spill: cannot create the queue's directory %s: %s: %w", dir, d, err)
		}
		return nil
	}
}

// attach creates the queue's directory if needed, takes its lock and
// reads what it holds.
func (q *Queue) attach() error {
	if err := os.MkdirAll(q.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("spill: create the queue's directory: %w", err)
	}
	lf, err := lockDir(q.cfg.Dir, q.cfg.LockWait)
	if err != nil {
		return err
	}
	if err := q.load(); err != nil {
		lf.Close()
		return err
	}
	q.lockFile = lf
	return nil
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
	// The width is fixed so that the file need not be truncated: on ext4,
	// closing a file truncated to zero starts a write-back.
	_, _ = f.WriteAt(fmt.Appendf(nil, "%10d\n", os.Getpid()), 0)
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
	if end < size {
		// What follows the last complete record is a record cut short
		// (a header, or part of one) or, if not, garbage.
		var hb [headerLen]byte
		n, _ := f.ReadAt(hb[:], end)
		if _, ok := parseHeader(hb[:n]); size-end < headerLen || ok {
			q.st.TornTails++
			q.st.TornBytes += size - end
		} else {
			q.st.Corrupt++
			q.st.CorruptBytes += size - end
		}
	}
	if records == 0 {
		_ = os.Remove(s.path)
		return false, nil
	}
	s.size, s.dataEnd, s.sealed = size, end, true
	s.records, s.items = records, items
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
	if q.lockFile != nil {
		errs = append(errs, q.lockFile.Close())
	}
	q.closed = true
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spill: close: %w", err)
	}
	return nil
}
