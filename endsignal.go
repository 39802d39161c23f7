package lambdaotel

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// invocationEndPath prefixes the path of the end-of-invocation signal the
// lambdaotel extension answers on its OTLP/HTTP endpoint:
// POST /lambdaotel/v1/invocations/{requestId}/end.
const invocationEndPath = "/lambdaotel/v1/invocations/"

// endSignalTimeout bounds the signal's round trip to the extension on
// loopback, which takes well under a millisecond.
const endSignalTimeout = 100 * time.Millisecond

// endSignal tells the lambdaotel extension, after the flush that ends an
// invocation, that the function will send nothing more for it. The
// extension then exports and lets Lambda freeze the environment without
// waiting for the Telemetry API's platform.runtimeDone, which arrives 25 ms
// or more after the response. It goes to the origin of the OTLP/HTTP
// endpoint when that is on loopback (the extension), else nowhere; where
// something else answers (a collector layer says 404) or nothing listens,
// it is not sent again in the environment. It is not sent on Lambda
// Managed Instances, where the extension follows no single invocation, nor
// with LAMBDAOTEL_INVOCATION_END=false.
type endSignal struct {
	base   string // scheme://host:port of the extension, "" if none
	client *http.Client
	off    atomic.Bool
}

// newEndSignal returns the signal for the endpoint the environment
// variables name.
func newEndSignal(getenv func(string) string) *endSignal {
	e := &endSignal{base: endSignalBase(getenv)}
	if e.base != "" {
		e.client = &http.Client{Transport: &http.Transport{MaxIdleConns: 1, IdleConnTimeout: time.Minute}, Timeout: endSignalTimeout}
	}
	return e
}

// endSignalBase is the origin of the extension's OTLP/HTTP endpoint: that of
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT, else
// the default http://localhost:4318 (also where traces go over gRPC), if it
// is plain HTTP on loopback; "" otherwise.
func endSignalBase(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv("LAMBDAOTEL_INVOCATION_END")); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			logf("LAMBDAOTEL_INVOCATION_END=%q: not true or false; the end-of-invocation signal stays on", v)
		} else if !on {
			return ""
		}
	}
	if getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances" {
		return ""
	}
	endpoint := "http://localhost:4318"
	protocol := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if protocol == "" {
		protocol = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	if protocol != "grpc" {
		for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				endpoint = v
				break
			}
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return ""
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return ""
		}
	}
	return "http://" + u.Host
}

// send signals the end of invocation requestID, within endSignalTimeout
// and before deadline (if any). An answer other than 204 No Content, or a
// refused connection, turns the signal off.
func (e *endSignal) send(requestID string, deadline time.Time) {
	if e == nil || e.base == "" || requestID == "" || e.off.Load() {
		return
	}
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+invocationEndPath+url.PathEscape(requestID)+"/end", nil)
	if err != nil {
		e.off.Store(true)
		return
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			e.off.Store(true)
		}
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		e.off.Store(true)
	}
}

// processEndSignal is the signal of the process's environment, made at
// first use.
var processEndSignal = sync.OnceValue(func() *endSignal { return newEndSignal(os.Getenv) })

// InvocationFlushed tells the lambdaotel extension that the function has
// flushed the telemetry of the invocation in ctx (its request id comes from
// lambdacontext) and sends nothing more for it, so that the extension can
// export and let Lambda freeze the environment without waiting for the
// Telemetry API to report the invocation's end (25 ms or more after the
// response). Start and Wrap do this after each invocation's flush; a
// function that sets up the OpenTelemetry SDK itself calls it after its
// ForceFlush calls return, before the handler returns. It costs one
// round trip on loopback, and nothing where the OTLP endpoint is not on
// loopback, no lambdaotel extension answers (it is then not sent again),
// on Lambda Managed Instances, or with LAMBDAOTEL_INVOCATION_END=false.
func InvocationFlushed(ctx context.Context) {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return
	}
	deadline, _ := ctx.Deadline()
	processEndSignal().send(lc.AwsRequestID, deadline)
}
