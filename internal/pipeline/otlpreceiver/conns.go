package otlpreceiver

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts and limits of the receivers' servers. Lambda gives a process
// 1024 file descriptors; the two receivers keep at most 2*MaxConns of
// them, which leaves the rest to the exporters, the spill queue and the
// Telemetry API.
const (
	// MaxConns is how many connections each receiver keeps open at most.
	MaxConns = 256
	// ReadHeaderTimeout bounds the arrival of a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the arrival of a whole request, body included
	// (per stream, for gRPC).
	ReadTimeout = 30 * time.Second
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request.
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// connLimit is a listener that keeps at most max connections open. When a
// connection arrives at the limit, a connection doing nothing (idle
// between requests, or silent since it was accepted more than a second
// ago) is closed to make room: of those, the one that has served the
// fewest requests, and of these the one that has waited longest. Such a
// connection costs its client no more than a reconnect, and the function's
// own keep-alive connections, which serve a request or more per
// invocation, are the last to go: a client whose pooled connection is
// closed while its process is frozen finds out only when it sends on it
// again, and a POST is not retried. If there is none, the new
// connection waits up to admitWait for one (a burst of connections is
// idle a moment later), then is closed.
type connLimit struct {
	net.Listener
	max    int
	logger *slog.Logger
	next   func(net.Conn, http.ConnState) // the server's other ConnState hook
	done   chan struct{}                  // closed by Close

	mu        sync.Mutex
	conns     map[net.Conn]connInfo
	changed   chan struct{} // closed and replaced when a connection changes state
	refused   int           // connections closed at once since the last log line
	closeOnce sync.Once
}

// admitWait is how long a connection that arrives at the limit may wait
// for a connection to make room; silentAfter is how long an accepted
// connection may send nothing before it counts as idle.
const (
	admitWait   = 2 * time.Second
	silentAfter = time.Second
)

type connInfo struct {
	state  http.ConnState
	since  time.Time
	served int // requests answered on the connection
}

func newConnLimit(ln net.Listener, max int, logger *slog.Logger, next func(net.Conn, http.ConnState)) *connLimit {
	return &connLimit{Listener: ln, max: max, logger: logger, next: next, done: make(chan struct{}),
		conns: make(map[net.Conn]connInfo), changed: make(chan struct{})}
}

// Close closes the listener; an Accept waiting for room returns.
func (l *connLimit) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Accept waits for the next connection that may stay open.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close()
	}
}

// admit makes room for c, waiting up to admitWait, and reports whether c
// may stay open.
func (l *connLimit) admit(c net.Conn) bool {
	deadline := time.Now().Add(admitWait)
	for {
		now := time.Now()
		l.mu.Lock()
		if len(l.conns) >= l.max {
			if victim := l.victimLocked(now); victim != nil {
				delete(l.conns, victim)
				victim.Close()
			}
		}
		if len(l.conns) < l.max {
			l.refused = 0
			l.conns[c] = connInfo{state: http.StateNew, since: now}
			l.mu.Unlock()
			return true
		}
		changed := l.changed
		if !now.Before(deadline) {
			l.refused++
			if l.refused == 1 {
				l.logger.Warn("OTLP receiver: connection limit reached and none idle: closing new connections",
					"address", l.Addr().String(), "limit", l.max)
			}
			l.mu.Unlock()
			return false
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(min(time.Until(deadline), 100*time.Millisecond)):
		case <-l.done:
			return false
		}
	}
}

// victimLocked returns, of the connections doing nothing, the one that
// has served the fewest requests and then waited longest, or nil.
func (l *connLimit) victimLocked(now time.Time) net.Conn {
	var victim net.Conn
	var best connInfo
	for c, in := range l.conns {
		quiet := in.state == http.StateIdle || (in.state == http.StateNew && now.Sub(in.since) > silentAfter)
		if quiet && (victim == nil || in.served < best.served || in.served == best.served && in.since.Before(best.since)) {
			victim, best = c, in
		}
	}
	return victim
}

// connState is the server's ConnState hook.
func (l *connLimit) connState(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if in, ok := l.conns[c]; ok {
			if state == http.StateIdle {
				in.served++
			}
			in.state, in.since = state, time.Now()
			l.conns[c] = in
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	if l.next != nil {
		l.next(c, state)
	}
}
