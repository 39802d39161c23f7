package grpcwire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestCodeNames checks that every code has grpc-go's name and number.
func TestCodeNames(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated+1; c++ {
		if got, want := Code(c).String(), c.String(); got != want {
			t.Errorf("Code(%d) = %q, grpc-go says %q", c, got, want)
		}
	}
}

func TestContentSubtype(t *testing.T) {
	for _, tt := range []struct {
		ct      string
		subtype string
		ok      bool
	}{
		{"application/grpc", "", true},
		{"application/grpc+proto", "proto", true},
		{"application/grpc+json", "json", true},
		{"application/grpc;charset=utf-8", "", true},
		{"application/grpc+proto; charset=utf-8", "proto", true},
		{"Application/GRPC", "", true},
		{"application/grpc-web", "", false},
		{"application/grpcx", "", false},
		{"application/x-protobuf", "", false},
		{"", "", false},
	} {
		subtype, ok := ContentSubtype(tt.ct)
		if subtype != tt.subtype || ok != tt.ok {
			t.Errorf("ContentSubtype(%q) = %q, %v; want %q, %v", tt.ct, subtype, ok, tt.subtype, tt.ok)
		}
	}
}

func TestTimeout(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0n"},
		{0, "0n"},
		{1, "1n"},
		{99_999_999, "99999999n"},
		{100_000_000, "100000u"},        // 100ms no longer fits in 8 digits of ns
		{100_000_001, "100001u"},        // rounded up
		{10 * time.Second, "10000000u"}, // 10 s
		{5 * time.Minute, "300000m"},
		{30 * time.Hour, "108000S"},
		{time.Duration(math.MaxInt64), "2562048H"},
	} {
		got := EncodeTimeout(tt.d)
		if got != tt.want {
			t.Errorf("EncodeTimeout(%v) = %q, want %q", tt.d, got, tt.want)
		}
		back, err := ParseTimeout(got)
		if err != nil {
			t.Errorf("ParseTimeout(%q): %v", got, err)
		}
		if tt.d > 0 && back < tt.d {
			t.Errorf("ParseTimeout(EncodeTimeout(%v)) = %v: the server would be told less time", tt.d, back)
		}
	}
	for _, tt := range []struct {
		v    string
		want time.Duration
		err  string
	}{
		{"1H", time.Hour, ""},
		{"2M", 2 * time.Minute, ""},
		{"3S", 3 * time.Second, ""},
		{"4m", 4 * time.Millisecond, ""},
		{"5u", 5 * time.Microsecond, ""},
		{"6n", 6, ""},
		{"0m", 0, ""},
		{"99999999H", time.Duration(math.MaxInt64), ""},
		{"", 0, "want 1 to 8 digits and a unit"},
		{"S", 0, "want 1 to 8 digits and a unit"},
		{"123456789S", 0, "want 1 to 8 digits and a unit"},
		{"10s", 0, `unit "s" is not one of`},
		{"1.5S", 0, `"1.5" is not a number`},
		{"-1S", 0, `"-1" is not a number`},
		{" 1S", 0, `" 1" is not a number`},
	} {
		got, err := ParseTimeout(tt.v)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTimeout(%q) = %v, %v; want an error with %q", tt.v, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", tt.v, got, err, tt.want)
		}
	}
}

func TestMessageEncoding(t *testing.T) {
	for _, tt := range []struct{ msg, wire string }{
		{"", ""},
		{"plain ASCII: ~!@#$^&*()", "plain ASCII: ~!@#$^&*()"},
		{"100%", "100%25"},
		{"tab\there\nnewline\r", "tab%09here%0Anewline%0D"},
		{"\x7f\x00", "%7F%00"},
		{"naïve — 日本", "na%C3%AFve %E2%80%94 %E6%97%A5%E6%9C%AC"},
		{"bad utf-8 \xff", "bad utf-8 %FF"},
	} {
		if got := EncodeMessage(tt.msg); got != tt.wire {
			t.Errorf("EncodeMessage(%q) = %q, want %q", tt.msg, got, tt.wire)
		}
		if got := DecodeMessage(tt.wire); got != tt.msg {
			t.Errorf("DecodeMessage(%q) = %q, want %q", tt.wire, got, tt.msg)
		}
	}
	// Broken encodings are kept as they are, never an error.
	for wire, want := range map[string]string{
		"50%":       "50%",
		"50%4":      "50%4",
		"%zz and %": "%zz and %",
		"%4a%4A":    "JJ",
		"%%41":      "%A",
	} {
		if got := DecodeMessage(wire); got != want {
			t.Errorf("DecodeMessage(%q) = %q, want %q", wire, got, want)
		}
	}
}

