package grpcwire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Code is a gRPC status code.
type Code uint32

// The gRPC status codes. OTLP exporters retry CANCELLED, DEADLINE_EXCEEDED,
// ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS, and RESOURCE_EXHAUSTED
// when the status has a RetryInfo.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
}

// String returns the code's name as grpc-go spells it, e.g. "Unavailable",
// or "Code(17)" for a code without a name.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Status is the outcome of a gRPC call: a code, a message, and the one
// detail OTLP uses, google.rpc.RetryInfo. A *Status is an error.
type Status struct {
	Code    Code
	Message string
	// RetryInfo reports whether the status carries a google.rpc.RetryInfo
	// detail: the server's word that the call may succeed if made again
	// after RetryDelay.
	RetryInfo  bool
	RetryDelay time.Duration
}

// Error returns the code and the message.
func (s *Status) Error() string {
	if s.Message == "" {
		return s.Code.String()
	}
	return s.Code.String() + ": " + s.Message
}

// Type URL of the google.rpc.RetryInfo detail in a google.rpc.Status.
const retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

// SetHeader sets the fields that carry s in h: grpc-status, grpc-message
// (percent-encoded; only if there is a message) and grpc-status-details-bin
// (only if s has a RetryInfo). prefix is put before each name: "" for the
// response headers (a Trailers-Only response), http.TrailerPrefix for the
// trailers.
func (s *Status) SetHeader(h http.Header, prefix string) {
	h[prefix+HeaderStatus] = []string{strconv.FormatUint(uint64(s.Code), 10)}
	if s.Message != "" {
		h[prefix+HeaderMessage] = []string{EncodeMessage(s.Message)}
	}
	if s.RetryInfo {
		h[prefix+HeaderStatusDetails] = []string{base64.RawStdEncoding.EncodeToString(MarshalStatus(s))}
	}
}

// StatusFromHeader returns the status in the fields of h (the trailers of a
// response, or its headers for a Trailers-Only response). ok is false if h
// has no grpc-status. A grpc-status that is not a number gives UNKNOWN. A
// grpc-status-details-bin is used for its RetryInfo only, and ignored if it
// does not decode or names another code than grpc-status.
func StatusFromHeader(h http.Header) (st *Status, ok bool) {
	v, ok := h[HeaderStatus]
	if !ok || len(v) == 0 {
		return nil, false
	}
	code, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 32)
	if err != nil {
		return &Status{Code: Unknown, Message: fmt.Sprintf("malformed grpc-status %q", v[0])}, true
	}
	st = &Status{Code: Code(code)}
	if m := h[HeaderMessage]; len(m) > 0 {
		st.Message = DecodeMessage(m[0])
	}
	if d := h[HeaderStatusDetails]; len(d) == 1 {
		if b, err := DecodeBinaryHeader(d[0]); err == nil {
			if details, err := UnmarshalStatus(b); err == nil && details.Code == st.Code {
				st.RetryInfo, st.RetryDelay = details.RetryInfo, details.RetryDelay
			}
		}
	}
	return st, true
}

// DecodeBinaryHeader decodes the value of a binary ("-bin") field: base64,
// padded or not, as the gRPC protocol asks implementations to accept.
func DecodeBinaryHeader(v string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
}

