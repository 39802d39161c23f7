package sandbox

import (
	"encoding/base64"
	"errors"
	"net/http"
)

// InvokePath is the path of the invoke endpoint that AWS's emulator serves.
const InvokePath = "/2015-03-31/functions/function/invocations"

// InvokeHandler serves POST /2015-03-31/functions/function/invocations the
// way AWS's runtime interface emulator does: the request body is the event,
// X-Amzn-Trace-Id the trace header, X-Amz-Client-Context the base64 client
// context; the response body is the function's response. A failed
// invocation answers 200 with the error document and the header
// X-Amz-Function-Error: Unhandled, as the Lambda Invoke API does.
// Concurrent requests run up to Config.MaxConcurrency at a time; the others
// wait their turn.
func (e *Env) InvokeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+InvokePath, func(w http.ResponseWriter, r *http.Request) {
		body, size, err := readLimited(r.Body, MaxPayloadBytes)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "reading the request body: %v", err)
			return
		}
		if body == nil {
			writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
				"Request must be smaller than %d bytes for the InvokeFunction operation (got %d)", MaxPayloadBytes, size)
			return
		}
		req := Request{Payload: body, TraceHeader: r.Header.Get("X-Amzn-Trace-Id"), CognitoIdentity: r.Header.Get("X-Amz-Cognito-Identity")}
		if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
			dec, err := base64.StdEncoding.DecodeString(cc)
			if err != nil {
				writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "X-Amz-Client-Context is not base64: %v", err)
				return
			}
			req.ClientContext = string(dec)
		}
		res, err := e.Invoke(r.Context(), req)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrClosed) {
				status = http.StatusServiceUnavailable
			}
			writeError(w, status, "ServiceException", "%v", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-RequestId", res.RequestID)
		w.Header().Set("X-Amz-Executed-Version", e.cfg.FunctionVersion)
		if res.Error != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = w.Write(res.Payload)
	})
	return mux
}
