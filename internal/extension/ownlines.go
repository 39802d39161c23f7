package extension

import (
	"bytes"
	"hash/maphash"
	"io"
	"sync"
)

// ownLinesKept is how many written lines ownLines remembers: far more
// than come back between two deliveries of the Telemetry API.
const ownLinesKept = 8192

// ownLines writes to w (the extension's stdout, where the awsemf exporter
// writes its records) and remembers a hash of each line written, so that
// the telemetryapi receiver can tell these lines when Lambda hands them
// back as extension log lines, and does not export them again as log
// records. The lines are not prefixed like the extension's own log lines:
// CloudWatch extracts metrics only from a log event that is a JSON object
// from its first byte to its last.
type ownLines struct {
	w    io.Writer
	seed maphash.Seed

	mu   sync.Mutex
	seen map[uint64]int // hash → lines written and not yet come back
	ring []uint64       // the hashes remembered, oldest first once full
	next int
}

func newOwnLines(w io.Writer, keep int) *ownLines {
	return &ownLines{w: w, seed: maphash.MakeSeed(), seen: map[uint64]int{}, ring: make([]uint64, 0, keep)}
}

// Write remembers every whole line of b, then writes b.
func (o *ownLines) Write(b []byte) (int, error) {
	o.mu.Lock()
	for rest := b; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		o.remember(maphash.Bytes(o.seed, bytes.TrimRight(rest[:i], "\r")))
		rest = rest[i+1:]
	}
	o.mu.Unlock()
	return o.w.Write(b)
}

func (o *ownLines) remember(h uint64) {
	if len(o.ring) < cap(o.ring) {
		o.ring = append(o.ring, h)
	} else {
		old := o.ring[o.next]
		if o.seen[old] > 1 {
			o.seen[old]--
		} else {
			delete(o.seen, old)
		}
		o.ring[o.next] = h
		o.next = (o.next + 1) % len(o.ring)
	}
	o.seen[h]++
}

// Own reports whether line (without its newline) is one written through
// o that has not come back yet; a line comes back once.
func (o *ownLines) Own(line string) bool {
	if o == nil {
		return false
	}
	h := maphash.String(o.seed, line)
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.seen[h]
	if n == 0 {
		return false
	}
	if n == 1 {
		delete(o.seen, h)
	} else {
		o.seen[h] = n - 1
	}
	return true
}