// grpcGoStatus returns what grpc-go puts in grpc-status-details-bin for a
// status with a RetryInfo of delay (before base64).
func grpcGoStatus(t *testing.T, code codes.Code, msg string, delay time.Duration) []byte {
	t.Helper()
	st, err := status.New(code, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: "QUOTA", Domain: "example.com"}, // skipped
		&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(st.Proto())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStatusProto(t *testing.T) {
	// What grpc-go encodes, we decode.
	for _, d := range []time.Duration{0, 1500 * time.Millisecond, 7 * time.Second, -time.Second} {
		st, err := UnmarshalStatus(grpcGoStatus(t, codes.ResourceExhausted, "slow down ü", d))
		if err != nil {
			t.Fatal(err)
		}
		want := d
		if want < 0 {
			want = 0
		}
		if st.Code != ResourceExhausted || st.Message != "slow down ü" || !st.RetryInfo || st.RetryDelay != want {
			t.Errorf("delay %v: decoded %+v", d, st)
		}
	}
	// What we encode, grpc-go decodes.
	for _, in := range []*Status{
		{Code: ResourceExhausted, Message: "buffer is full", RetryInfo: true, RetryDelay: time.Second},
		{Code: Unavailable, Message: "x", RetryInfo: true, RetryDelay: 2*time.Second + 5*time.Millisecond},
		{Code: InvalidArgument, Message: "bad"},
		{Code: OK},
	} {
		b := MarshalStatus(in)
		st := decodeWithGRPCGo(t, b)
		if codes.Code(in.Code) != st.Code() || in.Message != st.Message() {
			t.Errorf("grpc-go decoded %v %q, want %v %q", st.Code(), st.Message(), in.Code, in.Message)
		}
		var delay time.Duration
		found := false
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				found, delay = true, ri.GetRetryDelay().AsDuration()
			}
		}
		if found != in.RetryInfo || delay != in.RetryDelay {
			t.Errorf("grpc-go decoded RetryInfo %v %v, want %v %v", found, delay, in.RetryInfo, in.RetryDelay)
		}
		back, err := UnmarshalStatus(b)
		if err != nil || *back != *in {
			t.Errorf("round trip: %+v, %v; want %+v", back, err, in)
		}
	}
	for _, bad := range [][]byte{
		{0x0a},                   // field 1 as bytes, truncated
		{0x08},                   // varint missing
		{0x12, 0x05, 'a'},        // message shorter than its length
		{0x12, 0x01, 0xff},       // message not UTF-8
		{0x1a, 0x02, 0x08, 0x01}, // details: an Any whose type_url is a varint
	} {
		if st, err := UnmarshalStatus(bad); err == nil {
			t.Errorf("UnmarshalStatus(%x) = %+v, want an error", bad, st)
		}
	}
}

func decodeWithGRPCGo(t *testing.T, b []byte) *status.Status {
	t.Helper()
	st := status.New(codes.OK, "").Proto()
	if err := proto.Unmarshal(b, st); err != nil {
		t.Fatalf("grpc-go cannot decode %x: %v", b, err)
	}
	return status.FromProto(st)
}

func TestStatusJSON(t *testing.T) {
	in := &Status{Code: ResourceExhausted, Message: `quota "7" <used>`, RetryInfo: true, RetryDelay: 1500 * time.Millisecond}
	b := MarshalStatusJSON(in)
	// protojson reads it as google.rpc.Status.
	st := status.New(codes.OK, "").Proto()
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b, st); err != nil {
		t.Fatalf("protojson cannot decode %s: %v", b, err)
	}
	if st.GetCode() != 8 || st.GetMessage() != in.Message || len(st.GetDetails()) != 1 {
		t.Errorf("protojson decoded %v", st)
	}
	back, err := UnmarshalStatusJSON(b)
	if err != nil || *back != *in {
		t.Errorf("round trip of %s: %+v, %v", b, back, err)
	}
	// What protojson writes, we read.
	pj, err := protojson.Marshal(grpcGoStatusProto(t, 7*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalStatusJSON(pj)
	if err != nil || got.Code != Unavailable || got.Message != "later" || !got.RetryInfo || got.RetryDelay != 7*time.Second {
		t.Errorf("UnmarshalStatusJSON(%s) = %+v, %v", pj, got, err)
	}
	for _, bad := range []string{`{"code": "x"}`, `[1]`, `{`} {
		if st, err := UnmarshalStatusJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalStatusJSON(%s) = %+v, want an error", bad, st)
		}
	}
	if got := string(MarshalStatusJSON(&Status{Code: InvalidArgument, Message: "m"})); got != `{"code":3,"message":"m"}` {
		t.Errorf("MarshalStatusJSON = %s", got)
	}
}

