package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ReadFile reads a file that a sink wrote (see Config.Out) and returns its
// requests, each signal in the order of the file. Blank lines are skipped.
// An error names the file and, for a bad line, its line number; the data of
// the lines before it is returned with it.
func ReadFile(path string) (traces []ptrace.Traces, metrics []pmetric.Metrics, logs []plog.Logs, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sink: %w", err)
	}
	defer f.Close()

	r := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return traces, metrics, logs, fmt.Errorf("sink: read %s line %d: %w", path, lineNo, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			p, derr := decodeRecord(line)
			if derr != nil {
				return traces, metrics, logs, fmt.Errorf("sink: %s line %d: %w", path, lineNo, derr)
			}
			switch p.signal {
			case signalTraces:
				traces = append(traces, p.traces)
			case signalMetrics:
				metrics = append(metrics, p.metrics)
			case signalLogs:
				logs = append(logs, p.logs)
			}
		}
		if err != nil { // io.EOF
			return traces, metrics, logs, nil
		}
	}
}

// decodeRecord decodes one line of an output file.
func decodeRecord(line []byte) (payload, error) {
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		return payload{}, fmt.Errorf("not a sink record: %w", err)
	}
	if _, err := time.Parse(time.RFC3339Nano, rec.Received); err != nil {
		return payload{}, fmt.Errorf("bad \"received\" time %q: %w", rec.Received, err)
	}
	if len(rec.Data) == 0 {
		return payload{}, errors.New(`no "data"`)
	}
	switch rec.Signal {
	case signalTraces, signalMetrics, signalLogs:
	default:
		return payload{}, fmt.Errorf("unknown signal %q; want traces, metrics or logs", rec.Signal)
	}
	p, err := decodePayload(rec.Signal, encodingJSON, rec.Data)
	if err != nil {
		return payload{}, fmt.Errorf("decode %s data: %w", rec.Signal, err)
	}
	return p, nil
}
