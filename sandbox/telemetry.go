package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Telemetry API schema versions the sandbox accepts in a subscription.
const (
	SchemaV20220701 = "2022-07-01"
	SchemaV20221213 = "2022-12-13"
	SchemaV20250129 = "2025-01-29"
)

// Buffering bounds of a Telemetry API subscription, as documented by AWS.
const (
	minMaxItems, maxMaxItems, defaultMaxItems    = 1000, 10000, 10000
	minMaxBytes, maxMaxBytes, defaultMaxBytes    = 262144, 1048576, 262144
	minTimeoutMs, maxTimeoutMs, defaultTimeoutMs = 25, 30000, 1000
)

// logsDroppedReason is the reason given in platform.logsDropped.
const logsDroppedReason = "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."

// Event is one Telemetry API event: what a subscriber receives, and what
// Env.Events returns.
type Event struct {
	Time   time.Time       `json:"-"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// MarshalJSON writes the event as Lambda does, with the time in UTC and
// millisecond precision.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		Time string `json:"time"`
		plain
	}{e.Time.UTC().Format(timeLayout), plain(e)})
}

// timeLayout is the form of times in Telemetry API events.
const timeLayout = "2006-01-02T15:04:05.000Z"

// category is the subscription type that carries the event.
func (e Event) category() string {
	if strings.HasPrefix(e.Type, "platform.") {
		return "platform"
	}
	return e.Type
}

// subscription is one extension's Telemetry API subscription and the
// events waiting for delivery to it.
type subscription struct {
	extension string
	schema    string
	types     map[string]bool
	maxItems  int
	maxBytes  int
	timeout   time.Duration
	url       string

	deliverMu sync.Mutex // held while a batch is being delivered
	warned    bool       // a failed delivery has been logged (guarded by deliverMu)
	// Guarded by telemetry.mu:
	queue          []queuedEvent
	queuedBytes    int
	droppedRecords int
	droppedBytes   int
	closed         bool
	wake           chan struct{}
}

type queuedEvent struct {
	at   time.Time
	data []byte
	// delivered, if set, is called when the event reached the subscriber.
	delivered func(time.Time)
}

// Delivery attempts of one batch to a subscriber that cannot be reached,
// and the waits between them.
var deliveryRetries = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond}

// telemetry emits events and delivers them to the subscriptions.
type telemetry struct {
	client     *http.Client
	queueLimit int
	logf       func(format string, args ...any)
	// failures counts the batches no attempt delivered, since the last
	// takeFailures.
	failures atomic.Int64

	mu      sync.Mutex
	subs    []*subscription
	history []Event // events since the current init began, for late subscribers
	all     []Event // every event of the environment, for Env.Events
	paused  bool    // the environment is frozen
}

// newTelemetry makes the Telemetry API of an environment whose
// subscribers are reached with dial (nil: the host's network); logf
// writes to the environment's logs.
func newTelemetry(queueLimit int, dial func(ctx context.Context, network, addr string) (net.Conn, error), logf func(string, ...any)) *telemetry {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	if dial != nil {
		tr.DialContext = dial
	}
	return &telemetry{
		client:     &http.Client{Timeout: 2 * time.Second, Transport: tr},
		queueLimit: queueLimit,
		logf:       logf,
	}
}

// takeFailures returns the number of batches that could not be delivered
// since the last call.
func (t *telemetry) takeFailures() int { return int(t.failures.Swap(0)) }

// emit records an event and queues it for every subscription whose types
// include it.
func (t *telemetry) emit(typ string, record any) {
	t.emitTracked(typ, record, nil)
}

// emitTracked is emit, calling delivered each time the event reaches a
// subscriber.
func (t *telemetry) emitTracked(typ string, record any, delivered func(time.Time)) {
	raw, err := json.Marshal(record)
	if err != nil {
		panic(fmt.Sprintf("sandbox: telemetry record of %s: %v", typ, err))
	}
	ev := Event{Time: time.Now(), Type: typ, Record: raw}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.history = append(t.history, ev)
	t.all = append(t.all, ev)
	for _, s := range t.subs {
		t.enqueueLocked(s, ev, delivered)
	}
}

// enqueueLocked adds ev to s's queue. Log lines that do not fit are dropped
// and counted, as Lambda does for a subscriber that falls behind.
func (t *telemetry) enqueueLocked(s *subscription, ev Event, delivered func(time.Time)) {
	if s.closed || !s.types[ev.category()] {
		return
	}
	data, _ := json.Marshal(ev)
	if ev.category() != "platform" && s.queuedBytes+len(data) > t.queueLimit {
		s.droppedRecords++
		s.droppedBytes += len(ev.Record)
		return
	}
	s.queue = append(s.queue, queuedEvent{at: ev.Time, data: data, delivered: delivered})
	s.queuedBytes += len(data)
	if len(s.queue) == 1 || len(s.queue) >= s.maxItems || s.queuedBytes >= s.maxBytes {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// subscribe adds a subscription and queues the events of the current init
// for it, so that a subscriber sees the init it took part in. As in
// Lambda, every subscription of an extension stands: one to a destination
// the extension already subscribed changes that subscription's types and
// buffering, one to a new destination is delivered to as well.
func (t *telemetry) subscribe(s *subscription) {
	s.wake = make(chan struct{}, 1)
	t.mu.Lock()
	for _, old := range t.subs {
		if old.extension == s.extension && old.url == s.url && !old.closed {
			old.schema, old.types = s.schema, s.types
			old.maxItems, old.maxBytes, old.timeout = s.maxItems, s.maxBytes, s.timeout
			t.mu.Unlock()
			return
		}
	}
	t.subs = append(t.subs, s)
	for _, ev := range t.history {
		t.enqueueLocked(s, ev, nil)
	}
	t.mu.Unlock()
	go t.deliverLoop(s)
}

// newGeneration starts the history that late subscribers receive anew:
// an init is beginning.
func (t *telemetry) newGeneration() {
	t.mu.Lock()
	t.history = nil
	t.mu.Unlock()
}

// unsubscribeAll ends every subscription (their extensions are gone) and
// drops what was still queued for them.
func (t *telemetry) unsubscribeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.subs {
		s.closed = true
		s.queue = nil
		close(s.wake)
	}
	t.subs = nil
}

// deliverLoop delivers s's queue in batches once maxItems or maxBytes is
// reached or the oldest event has waited timeoutMs.
func (t *telemetry) deliverLoop(s *subscription) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t.mu.Lock()
		if s.closed {
			t.mu.Unlock()
			return
		}
		wait := time.Hour
		if !t.paused && len(s.queue) > 0 {
			if len(s.queue) >= s.maxItems || s.queuedBytes >= s.maxBytes {
				wait = 0
			} else {
				wait = time.Until(s.queue[0].at.Add(s.timeout))
			}
		}
		t.mu.Unlock()
		if wait <= 0 {
			t.deliverBatches(s, false)
			continue
		}
		timer.Reset(wait)
		select {
		case _, ok := <-s.wake:
			if !ok {
				return
			}
		case <-timer.C:
		}
	}
}

// flush delivers everything queued for every subscription now.
func (t *telemetry) flush() {
	t.mu.Lock()
	subs := append([]*subscription(nil), t.subs...)
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.deliverBatches(s, true)
		}()
	}
	wg.Wait()
}

// deliverBatches sends one batch (all of the queue if all is set) to s.
func (t *telemetry) deliverBatches(s *subscription, all bool) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	for {
		t.mu.Lock()
		if t.paused || s.closed || len(s.queue) == 0 {
			t.mu.Unlock()
			return
		}
		n, size := 0, 0
		for n < len(s.queue) && n < s.maxItems && (n == 0 || size+len(s.queue[n].data) <= s.maxBytes) {
			size += len(s.queue[n].data)
			n++
		}
		batch := s.queue[:n]
		s.queue = s.queue[n:]
		s.queuedBytes -= size
		t.mu.Unlock()

		t.post(s, batch)

		t.mu.Lock()
		if s.droppedRecords > 0 && !s.closed {
			rec := map[string]any{"reason": logsDroppedReason, "droppedRecords": s.droppedRecords, "droppedBytes": s.droppedBytes}
			s.droppedRecords, s.droppedBytes = 0, 0
			raw, _ := json.Marshal(rec)
			ev := Event{Time: time.Now(), Type: "platform.logsDropped", Record: raw}
			t.all = append(t.all, ev)
			t.enqueueLocked(s, ev, nil)
		}
		t.mu.Unlock()
		if !all {
			return
		}
	}
}

// post sends one batch as a JSON array. A subscriber that cannot be
// reached, or that answers with an error, gets the batch again after
// each of deliveryRetries; then the batch is lost, as in Lambda. The
// first loss is logged with one WARN line per subscriber, and every loss
// is counted for the reports.
func (t *telemetry) post(s *subscription, batch []queuedEvent) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, q := range batch {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(q.data)
	}
	body.WriteByte(']')
	// The subscriber may act on the events before its answer is back (and
	// the invocation may end meanwhile): they count as delivered when the
	// request goes out.
	sent := time.Now()
	for _, q := range batch {
		if q.delivered != nil {
			q.delivered(sent)
		}
	}
	data := body.Bytes()
	var err error
	for attempt := 0; ; attempt++ {
		err = t.postOnce(s.url, data)
		if err == nil {
			return
		}
		t.mu.Lock()
		closed := s.closed
		t.mu.Unlock()
		if closed || attempt == len(deliveryRetries) {
			break
		}
		time.Sleep(deliveryRetries[attempt])
	}
	t.mu.Lock()
	closed := s.closed
	t.mu.Unlock()
	if closed {
		return // the extension is gone: nobody is missing the batch
	}
	t.failures.Add(1)
	if !s.warned {
		s.warned = true
		t.logf("sandbox: WARN Telemetry API subscriber %s of extension %s: %d events lost after %d attempts: %v (later losses are counted as subscriberErrors in the report)",
			s.url, s.extension, len(batch), len(deliveryRetries)+1, err)
	}
}

// postOnce makes one delivery attempt.
func (t *telemetry) postOnce(url string, body []byte) error {
	resp, err := t.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// pause stops deliveries (the environment is about to freeze) and waits
// for the ones in progress.
func (t *telemetry) pause() {
	t.mu.Lock()
	t.paused = true
	subs := append([]*subscription(nil), t.subs...)
	t.mu.Unlock()
	for _, s := range subs {
		//lint:ignore SA2001 locking and unlocking waits for a delivery in progress
		s.deliverMu.Lock()
		s.deliverMu.Unlock()
	}
}

// resume restarts deliveries after a thaw.
func (t *telemetry) resume() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused = false
	for _, s := range t.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// events returns every event emitted so far.
func (t *telemetry) events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.all...)
}

// subscriptionRequest is the body of PUT /2022-07-01/telemetry.
type subscriptionRequest struct {
	SchemaVersion string   `json:"schemaVersion"`
	Types         []string `json:"types"`
	Buffering     *struct {
		MaxItems  *int `json:"maxItems"`
		MaxBytes  *int `json:"maxBytes"`
		TimeoutMs *int `json:"timeoutMs"`
	} `json:"buffering"`
	Destination struct {
		Protocol string `json:"protocol"`
		URI      string `json:"URI"`
	} `json:"destination"`
}

// parseSubscription validates a subscription request and turns it into a
// subscription for the named extension.
func parseSubscription(body []byte, extension string) (*subscription, error) {
	var req subscriptionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	s := &subscription{extension: extension, schema: req.SchemaVersion, types: map[string]bool{},
		maxItems: defaultMaxItems, maxBytes: defaultMaxBytes, timeout: defaultTimeoutMs * time.Millisecond}
	switch req.SchemaVersion {
	case SchemaV20220701, SchemaV20221213, SchemaV20250129:
	default:
		return nil, fmt.Errorf("schemaVersion %q is not supported: use %s or %s", req.SchemaVersion, SchemaV20221213, SchemaV20250129)
	}
	if len(req.Types) == 0 {
		return nil, fmt.Errorf("types must list at least one of platform, function, extension")
	}
	for _, typ := range req.Types {
		if typ != "platform" && typ != "function" && typ != "extension" {
			return nil, fmt.Errorf("type %q is not one of platform, function, extension", typ)
		}
		s.types[typ] = true
	}
	if b := req.Buffering; b != nil {
		if err := bounded("buffering.maxItems", b.MaxItems, minMaxItems, maxMaxItems, &s.maxItems); err != nil {
			return nil, err
		}
		if err := bounded("buffering.maxBytes", b.MaxBytes, minMaxBytes, maxMaxBytes, &s.maxBytes); err != nil {
			return nil, err
		}
		ms := defaultTimeoutMs
		if err := bounded("buffering.timeoutMs", b.TimeoutMs, minTimeoutMs, maxTimeoutMs, &ms); err != nil {
			return nil, err
		}
		s.timeout = time.Duration(ms) * time.Millisecond
	}
	if req.Destination.Protocol != "HTTP" {
		return nil, fmt.Errorf("destination.protocol %q is not supported: use HTTP", req.Destination.Protocol)
	}
	u, err := url.Parse(req.Destination.URI)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("destination.URI %q is not an http:// URL", req.Destination.URI)
	}
	// In Lambda, sandbox.localdomain is the execution environment itself.
	switch h := u.Hostname(); h {
	case "sandbox", "sandbox.localdomain", "localhost":
		u.Host = "127.0.0.1:" + u.Port()
	}
	s.url = u.String()
	return s, nil
}

func bounded(name string, v *int, lo, hi int, dst *int) error {
	if v == nil {
		return nil
	}
	if *v < lo || *v > hi {
		return fmt.Errorf("%s %d is out of range: %d to %d", name, *v, lo, hi)
	}
	*dst = *v
	return nil
}
