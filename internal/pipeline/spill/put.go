package spill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"
)

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
	if q.lockFile == nil {
		if err := q.attach(); err != nil {
			return err
		}
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
	records, items = max(records, 0), max(items, 0)
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