// EncodeBinaryHeader encodes the value of a binary ("-bin") field: base64
// without padding, as the gRPC protocol asks implementations to send.
func EncodeBinaryHeader(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// EncodeMessage percent-encodes a status message for grpc-message: bytes
// outside printable ASCII (0x20-0x7E), and '%', become %XX (upper-case
// hex). A message is UTF-8; each byte of a multi-byte rune is encoded.
func EncodeMessage(msg string) string {
	clean := true
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c > 0x7E || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return msg
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(msg) + 16)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c < 0x20 || c > 0x7E || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// DecodeMessage decodes a grpc-message. A '%' not followed by two hex
// digits is kept as it is, as the protocol asks: a broken encoding never
// loses the message.
func DecodeMessage(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '%' && i+2 < len(v) {
			hi, ok1 := unhex(v[i+1])
			lo, ok2 := unhex(v[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// MarshalStatus encodes s as a google.rpc.Status protobuf message, with a
// google.rpc.RetryInfo in its details if s has one.
func MarshalStatus(s *Status) []byte {
	var b []byte
	if s.Code != OK {
		b = protowire.AppendTag(b, 1, protowire.VarintType) // int32 code = 1
		b = protowire.AppendVarint(b, uint64(int64(int32(s.Code))))
	}
	if s.Message != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType) // string message = 2
		b = protowire.AppendString(b, s.Message)
	}
	if s.RetryInfo {
		var d []byte // google.protobuf.Duration
		secs, nanos := int64(s.RetryDelay/time.Second), int32(s.RetryDelay%time.Second)
		if secs != 0 {
			d = protowire.AppendTag(d, 1, protowire.VarintType) // int64 seconds = 1
			d = protowire.AppendVarint(d, uint64(secs))
		}
		if nanos != 0 {
			d = protowire.AppendTag(d, 2, protowire.VarintType) // int32 nanos = 2
			d = protowire.AppendVarint(d, uint64(int64(nanos)))
		}
		var info []byte                                          // google.rpc.RetryInfo
		info = protowire.AppendTag(info, 1, protowire.BytesType) // Duration retry_delay = 1
		info = protowire.AppendBytes(info, d)
		var anyMsg []byte                                            // google.protobuf.Any
		anyMsg = protowire.AppendTag(anyMsg, 1, protowire.BytesType) // string type_url = 1
		anyMsg = protowire.AppendString(anyMsg, retryInfoType)
		anyMsg = protowire.AppendTag(anyMsg, 2, protowire.BytesType) // bytes value = 2
		anyMsg = protowire.AppendBytes(anyMsg, info)
		b = protowire.AppendTag(b, 3, protowire.BytesType) // repeated Any details = 3
		b = protowire.AppendBytes(b, anyMsg)
	}
	return b
}

// errMalformed is the error of a google.rpc.Status that does not decode.
var errMalformed = errors.New("grpcwire: malformed google.rpc.Status")

// UnmarshalStatus decodes a google.rpc.Status protobuf message. Details
// other than google.rpc.RetryInfo are skipped. Like the protobuf runtime, it
// fails on a field of a known number with the wrong wire type and on a
// message that is not UTF-8.
func UnmarshalStatus(b []byte) (*Status, error) {
	st := &Status{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bytes []byte) error {
		switch num {
		case 1:
			if typ != protowire.VarintType {
				return errMalformed
			}
			st.Code = Code(uint32(int32(v)))
		case 2:
			if typ != protowire.BytesType || !utf8.Valid(bytes) {
				return errMalformed
			}
			st.Message = string(bytes)
		case 3:
			if typ != protowire.BytesType {
				return errMalformed
			}
			delay, ok, err := unmarshalRetryInfoAny(bytes)
			if err != nil {
				return err
			}
			if ok {
				st.RetryInfo, st.RetryDelay = true, delay
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// unmarshalRetryInfoAny decodes a google.protobuf.Any; ok is true if it
// holds a google.rpc.RetryInfo, whose delay it returns.
func unmarshalRetryInfoAny(b []byte) (delay time.Duration, ok bool, err error) {
	var typeURL string
	var value []byte
	err = walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, bytes []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errMalformed
			}
			typeURL = string(bytes)
		case 2:
			if typ != protowire.BytesType {
				return errMalformed
			}
			value = bytes
		}
		return nil
	})
	if err != nil || typeURL != retryInfoType {
		return 0, false, err
	}
	var secs, nanos int64
	err = walk(value, func(num protowire.Number, typ protowire.Type, _ uint64, bytes []byte) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return errMalformed
		}
		return walk(bytes, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
			switch num {
			case 1:
				if typ != protowire.VarintType {
					return errMalformed
				}
				secs = int64(v)
			case 2:
				if typ != protowire.VarintType {
					return errMalformed
				}
				nanos = int64(int32(v))
			}
			return nil
		})
	})
	if err != nil {
		return 0, false, err
	}
	return durationOf(secs, nanos), true, nil
}