func grpcGoStatusProto(t *testing.T, delay time.Duration) proto.Message {
	t.Helper()
	st, err := status.New(codes.Unavailable, "later").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		t.Fatal(err)
	}
	return st.Proto()
}

func TestStatusHeader(t *testing.T) {
	in := &Status{Code: ResourceExhausted, Message: "full: 100%", RetryInfo: true, RetryDelay: time.Second}
	h := http.Header{}
	in.SetHeader(h, http.TrailerPrefix)
	if got := h[http.TrailerPrefix+"Grpc-Message"]; len(got) != 1 || got[0] != "full: 100%25" {
		t.Errorf("grpc-message %q", got)
	}
	plain := http.Header{}
	for k, v := range h {
		plain[strings.TrimPrefix(k, http.TrailerPrefix)] = v
	}
	if strings.Contains(plain.Get("Grpc-Status-Details-Bin"), "=") {
		t.Errorf("grpc-status-details-bin %q is padded", plain.Get("Grpc-Status-Details-Bin"))
	}
	got, ok := StatusFromHeader(plain)
	if !ok || *got != *in {
		t.Errorf("StatusFromHeader = %+v, %v; want %+v", got, ok, in)
	}

	for _, tt := range []struct {
		name string
		h    http.Header
		ok   bool
		want Status
	}{
		{"none", http.Header{}, false, Status{}},
		{"OK", http.Header{"Grpc-Status": {"0"}}, true, Status{Code: OK}},
		{"malformed", http.Header{"Grpc-Status": {"x"}}, true, Status{Code: Unknown, Message: `malformed grpc-status "x"`}},
		{"unknown code", http.Header{"Grpc-Status": {"42"}, "Grpc-Message": {"new"}}, true, Status{Code: 42, Message: "new"}},
		{"details of another code", http.Header{"Grpc-Status": {"14"},
			"Grpc-Status-Details-Bin": {EncodeBinaryHeader(MarshalStatus(&Status{Code: ResourceExhausted, RetryInfo: true, RetryDelay: time.Second}))}},
			true, Status{Code: Unavailable}},
		{"details not base64", http.Header{"Grpc-Status": {"14"}, "Grpc-Status-Details-Bin": {"!!"}}, true, Status{Code: Unavailable}},
		{"details of grpc-go, padded base64", http.Header{"Grpc-Status": {"8"}, "Grpc-Message": {"m"},
			"Grpc-Status-Details-Bin": {base64.StdEncoding.EncodeToString(grpcGoStatus(t, codes.ResourceExhausted, "m", 3*time.Second))}},
			true, Status{Code: ResourceExhausted, Message: "m", RetryInfo: true, RetryDelay: 3 * time.Second}},
		{"truncated details", http.Header{"Grpc-Status": {"8"},
			"Grpc-Status-Details-Bin": {"CAgSAXgaKwoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5mbw"}},
			true, Status{Code: ResourceExhausted}},
	} {
		got, ok := StatusFromHeader(tt.h)
		if ok != tt.ok || (ok && *got != tt.want) {
			t.Errorf("%s: StatusFromHeader = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFraming(t *testing.T) {
	msg := bytes.Repeat([]byte("span "), 1000)
	for _, compress := range []bool{false, true} {
		b, err := AppendMessage([]byte("before"), msg, compress)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("before")) {
			t.Fatal("AppendMessage lost what dst held")
		}
		b = b[len("before"):]
		if flag := b[0]; (flag == 1) != compress {
			t.Errorf("compress %v: flag %d", compress, flag)
		}
		if compress && len(b) >= len(msg) {
			t.Errorf("compressed message of %d bytes is not smaller than %d", len(b), len(msg))
		}
		// Two messages back to back, then the end of the stream.
		r := bytes.NewReader(append(append([]byte(nil), b...), b...))
		var buf bytes.Buffer
		for i := range 2 {
			if err := ReadMessage(r, &buf, len(msg), "gzip"); err != nil || !bytes.Equal(buf.Bytes(), msg) {
				t.Fatalf("compress %v, message %d: %v", compress, i, err)
			}
		}
		if err := ReadMessage(r, &buf, len(msg), "gzip"); err != io.EOF {
			t.Errorf("at the end: %v, want io.EOF", err)
		}
	}

	gz, _ := AppendMessage(nil, make([]byte, 1<<20), true) // a gzip bomb: 1 MiB of zeros in ~1 KB
	plain, _ := AppendMessage(nil, msg, false)
	wantStatus := func(name string, err error, code Code, text string) {
		t.Helper()
		var st *Status
		if !errors.As(err, &st) || st.Code != code || !strings.Contains(st.Message, text) {
			t.Errorf("%s: %v, want %v with %q", name, err, code, text)
		}
	}
	var buf bytes.Buffer
	wantStatus("over the limit", ReadMessage(bytes.NewReader(plain), &buf, len(msg)-1, ""), ResourceExhausted,
		"message of 5000 bytes is larger than the limit of 4999 bytes")
	wantStatus("gzip bomb", ReadMessage(bytes.NewReader(gz), &buf, 64<<10, "gzip"), ResourceExhausted,
		"larger than the limit of 65536 bytes after gzip decompression")
	wantStatus("compressed without encoding", ReadMessage(bytes.NewReader(gz), &buf, 2<<20, ""), Internal, "no grpc-encoding")
	wantStatus("compressed with identity", ReadMessage(bytes.NewReader(gz), &buf, 2<<20, "identity"), Internal, "no grpc-encoding")
	wantStatus("unknown encoding", ReadMessage(bytes.NewReader(gz), &buf, 2<<20, "snappy"), Unimplemented, `"snappy" is not supported; supported: gzip, zstd, identity`)
	wantStatus("gzip data as zstd", ReadMessage(bytes.NewReader(gz), &buf, 2<<20, "zstd"), Internal, "cannot decompress the zstd message")
	enc, _ := zstd.NewWriter(nil)
	zs, _ := AppendMessage(nil, enc.EncodeAll(msg, nil), false)
	zs[0] = 1
	wantStatus("zstd bomb", ReadMessage(bytes.NewReader(zs), &buf, 1000, "zstd"), ResourceExhausted,
		"larger than the limit of 1000 bytes after zstd decompression")
	if err := ReadMessage(bytes.NewReader(zs), &buf, 2<<20, "zstd"); err != nil || !bytes.Equal(buf.Bytes(), msg) {
		t.Errorf("zstd message: %v, %d bytes; want the %d bytes sent", err, buf.Len(), len(msg))
	}
	wantStatus("flag 3", ReadMessage(bytes.NewReader(append([]byte{3}, plain[1:]...)), &buf, 1<<20, ""), Internal, "compressed flag 3")
	wantStatus("truncated prefix", ReadMessage(bytes.NewReader(plain[:3]), &buf, 1<<20, ""), Internal, "inside a message prefix")
	wantStatus("truncated message", ReadMessage(bytes.NewReader(plain[:100]), &buf, 1<<20, ""), Internal,
		"the stream ends after 95 of the message's 5000 bytes")
	wantStatus("truncated gzip", ReadMessage(bytes.NewReader(gz[:len(gz)-10]), &buf, 2<<20, "gzip"), Internal, "cannot decompress")
	corrupt := append([]byte(nil), gz...)
	corrupt[5] = 'x' // not the gzip magic
	wantStatus("not gzip", ReadMessage(bytes.NewReader(corrupt), &buf, 2<<20, "gzip"), Internal, "cannot decompress")

	// A failing stream is not the message's fault: its error comes back.
	boom := errors.New("connection reset")
	for _, b := range [][]byte{plain, gz} {
		r := io.MultiReader(bytes.NewReader(b[:50]), errReader{boom})
		if err := ReadMessage(r, &buf, 2<<20, "gzip"); !errors.Is(err, boom) {
			t.Errorf("stream failing: %v, want %v", err, boom)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCodeFromHTTPStatus(t *testing.T) {
	for status, want := range map[int]Code{
		200: Unknown, 400: Internal, 401: Unauthenticated, 403: PermissionDenied, 404: Unimplemented,
		429: Unavailable, 500: Unknown, 502: Unavailable, 503: Unavailable, 504: Unavailable,
	} {
		if got := CodeFromHTTPStatus(status); got != want {
			t.Errorf("CodeFromHTTPStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
