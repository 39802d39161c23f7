package spill

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// segment is one file of the queue: records appended in order, sealed when
// the next segment starts or the queue closes. Its file name is its
// sequence number, 16 hex digits, then ".seg"; names sort in queue order.
type segment struct {
	seq  uint64
	path string
	// size is the file's length, seal included.
	size int64
	// dataEnd is where the records end: the seal's offset, or size while
	// the segment is being written.
	dataEnd int64
	sealed  bool
	// records and items count the records in the file (as written).
	records, items int64

	// ackedUpTo: every byte below it was delivered or skipped as corrupt.
	ackedUpTo int64
	// ackedAbove holds ranges above ackedUpTo that were dealt with out of
	// order: offset → end.
	ackedAbove map[int64]int64
	// ackedRecords and ackedItems count what was delivered.
	ackedRecords, ackedItems int64
	// logEntries counts entries in the acknowledgement log about this
	// segment, which become dead when it is removed.
	logEntries int

	// Corrupt data found while replaying, not yet reported.
	corruptSpots, corruptBytes int64
}

const segSuffix = ".seg"

func segName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segSuffix) }

// parseSegName returns the sequence number of a segment's file name.
func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || seq == 0 {
		return 0, false
	}
	return seq, true
}

func newSegment(dir string, seq uint64) *segment {
	return &segment{seq: seq, path: filepath.Join(dir, segName(seq))}
}

// remaining counts the records and items not delivered yet.
func (s *segment) remaining() (records, items int64) {
	return max(s.records-s.ackedRecords, 0), max(s.items-s.ackedItems, 0)
}

// ack marks [off, next) as dealt with.
func (s *segment) ack(off, next int64) {
	switch {
	case off <= s.ackedUpTo:
		s.ackedUpTo = max(s.ackedUpTo, next)
	default:
		if s.ackedAbove == nil {
			s.ackedAbove = make(map[int64]int64)
		}
		s.ackedAbove[off] = max(s.ackedAbove[off], next)
		return
	}
	for {
		n, ok := s.ackedAbove[s.ackedUpTo]
		if !ok {
			break
		}
		delete(s.ackedAbove, s.ackedUpTo)
		s.ackedUpTo = max(s.ackedUpTo, n)
	}
}

// acked returns the end of the dealt-with range that starts at off.
func (s *segment) acked(off int64) (int64, bool) {
	if off < s.ackedUpTo {
		return s.ackedUpTo, true
	}
	n, ok := s.ackedAbove[off]
	return n, ok
}

// done reports whether every record of a sealed segment was dealt with.
func (s *segment) done() bool { return s.sealed && s.ackedUpTo >= s.dataEnd }

// readBufSize is the replay reader's buffer: records up to this size are
// read through it, several per read call.
const readBufSize = 64 << 10

// reader reads one segment file with positioned reads through a buffer.
// Bytes below a segment's dataEnd never change once written, so buffered
// bytes stay valid while the segment grows.
type reader struct {
	f      *os.File
	seq    uint64
	buf    []byte
	bufOff int64
	n      int
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.seq, r.n = nil, 0, 0
}

// use makes r read f, segment seq.
func (r *reader) use(f *os.File, seq uint64) {
	r.close()
	r.f, r.seq = f, seq
}

// read returns n <= readBufSize bytes at off from the buffer, refilling it
// with what lies between off and end. The slice is valid until the next
// call. A file shorter than end gives io.ErrUnexpectedEOF.
func (r *reader) read(off int64, n int, end int64) ([]byte, error) {
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(r.n) {
		i := off - r.bufOff
		return r.buf[i : i+int64(n)], nil
	}
	if r.buf == nil {
		r.buf = make([]byte, readBufSize)
	}
	want := min(int64(len(r.buf)), end-off)
	if want < int64(n) {
		return nil, io.ErrUnexpectedEOF
	}
	m, err := r.f.ReadAt(r.buf[:want], off)
	r.bufOff, r.n = off, m
	if m < n {
		r.n = 0
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return r.buf[:n], nil
}

// readLarge returns n bytes at off in a new slice, bypassing the buffer.
func (r *reader) readLarge(off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	m, err := r.f.ReadAt(b, off)
	if m < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// header reads and checks the header at off of a segment whose records end
// at end. ok is false when there is no valid header there, or when the
// record would run past end; err is set only for read errors other than a
// short file.
func (r *reader) header(off, end int64) (h header, ok bool, err error) {
	if off+headerLen > end {
		return header{}, false, nil
	}
	b, err := r.read(off, headerLen, end)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return header{}, false, nil
		}
		return header{}, false, err
	}
	h, ok = parseHeader(b)
	if !ok || off+h.total() > end {
		return header{}, false, nil
	}
	return h, true, nil
}

// resync returns the offset of the first valid data record header at or
// after from whose record ends by end, or end when there is none. It
// always moves forward, so a caller looping over it ends.
func (r *reader) resync(from, end int64) (int64, error) {
	for p := from; p+headerLen <= end; {
		chunk, err := r.read(p, int(min(int64(readBufSize), end-p)), end)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return end, nil
			}
			return 0, err
		}
		i := bytes.Index(chunk, magic[:])
		if i < 0 {
			// The magic may straddle the chunk's end: keep its last 3 bytes.
			p += int64(len(chunk) - len(magic) + 1)
			continue
		}
		at := p + int64(i)
		h, ok, err := r.header(at, end)
		if err != nil {
			return 0, err
		}
		if ok && h.kind != kindSeal {
			return at, nil
		}
		p = at + 1
	}
	return end, nil
}

// scan reads the headers of a segment whose seal is missing or damaged
// (its writer was killed, or the file was damaged) and returns where its
// last complete record ends, with the number of records and items before
// that. Damaged stretches in between are stepped over (replay reports
// them); whatever follows the last complete record is a torn write or
// garbage.
func scan(f *os.File, size int64) (end, records, items int64, err error) {
	r := reader{f: f}
	for off := int64(0); off+headerLen <= size; {
		h, ok, err := r.header(off, size)
		if err != nil {
			return 0, 0, 0, err
		}
		if ok && h.kind != kindSeal {
			records++
			items += h.items
			off += h.total()
			end = off
			continue
		}
		if off, err = r.resync(off+1, size); err != nil {
			return 0, 0, 0, err
		}
	}
	return end, records, items, nil
}
