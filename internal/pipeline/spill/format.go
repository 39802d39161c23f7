package spill

import (
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
)

// The record format (all integers little-endian). A record is a 36-byte
// header followed by its payload, the exporter id and then the data:
//
//	off len field
//	  0   4 magic "LOSP"
//	  4   1 format version (1)
//	  5   1 kind: 1 traces, 2 metrics, 3 logs, 0 seal
//	  6   2 exporter id length
//	  8   4 data length
//	 12   8 items
//	 20   8 enqueued, Unix nanoseconds
//	 28   4 CRC-32C of the payload (exporter id, then data)
//	 32   4 CRC-32C of header bytes 0..31
//	 36     exporter id, data
//
// The header has its own checksum so that a damaged length is caught before
// it is used to read or allocate anything.
//
// A seal is a record of kind 0 with no exporter id and 8 bytes of data (the
// number of records in the segment, uint64); its items field holds the
// segment's item count. It is the last record of a segment that was
// completely written, so that Open learns a segment's size and counts from
// one small read at its end instead of reading the whole file.
const (
	headerLen     = 36
	formatVersion = 1
	kindSeal      = 0
	sealDataLen   = 8
	sealLen       = headerLen + sealDataLen

	// maxDataLen bounds a record's data; a header claiming more is corrupt.
	maxDataLen = 1 << 30
	// maxExporterLen bounds an exporter id (it has a 16-bit length).
	maxExporterLen = 1<<16 - 1
)

var magic = [4]byte{'L', 'O', 'S', 'P'}

// crcTable is built on first use, not at package initialisation.
var crcTable = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// header is a decoded record header.
type header struct {
	kind       byte
	expLen     int
	dataLen    int
	items      int64
	enqueued   int64
	payloadCRC uint32
}

// total is the record's length on disk: header and payload.
func (h header) total() int64 { return headerLen + int64(h.expLen) + int64(h.dataLen) }

// putHeader encodes h into b[:headerLen], with both checksums' header part.
func putHeader(b []byte, h header) {
	_ = b[headerLen-1]
	copy(b[0:4], magic[:])
	b[4] = formatVersion
	b[5] = h.kind
	binary.LittleEndian.PutUint16(b[6:8], uint16(h.expLen))
	binary.LittleEndian.PutUint32(b[8:12], uint32(h.dataLen))
	binary.LittleEndian.PutUint64(b[12:20], uint64(h.items))
	binary.LittleEndian.PutUint64(b[20:28], uint64(h.enqueued))
	binary.LittleEndian.PutUint32(b[28:32], h.payloadCRC)
	binary.LittleEndian.PutUint32(b[32:36], crc32.Checksum(b[0:32], crcTable()))
}

// parseHeader decodes b[:headerLen]. It reports false for anything that is
// not a header this version wrote: wrong magic, version, checksum, kind or
// an impossible length or count.
func parseHeader(b []byte) (header, bool) {
	if len(b) < headerLen || [4]byte(b[0:4]) != magic || b[4] != formatVersion {
		return header{}, false
	}
	if crc32.Checksum(b[0:32], crcTable()) != binary.LittleEndian.Uint32(b[32:36]) {
		return header{}, false
	}
	h := header{
		kind:       b[5],
		expLen:     int(binary.LittleEndian.Uint16(b[6:8])),
		dataLen:    int(binary.LittleEndian.Uint32(b[8:12])),
		items:      int64(binary.LittleEndian.Uint64(b[12:20])),
		enqueued:   int64(binary.LittleEndian.Uint64(b[20:28])),
		payloadCRC: binary.LittleEndian.Uint32(b[28:32]),
	}
	if h.kind > kindLogs || h.dataLen > maxDataLen || h.items < 0 {
		return header{}, false
	}
	if h.kind == kindSeal && (h.expLen != 0 || h.dataLen != sealDataLen) {
		return header{}, false
	}
	return h, true
}

