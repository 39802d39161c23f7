// Package telemetryapi subscribes an extension to the Lambda Telemetry API
// (2022-07-01) and receives its deliveries: platform events (initStart,
// start, runtimeDone, report, ...), function log lines and extension log
// lines.
package telemetryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Schema versions.
const (
	Schema20221213 = "2022-12-13"
	// Schema20250129 is required on Lambda Managed Instances.
	Schema20250129 = "2025-01-29"
)

// Event is one Telemetry API event.
type Event struct {
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// RequestID returns the requestId of a platform event's record, if any.
func (e *Event) RequestID() string {
	var r struct {
		RequestID string `json:"requestId"`
	}
	if len(e.Record) > 0 && e.Record[0] == '{' {
		_ = json.Unmarshal(e.Record, &r)
	}
	return r.RequestID
}

// Listener is the HTTP endpoint Lambda delivers events to.
type Listener struct {
	ln     net.Listener
	srv    *http.Server
	host   string // host name given to Lambda in the destination
	handle func([]Event)
	logger *slog.Logger
}

// maxDeliveryBytes bounds one delivery: Lambda sends at most about twice
// the subscription's maxBytes.
const maxDeliveryBytes = 8 << 20

// Listen starts the endpoint on sandbox.localdomain (the execution
// environment's own address in Lambda) when that name resolves, and on
// 127.0.0.1 otherwise. handle is called with every delivery, in order.
func Listen(handle func([]Event), logger *slog.Logger) (*Listener, error) {
	host := "sandbox.localdomain"
	addr := "127.0.0.1"
	if ips, err := net.LookupIP(host); err == nil && len(ips) > 0 {
		addr = ips[0].String()
	} else {
		host = addr
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return nil, fmt.Errorf("telemetry API listener on %s: %w", addr, err)
	}
	l := &Listener{ln: ln, host: host, handle: handle, logger: logger}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	go l.srv.Serve(ln)
	return l, nil
}

func (l *Listener) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDeliveryBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var events []Event
	if err := json.Unmarshal(body, &events); err != nil {
		l.logger.Warn("telemetry API delivery is not a JSON array of events", "error", err, "bytes", len(body))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.handle(events)
}

// URI is the destination to give Lambda.
func (l *Listener) URI() string {
	return "http://" + net.JoinHostPort(l.host, strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port))
}

// Close stops the endpoint.
func (l *Listener) Close() error { return l.srv.Close() }

// ErrUnavailable means the Telemetry API cannot be used here (some local
// emulators answer subscriptions with an error).
var ErrUnavailable = errors.New("telemetry API unavailable")

// Subscribe subscribes the extension with the given identifier to the
// event types (platform, function, extension), delivered to l with the
// smallest buffering timeout so that runtimeDone arrives quickly.
// client sends the request (the extension's Extensions API client, whose
// connection is already open).
func (l *Listener) Subscribe(ctx context.Context, client *http.Client, runtimeAPI, extensionID, schema string, types []string) error {
	body, _ := json.Marshal(map[string]any{
		"schemaVersion": schema,
		"types":         types,
		"buffering":     map[string]int{"maxItems": 1000, "maxBytes": 256 * 1024, "timeoutMs": 25},
		"destination":   map[string]string{"protocol": "HTTP", "URI": l.URI()},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+runtimeAPI+"/2022-07-01/telemetry", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Extension-Identifier", extensionID)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: subscribe: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	// Lambda answers 200; an emulator without the API answers 202 or an error.
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: subscribe: %s: %s", ErrUnavailable, resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}
