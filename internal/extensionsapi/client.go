// Package extensionsapi is a client of the Lambda Extensions API
// (2020-01-01): register, event/next, init/error and exit/error.
package extensionsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Event types an extension can register for.
const (
	Invoke   = "INVOKE"
	Shutdown = "SHUTDOWN"
)

// Client talks to the Extensions API at AWS_LAMBDA_RUNTIME_API.
type Client struct {
	base string
	http *http.Client
	id   string
}

// New returns a client for the API at host:port (the value of
// AWS_LAMBDA_RUNTIME_API).
func New(runtimeAPI string) *Client {
	return &Client{
		base: "http://" + runtimeAPI + "/2020-01-01/extension",
		// event/next blocks until the next event: no overall timeout.
		http: &http.Client{Transport: &http.Transport{
			DialContext:       (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			DisableKeepAlives: false,
		}},
	}
}

// Registration is the answer to register.
type Registration struct {
	ID              string `json:"-"`
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId"`
}

// Register registers the extension under name (its executable's file
// name) for the given events, asking for the account id.
func (c *Client) Register(ctx context.Context, name string, events []string) (*Registration, error) {
	body, _ := json.Marshal(map[string][]string{"events": events})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/register", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Lambda-Extension-Name", name)
	req.Header.Set("Lambda-Extension-Accept-Feature", "accountId")
	var reg Registration
	resp, err := c.do(req, &reg)
	if err != nil {
		return nil, fmt.Errorf("register extension %q: %w", name, err)
	}
	reg.ID = resp.Header.Get("Lambda-Extension-Identifier")
	if reg.ID == "" {
		return nil, fmt.Errorf("register extension %q: no Lambda-Extension-Identifier in the answer", name)
	}
	c.id = reg.ID
	return &reg, nil
}

// HTTPClient is the client's HTTP client, for the other Lambda APIs on
// the same host (its connection is kept open).
func (c *Client) HTTPClient() *http.Client { return c.http }

// ID is the identifier the extension got at registration.
func (c *Client) ID() string { return c.id }

// Tracing is the X-Ray context of an invocation.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Event is an INVOKE or SHUTDOWN event.
type Event struct {
	EventType          string  `json:"eventType"`
	DeadlineMs         int64   `json:"deadlineMs"`
	RequestID          string  `json:"requestId"`
	InvokedFunctionARN string  `json:"invokedFunctionArn"`
	Tracing            Tracing `json:"tracing"`
	ShutdownReason     string  `json:"shutdownReason"`
}

// Deadline is the event's deadline as a time.
func (e *Event) Deadline() time.Time { return time.UnixMilli(e.DeadlineMs) }

// Next blocks until the next event. Calling it tells Lambda that the
// extension is done with the previous one.
func (c *Client) Next(ctx context.Context) (*Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/event/next", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Lambda-Extension-Identifier", c.id)
	var ev Event
	if _, err := c.do(req, &ev); err != nil {
		return nil, fmt.Errorf("event/next: %w", err)
	}
	return &ev, nil
}

// InitError reports that the extension failed to initialise; Lambda fails
// the init with errorType and shows message in the function's logs. The
// extension should exit afterwards.
func (c *Client) InitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "/init/error", errorType, message)
}

// ExitError reports an error before the extension exits.
func (c *Client) ExitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "/exit/error", errorType, message)
}

func (c *Client) reportError(ctx context.Context, path, errorType, message string) error {
	body, _ := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": message})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Extension-Identifier", c.id)
	req.Header.Set("Lambda-Extension-Function-Error-Type", errorType)
	if _, err := c.do(req, nil); err != nil {
		return fmt.Errorf("%s: %w", path[1:], err)
	}
	return nil
}

// do sends req and decodes a 2xx answer into out; other answers become
// errors with Lambda's errorType and errorMessage.
func (c *Client) do(req *http.Request, out any) (*http.Response, error) {
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Type    string `json:"errorType"`
			Message string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &e) == nil && e.Type != "" {
			return nil, fmt.Errorf("%s: %s: %s", resp.Status, e.Type, e.Message)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, fmt.Errorf("decode %s: %w", body, err)
		}
	}
	return resp, nil
}
