package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes is the largest response body the Runtime API accepts:
// 6 MB plus 100 bytes, as in Lambda.
const maxResponseBytes = MaxPayloadBytes + 100

var (
	uuidPattern           = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	extensionErrorPattern = regexp.MustCompile(`^Extension\.[A-Z][a-zA-Z]+$`)
)

// apiHandler routes the Runtime, Extensions and Telemetry APIs.
func (e *Env) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.runtimeNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.runtimeResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.runtimeError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.runtimeInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", e.extensionRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", e.extensionNext)
	mux.HandleFunc("POST /2020-01-01/extension/init/error", e.extensionError)
	mux.HandleFunc("POST /2020-01-01/extension/exit/error", e.extensionError)
	mux.HandleFunc("PUT /2022-07-01/telemetry", e.telemetrySubscribe)
	return mux
}

// writeError writes Lambda's JSON error document.
func writeError(w http.ResponseWriter, status int, errorType, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{fmt.Sprintf(format, args...), errorType})
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func invalidRuntimeTransition(w http.ResponseWriter, from, to string) {
	writeError(w, http.StatusForbidden, "InvalidStateTransition",
		"State transition from %s to %s failed for runtime. Error: state transition is not allowed", from, to)
}

// runtimeNext hands the runtime its next invocation (long poll), the
// oldest one waiting. The first call ends the runtime's init. On Managed
// Instances the runtime asks from several workers at once.
func (e *Env) runtimeNext(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	gen := e.gen
	if gen == nil || e.runtimeLocked(gen) == nil {
		e.mu.Unlock()
		invalidRuntimeTransition(w, "Started", "Ready")
		return
	}
	gen.runtimeReady = true
	gen.runtimeWaiting++
	e.broadcastLocked()
	defer func() {
		e.mu.Lock()
		gen.runtimeWaiting--
		e.broadcastLocked()
		e.mu.Unlock()
	}()
	for {
		if e.gen != gen {
			e.mu.Unlock()
			writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
			return
		}
		if len(gen.pending) > 0 {
			inv := gen.pending[0]
			gen.pending = gen.pending[1:]
			inv.received = time.Now()
			e.mu.Unlock()
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", e.cfg.functionARN())
			h.Set("Lambda-Runtime-Trace-Id", inv.TraceHeader)
			if inv.ClientContext != "" {
				h.Set("Lambda-Runtime-Client-Context", inv.ClientContext)
			}
			if inv.CognitoIdentity != "" {
				h.Set("Lambda-Runtime-Cognito-Identity", inv.CognitoIdentity)
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(inv.Payload)
			return
		}
		ch := e.changed
		e.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		e.mu.Lock()
	}
}

// currentInvocation returns the invocation with the request id id that
// the runtime is working on, writing the error response otherwise.
func (e *Env) currentInvocation(w http.ResponseWriter, id string) *invocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	var inv *invocation
	if e.gen != nil {
		inv = e.gen.invocations[id]
	}
	if inv == nil || inv.received.IsZero() {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return nil
	}
	if inv.result != nil || inv.timedOut {
		e.refuseLocked(w, inv, "InvocationResponse")
		return nil
	}
	return inv
}

// refuseLocked answers a second answer to inv (403), or an answer after
// inv timed out (410 InvokeTimeout; only Managed Instances let the runtime
// answer that late). It is called with e.mu held.
func (e *Env) refuseLocked(w http.ResponseWriter, inv *invocation, state string) {
	if inv.timedOut {
		delete(e.gen.invocations, inv.id) // answered at last
		writeError(w, http.StatusGone, "InvokeTimeout", "Invoke timeout")
		return
	}
	invalidRuntimeTransition(w, state, state)
}

// finish records the runtime's answer to inv, unless it already answered
// or inv is over; then it writes the refusal.
func (e *Env) finish(w http.ResponseWriter, inv *invocation, res *Result, state string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen == nil || e.gen.invocations[inv.id] != inv {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return false
	}
	if inv.result != nil || inv.timedOut {
		e.refuseLocked(w, inv, state)
		return false
	}
	inv.result, inv.responded = res, time.Now()
	e.broadcastLocked()
	return true
}

// readLimited reads at most limit bytes of r and reports the body's full size.
func readLimited(r io.Reader, limit int) ([]byte, int64, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil || len(body) <= limit {
		return body, int64(len(body)), err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, 1<<30))
	return nil, int64(len(body)) + rest, err
}

func (e *Env) runtimeResponse(w http.ResponseWriter, r *http.Request) {
	inv := e.currentInvocation(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	body, size, err := readLimited(r.Body, maxResponseBytes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestFormat", "reading the response body: %v", err)
		return
	}
	if body == nil && size > maxResponseBytes {
		fe := &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf(
			"Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", size, maxResponseBytes)}
		if e.finish(w, inv, &Result{Error: fe, Payload: errorJSON(fe)}, "InvocationResponse") {
			writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				"Exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)
		}
		return
	}
	if !e.finish(w, inv, &Result{Payload: body}, "InvocationResponse") {
		return
	}
	writeAccepted(w)
}

