package sink

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A Fault tells the sink how to answer one request instead of accepting it
// at once; Config.Respond returns one per request. The zero Fault accepts the
// request.
//
// A Fault with an HTTPStatus or a GRPCCode fails the request on both
// transports: the one not given is derived from the other, as gRPC and
// OTLP/HTTP map them (503 and UNAVAILABLE, 429 and RESOURCE_EXHAUSTED, 400
// and INVALID_ARGUMENT, and so on). A failed request is not stored.
//
// For example, to throttle the first two trace requests:
//
//	var n atomic.Int32
//	cfg.Respond = func(r sink.Request) sink.Fault {
//		if r.Signal == "traces" && n.Add(1) <= 2 {
//			return sink.Fault{HTTPStatus: 429, RetryAfter: time.Second}
//		}
//		return sink.Fault{}
//	}
type Fault struct {
	// Delay holds the answer back, whether the request then fails or is
	// accepted. The wait ends early if the client gives up (the request is
	// then neither answered nor stored) or the sink is closed.
	Delay time.Duration

	// HTTPStatus, if not zero, is the 4xx or 5xx status to fail the request
	// with on OTLP/HTTP.
	HTTPStatus int

	// GRPCCode, if not zero (OK), is the code to fail the request with on
	// OTLP/gRPC.
	GRPCCode codes.Code

	// RetryAfter, if positive, is sent with a failure: as the Retry-After
	// header on HTTP (in whole seconds, rounded up), and as a
	// google.rpc.RetryInfo detail on gRPC, which is where OTLP exporters look
	// for it.
	RetryAfter time.Duration

	// Message is the error message sent with a failure. Empty means one that
	// says the failure was injected.
	Message string
}

// fails reports whether f fails the request.
func (f Fault) fails() bool { return f.HTTPStatus != 0 || f.GRPCCode != codes.OK }

// httpStatus returns the HTTP status f fails a request with.
func (f Fault) httpStatus() int {
	if f.HTTPStatus != 0 {
		return f.HTTPStatus
	}
	return httpStatusFromCode(f.GRPCCode)
}

// grpcCode returns the gRPC code f fails a request with.
func (f Fault) grpcCode() codes.Code {
	if f.GRPCCode != codes.OK {
		return f.GRPCCode
	}
	return codeFromHTTPStatus(f.HTTPStatus)
}

func (f Fault) message(transport string) string {
	if f.Message != "" {
		return f.Message
	}
	if transport == transportGRPC {
		return fmt.Sprintf("sink: injected fault: %v", f.grpcCode())
	}
	s := f.httpStatus()
	return fmt.Sprintf("sink: injected fault: %d %s", s, http.StatusText(s))
}

// retryAfterHeader returns the Retry-After header value for f, or "".
func (f Fault) retryAfterHeader() string {
	if f.RetryAfter <= 0 {
		return ""
	}
	return strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds())))
}

// status returns the status f fails a request on transport with: on gRPC
// the answer itself, on HTTP the body of the answer.
func (f Fault) status(transport string) *status.Status {
	st := status.New(f.grpcCode(), f.message(transport))
	if f.RetryAfter > 0 {
		if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(f.RetryAfter)}); err == nil {
			st = d
		}
	}
	return st
}

// httpStatusFromCode maps a gRPC code to an HTTP status as grpc-gateway and
// the OpenTelemetry Collector do.
func httpStatusFromCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	default: // Unknown, Internal, DataLoss
		return http.StatusInternalServerError
	}
}

// codeFromHTTPStatus maps an HTTP status to a gRPC code as the OpenTelemetry
// Collector does.
func codeFromHTTPStatus(s int) codes.Code {
	switch s {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case 499:
		return codes.Canceled
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	if s >= 400 && s < 500 {
		return codes.FailedPrecondition
	}
	return codes.Unknown
}