// durationOf returns seconds and nanos as a duration, negative ones as 0
// and ones too long for a time.Duration as the longest.
func durationOf(secs, nanos int64) time.Duration {
	if secs < 0 || (secs == 0 && nanos < 0) {
		return 0
	}
	if secs > int64(math.MaxInt64/time.Second)-1 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(secs)*time.Second + time.Duration(nanos)
}

// walk calls f for each field of the protobuf message b: its number, wire
// type and, for a varint, its value, for a length-delimited field, its
// bytes. Fixed-size and group fields are skipped.
func walk(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, bytes []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		var v uint64
		var field []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			field, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if err := f(num, typ, v, field); err != nil {
			return err
		}
	}
	return nil
}

// statusJSON is google.rpc.Status in the protobuf JSON mapping.
type statusJSON struct {
	Code    int32         `json:"code,omitempty"`
	Message string        `json:"message,omitempty"`
	Details []detailsJSON `json:"details,omitempty"`
}

// detailsJSON is a google.protobuf.Any holding a google.rpc.RetryInfo.
type detailsJSON struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay,omitempty"`
}

// MarshalStatusJSON encodes s as a google.rpc.Status in the protobuf JSON
// mapping, as OTLP/HTTP sends it with application/json.
func MarshalStatusJSON(s *Status) []byte {
	j := statusJSON{Code: int32(s.Code), Message: s.Message}
	if s.RetryInfo {
		j.Details = []detailsJSON{{Type: retryInfoType, RetryDelay: formatDuration(s.RetryDelay)}}
	}
	b, _ := json.Marshal(j) // cannot fail: strings and numbers
	return b
}

// UnmarshalStatusJSON decodes a google.rpc.Status in the protobuf JSON
// mapping. Unknown fields and details other than google.rpc.RetryInfo are
// skipped.
func UnmarshalStatusJSON(b []byte) (*Status, error) {
	var j struct {
		Code    json.Number `json:"code"`
		Message string      `json:"message"`
		Details []struct {
			Type        string `json:"@type"`
			RetryDelay  string `json:"retryDelay"`
			RetryDelay2 string `json:"retry_delay"`
		} `json:"details"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("grpcwire: google.rpc.Status in JSON: %w", err)
	}
	st := &Status{Message: j.Message}
	if j.Code != "" {
		code, err := strconv.ParseInt(string(j.Code), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("grpcwire: google.rpc.Status in JSON: code %q: %w", j.Code, err)
		}
		st.Code = Code(uint32(int32(code)))
	}
	for _, d := range j.Details {
		if d.Type != retryInfoType {
			continue
		}
		v := d.RetryDelay
		if v == "" {
			v = d.RetryDelay2
		}
		st.RetryInfo = true
		st.RetryDelay = parseDuration(v)
	}
	return st, nil
}

// formatDuration formats d as google.protobuf.Duration in JSON: seconds
// with 0, 3, 6 or 9 decimals and the suffix "s".
func formatDuration(d time.Duration) string {
	secs, nanos := int64(d/time.Second), int64(d%time.Second)
	sign := ""
	if d < 0 {
		sign, secs, nanos = "-", -secs, -nanos
	}
	s := sign + strconv.FormatInt(secs, 10)
	switch {
	case nanos == 0:
	case nanos%1e6 == 0:
		s += fmt.Sprintf(".%03d", nanos/1e6)
	case nanos%1e3 == 0:
		s += fmt.Sprintf(".%06d", nanos/1e3)
	default:
		s += fmt.Sprintf(".%09d", nanos)
	}
	return s + "s"
}

// parseDuration parses a google.protobuf.Duration in JSON ("1.5s"); a
// negative, missing or invalid one is 0.
func parseDuration(v string) time.Duration {
	if !strings.HasSuffix(v, "s") {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0
	}
	return d
}