// parseFunctionError reads the error a runtime posts: the type from the
// Lambda-Runtime-Function-Error-Type header, else from the body.
func parseFunctionError(r *http.Request, headerName, defaultType string) (*FunctionError, []byte, error) {
	body, size, err := readLimited(r.Body, maxResponseBytes)
	if err != nil {
		return nil, nil, err
	}
	if body == nil {
		return nil, nil, fmt.Errorf("error body of %d bytes is over the limit of %d", size, maxResponseBytes)
	}
	fe := &FunctionError{}
	if json.Unmarshal(body, fe) != nil {
		fe.Message = strings.TrimSpace(string(body))
	}
	if t := r.Header.Get(headerName); t != "" {
		fe.Type = t
	}
	if fe.Type == "" {
		fe.Type = defaultType
	}
	if !json.Valid(body) {
		body = errorJSON(fe)
	}
	return fe, body, nil
}

func (e *Env) runtimeError(w http.ResponseWriter, r *http.Request) {
	inv := e.currentInvocation(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	fe, body, err := parseFunctionError(r, "Lambda-Runtime-Function-Error-Type", "Runtime.Unknown")
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "%v", err)
		return
	}
	if !e.finish(w, inv, &Result{Error: fe, Payload: body}, "InvocationErrorResponse") {
		return
	}
	writeAccepted(w)
}

// runtimeInitError records the runtime's report that its init failed.
func (e *Env) runtimeInitError(w http.ResponseWriter, r *http.Request) {
	fe, _, err := parseFunctionError(r, "Lambda-Runtime-Function-Error-Type", "Runtime.Unknown")
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "%v", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gen := e.gen
	if gen == nil || e.runtimeLocked(gen) == nil || gen.runtimeReady || gen.initErr != nil {
		invalidRuntimeTransition(w, "Ready", "InitError")
		return
	}
	gen.initErr = fe
	e.broadcastLocked()
	writeAccepted(w)
}

