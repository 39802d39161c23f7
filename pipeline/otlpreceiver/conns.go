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
// connection arrives at the limit, the connection idle longest is closed to
// make room: an idle keep-alive connection costs its client no more than a
// reconnect. If none is idle, the new connection is closed at once.
type connLimit struct {
	net.Listener
	max    int
	logger *slog.Logger
	next   func(net.Conn, http.ConnState) // the server's other ConnState hook

	mu      sync.Mutex
	conns   map[net.Conn]connInfo
	refused int // connections closed at once since the last log line
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func newConnLimit(ln net.Listener, max int, logger *slog.Logger, next func(net.Conn, http.ConnState)) *connLimit {
	return &connLimit{Listener: ln, max: max, logger: logger, next: next, conns: make(map[net.Conn]connInfo)}
}

// Accept waits for the next connection that may stay open.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max {
			var oldest net.Conn
			var since time.Time
			for oc, in := range l.conns {
				if in.state == http.StateIdle && (oldest == nil || in.since.Before(since)) {
					oldest, since = oc, in.since
				}
			}
			if oldest == nil {
				l.refused++
				if l.refused == 1 {
					l.logger.Warn("OTLP receiver: connection limit reached and none idle: closing new connections",
						"address", l.Addr().String(), "limit", l.max)
				}
				l.mu.Unlock()
				c.Close()
				continue
			}
			delete(l.conns, oldest)
			oldest.Close()
		}
		l.refused = 0
		l.conns[c] = connInfo{state: http.StateNew, since: time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// connState is the server's ConnState hook.
func (l *connLimit) connState(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = connInfo{state: state, since: time.Now()}
		}
	}
	l.mu.Unlock()
	if l.next != nil {
		l.next(c, state)
	}
}

// open returns how many connections are open.
func (l *connLimit) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
