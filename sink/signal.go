package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// Names of the signals and transports, as in Request and the output file.
const (
	signalTraces  = "traces"
	signalMetrics = "metrics"
	signalLogs    = "logs"

	transportGRPC = "grpc"
	transportHTTP = "http"

	encodingProto = "protobuf"
	encodingJSON  = "json"
)

// payload is the data of one request: exactly one field is set, the one
// named by signal.
type payload struct {
	signal  string
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs
}

func (p payload) items() int {
	switch p.signal {
	case signalTraces:
		return p.traces.SpanCount()
	case signalMetrics:
		return p.metrics.DataPointCount()
	default:
		return p.logs.LogRecordCount()
	}
}

func (p payload) markReadOnly() {
	switch p.signal {
	case signalTraces:
		p.traces.MarkReadOnly()
	case signalMetrics:
		p.metrics.MarkReadOnly()
	default:
		p.logs.MarkReadOnly()
	}
}

// marshalJSON returns p in OTLP/JSON.
func (p payload) marshalJSON() ([]byte, error) {
	switch p.signal {
	case signalTraces:
		return (&ptrace.JSONMarshaler{}).MarshalTraces(p.traces)
	case signalMetrics:
		return (&pmetric.JSONMarshaler{}).MarshalMetrics(p.metrics)
	default:
		return (&plog.JSONMarshaler{}).MarshalLogs(p.logs)
	}
}

// decodePayload decodes the body of an OTLP/HTTP request for signal in
// encoding (encodingProto or encodingJSON). Values nested deeper than
// otlpreceiver.MaxValueDepth are refused before decoding (an error wrapping
// otlpreceiver.ErrTooDeep): decoders recurse once per level.
func decodePayload(signal, encoding string, body []byte) (payload, error) {
	p := payload{signal: signal}
	if _, err := otlpreceiver.Inspect(pipeline.Signal(signal), body, encoding == encodingJSON); errors.Is(err, otlpreceiver.ErrTooDeep) {
		return p, err
	}
	var err error
	switch {
	case signal == signalTraces && encoding == encodingProto:
		p.traces, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
	case signal == signalTraces:
		p.traces, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	case signal == signalMetrics && encoding == encodingProto:
		p.metrics, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(body)
	case signal == signalMetrics:
		p.metrics, err = (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(body)
	case encoding == encodingProto:
		p.logs, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(body)
	default:
		p.logs, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(body)
	}
	return p, err
}

// encodeResponse returns the empty (fully successful) Export*ServiceResponse
// for signal in encoding.
func encodeResponse(signal, encoding string) ([]byte, error) {
	type response interface {
		MarshalProto() ([]byte, error)
		MarshalJSON() ([]byte, error)
	}
	var r response
	switch signal {
	case signalTraces:
		r = ptraceotlp.NewExportResponse()
	case signalMetrics:
		r = pmetricotlp.NewExportResponse()
	default:
		r = plogotlp.NewExportResponse()
	}
	if encoding == encodingProto {
		return r.MarshalProto()
	}
	return r.MarshalJSON()
}

// record is one line of an output file.
type record struct {
	Signal    string          `json:"signal"`
	Transport string          `json:"transport"`
	Received  string          `json:"received"`
	Data      json.RawMessage `json:"data"`
}

// encodeRecord returns the output file line for req and p, with its newline.
func encodeRecord(req Request, p payload) ([]byte, error) {
	data, err := p.marshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sink: encode %s request as OTLP/JSON: %w", req.Signal, err)
	}
	line, err := json.Marshal(record{
		Signal:    req.Signal,
		Transport: req.Transport,
		Received:  req.Received.UTC().Format(time.RFC3339Nano),
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("sink: encode %s request as a JSON line: %w", req.Signal, err)
	}
	return append(line, '\n'), nil
}
