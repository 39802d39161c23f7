package spill

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Next hands out the oldest record that is neither acknowledged nor in
// flight, and marks it in flight. ok is false when there is none. Damaged
// data is skipped, counted and logged. A read error ends the call with ok
// false and is logged; when reading fails at the same place a third time,
// the rest of that segment is skipped as damaged. rec.Data is the
// caller's.
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
			if q.readFail.at != t {
				q.readFail.at, q.readFail.n = t, 0
			}
			if q.readFail.n++; q.readFail.n < maxReadFails {
				q.log.Warn("spill queue: read failed; replay stops for now", "file", s.path, "offset", off, "error", err)
				return Record{}, Token{}, false
			}
			// An unreadable stretch would stop replay for good: step
			// over the rest of the segment as if it were corrupt.
			q.log.Warn("spill queue: read failed again; skipping the rest of the file", "file", s.path, "offset", off, "error", err)
			corrupt, next = true, s.dataEnd
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

// maxReadFails is how many times in a row Next tries to read a record
// before it gives up on the rest of its segment.
const maxReadFails = 3

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
