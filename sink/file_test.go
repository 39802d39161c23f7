package sink_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lambdaotel/lambdaotel/sink"
)

// TestOutFile sends requests of every signal over both transports and
// checks each line of the output file as it is written, then reads the file
// back with ReadFile.
func TestOutFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startSink(t, sink.Config{Out: out})
	ctx := testContext(t)
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	sends := []struct {
		signal, transport string
		send              func() error
	}{
		{"traces", "grpc", func() error {
			_, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(newTraces("svc", "a", "b")))
			return err
		}},
		{"traces", "http", func() error {
			return ok(post(t, s, "/v1/traces", "application/json", "", encode(t, "json", newTraces("svc", "c"))))
		}},
		{"metrics", "http", func() error {
			return ok(post(t, s, "/v1/metrics", "application/x-protobuf", "gzip", gzipBytes(t, encode(t, "protobuf", newMetrics("svc", 2)))))
		}},
		{"logs", "grpc", func() error {
			_, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(newLogs("svc", "hello \"world\"\n")))
			return err
		}},
	}
	for i, snd := range sends {
		if err := snd.send(); err != nil {
			t.Fatalf("send %s via %s: %v", snd.signal, snd.transport, err)
		}
		// The line is in the file as soon as the request is answered.
		lines := readLines(t, out)
		if len(lines) != i+1 {
			t.Fatalf("after %d requests the file has %d lines", i+1, len(lines))
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(rec) != 4 {
			t.Errorf("line %d has fields %v, want signal, transport, received, data", i+1, keys(rec))
		}
		var sig, transport, received string
		json.Unmarshal(rec["signal"], &sig)
		json.Unmarshal(rec["transport"], &transport)
		json.Unmarshal(rec["received"], &received)
		if sig != snd.signal || transport != snd.transport {
			t.Errorf("line %d: signal %q transport %q, want %q %q", i+1, sig, transport, snd.signal, snd.transport)
		}
		if _, err := time.Parse(time.RFC3339Nano, received); err != nil {
			t.Errorf("line %d: received %q: %v", i+1, received, err)
		}
		if !bytes.HasPrefix(rec["data"], []byte(`{"resource`)) {
			t.Errorf("line %d: data is not OTLP/JSON: %.80s", i+1, rec["data"])
		}
	}

	traces, metrics, logs, err := sink.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 2 || len(metrics) != 1 || len(logs) != 1 {
		t.Fatalf("ReadFile: %d traces, %d metrics, %d logs; want 2, 1, 1", len(traces), len(metrics), len(logs))
	}
	for i, td := range s.Traces() {
		if got, want := encode(t, "json", traces[i]), encode(t, "json", td); !bytes.Equal(got, want) {
			t.Errorf("traces %d read back as\n%s\nwant\n%s", i, got, want)
		}
	}
	if got, want := encode(t, "json", metrics[0]), encode(t, "json", s.Metrics()[0]); !bytes.Equal(got, want) {
		t.Errorf("metrics read back as\n%s\nwant\n%s", got, want)
	}
	if got, want := encode(t, "json", logs[0]), encode(t, "json", s.Logs()[0]); !bytes.Equal(got, want) {
		t.Errorf("logs read back as\n%s\nwant\n%s", got, want)
	}

	// A second sink appends to the same file.
	s.Close()
	s2 := startSink(t, sink.Config{Out: out})
	post(t, s2, "/v1/traces", "application/x-protobuf", "", encode(t, "protobuf", newTraces("svc", "d")))
	if traces, _, _, err = sink.ReadFile(out); err != nil || len(traces) != 3 {
		t.Errorf("after a second sink: %d traces, %v; want 3", len(traces), err)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := `{"signal":"logs","transport":"http","received":"2025-01-02T03:04:05.123456789Z","data":{"resourceLogs":[]}}`
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"not JSON", good + "\n\nnot json\n", "line 3: not a sink record"},
		{"unknown signal", strings.Replace(good, `"logs"`, `"profiles"`, 1), `line 1: unknown signal "profiles"`},
		{"bad data", strings.Replace(good, `{"resourceLogs":[]}`, `{"resourceLogs":7}`, 1), "line 1: decode logs data"},
		{"no data", `{"signal":"logs","transport":"http","received":"2025-01-02T03:04:05Z"}`, `line 1: no "data"`},
		{"bad time", strings.Replace(good, "2025-01-02T03", "yesterday", 1), `line 1: bad "received" time "yesterday`},
		{"cut-off last line", good + "\n" + good[:40], "line 2: not a sink record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := sink.ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), path+" "+tt.want) {
				t.Errorf("ReadFile = %v, want an error with %q", err, path+" "+tt.want)
			}
		})
	}

	missing := filepath.Join(dir, "missing.jsonl")
	if _, _, _, err := sink.ReadFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadFile of a missing file = %v, want an error naming it", err)
	}

	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if tr, m, l, err := sink.ReadFile(empty); err != nil || len(tr)+len(m)+len(l) != 0 {
		t.Errorf("ReadFile of an empty file = %d, %d, %d, %v", len(tr), len(m), len(l), err)
	}
}

// ok returns an error unless resp has status 200.
func ok(resp *http.Response, body []byte) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %q", resp.StatusCode, body)
	}
	return nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline: %q", path, b)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