// extensionRegister registers an external extension (one the sandbox
// started, found by name) or an internal one (any other name, during init).
// On Managed Instances an external extension may register for SHUTDOWN
// only, and an internal one for no event.
func (e *Env) extensionRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get("Lambda-Extension-Name")
	if name == "" {
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionName", "Empty extension name")
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	body, _, err := readLimited(r.Body, 64<<10)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusForbidden, "InvalidRequestFormat", "%v", err)
		return
	}
	events := map[string]bool{}
	for _, ev := range req.Events {
		if ev != "INVOKE" && ev != "SHUTDOWN" {
			writeError(w, http.StatusForbidden, "Extension.InvalidEventType", "%s: ErrorInvalidEventType", ev)
			return
		}
		events[ev] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gen := e.gen
	if gen == nil {
		writeError(w, http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already")
		return
	}
	var x *extension
	for _, c := range gen.extensions {
		if c.name == name {
			x = c
		}
	}
	switch {
	case x != nil && x.registered:
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionState",
			"State transition from Registered to Registered failed for extension %s. Error: state transition is not allowed", name)
		return
	case x != nil && !gen.regOpen, x == nil && (gen.runtimeReady || !gen.initializing):
		writeError(w, http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already")
		return
	case x != nil && e.cfg.managed() && events["INVOKE"]:
		writeError(w, http.StatusForbidden, "Extension.InvalidEventType", "INVOKE: ErrorInvalidEventType")
		return
	case x == nil && e.cfg.managed() && len(events) > 0:
		writeError(w, http.StatusForbidden, "Extension.InvalidEventType", "No events allowed for internal extensions")
		return
	case x == nil && events["SHUTDOWN"]:
		writeError(w, http.StatusForbidden, "Extension.InvalidEventType", "SHUTDOWN: ErrorInvalidEventType")
		return
	case x == nil && len(gen.extensions) >= MaxExtensions:
		writeError(w, http.StatusForbidden, "Extension.TooManyExtensions", "Extension limit (%d) reached", MaxExtensions)
		return
	case x == nil:
		x = &extension{name: name}
		gen.extensions = append(gen.extensions, x)
	}
	x.registered, x.id, x.events = true, newUUID(), events
	x.accountID = strings.Contains(r.Header.Get("Lambda-Extension-Accept-Feature"), "accountId")
	e.broadcastLocked()
	resp := map[string]string{"functionName": e.cfg.FunctionName, "functionVersion": e.cfg.FunctionVersion, "handler": e.cfg.Handler}
	if x.accountID {
		resp["accountId"] = e.cfg.AccountID
	}
	names := make([]string, 0, len(events))
	for ev := range events {
		names = append(names, ev)
	}
	sort.Strings(names)
	e.tel.emit("platform.extension", map[string]any{"name": name, "state": "Ready", "events": names})
	w.Header().Set("Lambda-Extension-Identifier", x.id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// extensionFor returns the registered extension named by the request's
// Lambda-Extension-Identifier, writing the error response otherwise
// (unknownMessage, with {id} replaced, for an unknown one). It is called
// with e.mu held.
func (e *Env) extensionForLocked(w http.ResponseWriter, r *http.Request, unknownMessage string) *extension {
	id := r.Header.Get("Lambda-Extension-Identifier")
	switch {
	case id == "":
		writeError(w, http.StatusForbidden, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
		return nil
	case !uuidPattern.MatchString(id):
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")
		return nil
	}
	if e.gen != nil {
		for _, x := range e.gen.extensions {
			if x.id == id {
				return x
			}
		}
	}
	writeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "%s", strings.ReplaceAll(unknownMessage, "{id}", id))
	return nil
}

// extensionNext hands an extension its next event (long poll). The first
// call ends the extension's init; later ones end its part of an invocation.
func (e *Env) extensionNext(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	x := e.extensionForLocked(w, r, "Unknown extension {id}")
	if x == nil {
		e.mu.Unlock()
		return
	}
	if x.errorType != "" {
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionState",
			"State transition from InitError to Ready failed for extension %s. Error: state transition is not allowed", x.id)
		return
	}
	gen := e.gen
	x.lastNext = time.Now()
	if x.readyAt.IsZero() {
		x.readyAt = x.lastNext
	}
	x.waiting = true
	e.broadcastLocked()
	for {
		if len(x.queue) > 0 {
			ev := x.queue[0]
			x.queue = x.queue[1:]
			x.waiting = false
			e.broadcastLocked()
			e.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Lambda-Extension-Event-Identifier", newUUID())
			_, _ = w.Write(ev)
			return
		}
		ch := e.changed
		e.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			e.mu.Lock()
			x.waiting = false
			e.broadcastLocked()
			e.mu.Unlock()
			return
		}
		e.mu.Lock()
		if e.gen != gen {
			e.mu.Unlock()
			writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
			return
		}
	}
}

// extensionError records an extension's init/error or exit/error.
func (e *Env) extensionError(w http.ResponseWriter, r *http.Request) {
	initError := strings.HasSuffix(r.URL.Path, "/init/error")
	e.mu.Lock()
	x := e.extensionForLocked(w, r, "Unknown Lambda-Extension-Identifier")
	if x == nil {
		e.mu.Unlock()
		return
	}
	gen := e.gen
	e.mu.Unlock()
	typ := r.Header.Get("Lambda-Extension-Function-Error-Type")
	if typ == "" {
		writeError(w, http.StatusForbidden, "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found")
		return
	}
	fe, _, err := parseFunctionError(r, "Lambda-Extension-Function-Error-Type", "")
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "%v", err)
		return
	}
	if !extensionErrorPattern.MatchString(fe.Type) {
		fe.Type = "Extension.ExitError"
		if initError {
			fe.Type = "Extension.InitError"
		}
	}
	if fe.Message == "" {
		fe.Message = "extension " + x.name + " reported " + typ
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if initError && (!x.readyAt.IsZero() || x.errorType != "") {
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionState",
			"State transition from Ready to InitError failed for extension %s. Error: state transition is not allowed", x.id)
		return
	}
	x.errorType = fe.Type
	if initError && gen.initErr == nil && gen.initializing {
		gen.initErr = fe
	}
	e.broadcastLocked()
	writeAccepted(w)
}

// telemetrySubscribe subscribes an extension to the Telemetry API. As in
// Lambda, subscriptions are accepted during init; Managed Instances
// accept schema 2025-01-29 only.
func (e *Env) telemetrySubscribe(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	x := e.extensionForLocked(w, r, "Unknown extension {id}")
	var open bool
	if x != nil {
		open = e.gen.initializing
	}
	e.mu.Unlock()
	if x == nil {
		return
	}
	if !open {
		writeError(w, http.StatusForbidden, "Telemetry.SubscriptionClosed", "Telemetry API subscription is closed")
		return
	}
	if e.cfg.NoTelemetryAPI {
		writeError(w, http.StatusAccepted, "Telemetry.NotSupported", "Telemetry API is not supported")
		return
	}
	body, _, err := readLimited(r.Body, 64<<10)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", "Failed to read request body: %v", err)
		return
	}
	s, err := parseSubscription(body, x.name)
	if err == nil && e.cfg.managed() && s.schema != SchemaV20250129 {
		err = fmt.Errorf("schemaVersion %q is not supported on Lambda Managed Instances: use %s", s.schema, SchemaV20250129)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", "%v", err)
		return
	}
	types := make([]string, 0, len(s.types))
	for t := range s.types {
		types = append(types, t)
	}
	sort.Strings(types)
	e.tel.emit("platform.telemetrySubscription", map[string]any{"name": x.name, "state": "Subscribed", "types": types})
	e.tel.subscribe(s)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `"OK"`)
}
