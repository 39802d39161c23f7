package otlpreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lambdaotel/lambdaotel/pipeline"
)

// newGRPCServer returns a gRPC server with the OTLP trace, metrics and logs
// services registered.
func (r *Receiver) newGRPCServer() *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(r.cfg.MaxRecvMsgSizeMiB<<20),
		grpc.StatsHandler(rpcTracker{&r.inflight}),
	)
	ptraceotlp.RegisterGRPCServer(srv, &tracesService{r: r})
	pmetricotlp.RegisterGRPCServer(srv, &metricsService{r: r})
	plogotlp.RegisterGRPCServer(srv, &logsService{r: r})
	return srv
}

// rpcTracker counts an RPC as in flight from the moment its headers have
// arrived, before its message is read and decoded, until it is answered.
type rpcTracker struct{ t *tracker }

func (h rpcTracker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (h rpcTracker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (h rpcTracker) HandleConn(context.Context, stats.ConnStats) {}

func (h rpcTracker) HandleRPC(_ context.Context, s stats.RPCStats) {
	switch s.(type) {
	case *stats.Begin:
		h.t.begin()
	case *stats.End:
		h.t.end()
	}
}

// grpcError returns the gRPC status error for an error of consume.
func grpcError(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrFull):
		return resourceExhausted(err.Error()).Err()
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	default:
		return status.Error(codes.Internal, err.Error())
	}
}

// resourceExhausted returns a RESOURCE_EXHAUSTED status with a
// google.rpc.RetryInfo detail asking to retry after one second, which is
// where OTLP exporters look for the delay. The detail is encoded by hand so
// that the binary does not link the whole errdetails package for it.
func resourceExhausted(msg string) *status.Status {
	var delay []byte // google.protobuf.Duration{seconds: 1}
	delay = protowire.AppendTag(delay, 1, protowire.VarintType)
	delay = protowire.AppendVarint(delay, 1)
	var info []byte // google.rpc.RetryInfo{retry_delay: delay}
	info = protowire.AppendTag(info, 1, protowire.BytesType)
	info = protowire.AppendBytes(info, delay)
	return status.FromProto(&spb.Status{
		Code:    int32(codes.ResourceExhausted),
		Message: msg,
		Details: []*anypb.Any{{TypeUrl: "type.googleapis.com/google.rpc.RetryInfo", Value: info}},
	})
}

type tracesService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *tracesService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	err := s.r.consume(ctx, payload{signal: pipeline.Traces, traces: td, items: td.SpanCount()})
	return ptraceotlp.NewExportResponse(), grpcError(ctx, err)
}

type metricsService struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *metricsService) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := req.Metrics()
	err := s.r.consume(ctx, payload{signal: pipeline.Metrics, metrics: md, items: md.DataPointCount()})
	return pmetricotlp.NewExportResponse(), grpcError(ctx, err)
}

type logsService struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *logsService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ld := req.Logs()
	err := s.r.consume(ctx, payload{signal: pipeline.Logs, logs: ld, items: ld.LogRecordCount()})
	return plogotlp.NewExportResponse(), grpcError(ctx, err)
}
