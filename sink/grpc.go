package sink

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpreceiver"
)

// newGRPCServer returns a gRPC server with the OTLP trace, metrics and logs
// services of s registered.
func newGRPCServer(s *Sink) *grpc.Server {
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(s.cfg.MaxRequestBytes)),
		grpc.ForceServerCodecV2(inspectingCodec{encoding.GetCodecV2("proto")}))
	ptraceotlp.RegisterGRPCServer(srv, &tracesServer{s: s})
	pmetricotlp.RegisterGRPCServer(srv, &metricsServer{s: s})
	plogotlp.RegisterGRPCServer(srv, &logsServer{s: s})
	return srv
}

// admitGRPC is admit for OTLP/gRPC: it returns the gRPC error to answer
// with, or nil.
func (s *Sink) admitGRPC(ctx context.Context, p payload) error {
	f, err := s.admit(ctx, transportGRPC, encodingProto, p)
	switch {
	case err != nil && ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case err != nil:
		return status.Error(codes.Internal, err.Error())
	case f.fails():
		return f.status(transportGRPC).Err()
	}
	return nil
}

// inspectingCodec refuses, before they are decoded, OTLP requests whose
// values nest deeper than otlpreceiver.MaxValueDepth: decoders recurse once
// per level. grpc-go answers its errors with INTERNAL.
type inspectingCodec struct {
	encoding.CodecV2
}

// signals are the signals of the OTLP request messages, by type name.
var signals = map[string]pipeline.Signal{
	"ExportTraceServiceRequest":   pipeline.Traces,
	"ExportMetricsServiceRequest": pipeline.Metrics,
	"ExportLogsServiceRequest":    pipeline.Logs,
}

func (c inspectingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if signal, ok := signals[t.Name()]; ok {
		buf := data.Materialize()
		if _, err := otlpreceiver.Inspect(signal, buf, false); errors.Is(err, otlpreceiver.ErrTooDeep) {
			return fmt.Errorf("sink: %w", err)
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

type tracesServer struct {
	ptraceotlp.UnimplementedGRPCServer
	s *Sink
}

func (t *tracesServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	err := t.s.admitGRPC(ctx, payload{signal: signalTraces, traces: req.Traces()})
	return ptraceotlp.NewExportResponse(), err
}

type metricsServer struct {
	pmetricotlp.UnimplementedGRPCServer
	s *Sink
}

func (m *metricsServer) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	err := m.s.admitGRPC(ctx, payload{signal: signalMetrics, metrics: req.Metrics()})
	return pmetricotlp.NewExportResponse(), err
}

type logsServer struct {
	plogotlp.UnimplementedGRPCServer
	s *Sink
}

func (l *logsServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	err := l.s.admitGRPC(ctx, payload{signal: signalLogs, logs: req.Logs()})
	return plogotlp.NewExportResponse(), err
}