// payloadCRC is the checksum of a record's exporter id and data.
func payloadCRC(exporter, data []byte) uint32 {
	t := crcTable()
	return crc32.Update(crc32.Update(0, t, exporter), t, data)
}

// The kinds of data records, one per signal.
const (
	kindTraces  = 1
	kindMetrics = 2
	kindLogs    = 3
)

func signalKind(s pipeline.Signal) (byte, bool) {
	switch s {
	case pipeline.Traces:
		return kindTraces, true
	case pipeline.Metrics:
		return kindMetrics, true
	case pipeline.Logs:
		return kindLogs, true
	}
	return 0, false
}

func kindSignal(k byte) pipeline.Signal {
	switch k {
	case kindTraces:
		return pipeline.Traces
	case kindMetrics:
		return pipeline.Metrics
	}
	return pipeline.Logs
}

// appendSeal appends a seal for a segment of records records and items
// items to b.
func appendSeal(b []byte, records, items, now int64) []byte {
	var data [sealDataLen]byte
	binary.LittleEndian.PutUint64(data[:], uint64(records))
	var hb [headerLen]byte
	putHeader(hb[:], header{kind: kindSeal, dataLen: sealDataLen, items: items, enqueued: now,
		payloadCRC: crc32.Checksum(data[:], crcTable())})
	return append(append(b, hb[:]...), data[:]...)
}

// parseSeal decodes a seal from b[:sealLen].
func parseSeal(b []byte) (records, items int64, ok bool) {
	if len(b) < sealLen {
		return 0, 0, false
	}
	h, ok := parseHeader(b)
	if !ok || h.kind != kindSeal || crc32.Checksum(b[headerLen:sealLen], crcTable()) != h.payloadCRC {
		return 0, 0, false
	}
	records = int64(binary.LittleEndian.Uint64(b[headerLen:sealLen]))
	if records < 0 {
		return 0, 0, false
	}
	return records, h.items, true
}

// An acknowledgement log entry (40 bytes, little-endian) says that the
// byte range [off, next) of segment seq was dealt with: delivered records,
// or corrupt data that was skipped (records and items 0). Entries are
// appended, one write each, so persisting an acknowledgement costs one
// small write and no rename.
//
//	off len field
//	  0   8 segment sequence number
//	  8   8 off
//	 16   8 next
//	 24   8 items acknowledged
//	 32   4 records acknowledged
//	 36   4 CRC-32C of bytes 0..35
const ackEntryLen = 40

type ackEntry struct {
	seq       uint64
	off, next int64
	items     int64
	records   int64
}

func appendAckEntry(b []byte, e ackEntry) []byte {
	var eb [ackEntryLen]byte
	binary.LittleEndian.PutUint64(eb[0:8], e.seq)
	binary.LittleEndian.PutUint64(eb[8:16], uint64(e.off))
	binary.LittleEndian.PutUint64(eb[16:24], uint64(e.next))
	binary.LittleEndian.PutUint64(eb[24:32], uint64(e.items))
	binary.LittleEndian.PutUint32(eb[32:36], uint32(e.records))
	binary.LittleEndian.PutUint32(eb[36:40], crc32.Checksum(eb[0:36], crcTable()))
	return append(b, eb[:]...)
}

func parseAckEntry(b []byte) (ackEntry, bool) {
	if len(b) < ackEntryLen || crc32.Checksum(b[0:36], crcTable()) != binary.LittleEndian.Uint32(b[36:40]) {
		return ackEntry{}, false
	}
	e := ackEntry{
		seq:     binary.LittleEndian.Uint64(b[0:8]),
		off:     int64(binary.LittleEndian.Uint64(b[8:16])),
		next:    int64(binary.LittleEndian.Uint64(b[16:24])),
		items:   int64(binary.LittleEndian.Uint64(b[24:32])),
		records: int64(binary.LittleEndian.Uint32(b[32:36])),
	}
	if e.seq == 0 || e.off < 0 || e.next <= e.off || e.items < 0 {
		return ackEntry{}, false
	}
	return e, true
}
