package spill

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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
