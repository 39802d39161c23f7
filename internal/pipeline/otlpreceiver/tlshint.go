package otlpreceiver

import (
	"log/slog"
	"net"
	"sync"
)

// tlsHintListener watches the first bytes of every connection to a plain
// (no TLS) OTLP port: a TLS ClientHello there means a client configured
// for https, such as the OpenTelemetry Go SDK with its default endpoint,
// whose data the receiver can never read. The first such connection is
// logged with one WARN line that names the fix; the connection itself is
// served as any other (and fails at the client).
type tlsHintListener struct {
	net.Listener
	logger *slog.Logger
	fix    string
	once   sync.Once
}

func newTLSHintListener(ln net.Listener, logger *slog.Logger, fix string) net.Listener {
	return &tlsHintListener{Listener: ln, logger: logger, fix: fix}
}

func (l *tlsHintListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsHintConn{Conn: c, l: l}, nil
}

// tlsHintConn looks at the first bytes read from the connection.
type tlsHintConn struct {
	net.Conn
	l       *tlsHintListener
	checked bool
	first   byte // the first byte, when a read returned only one
	seen    int  // bytes looked at so far (0, 1 or 2)
}

func (c *tlsHintConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for i := 0; i < n && !c.checked; i++ {
		if c.seen == 0 {
			c.first, c.seen = p[i], 1
			continue
		}
		c.checked = true
		// A TLS record: handshake (22), protocol version 3.x.
		if c.first == 0x16 && p[i] == 0x03 {
			c.l.once.Do(func() {
				c.l.logger.Warn("a client spoke TLS to " + c.l.Addr().String() + ", which serves plain OTLP without TLS: " + c.l.fix)
			})
		}
	}
	return n, err
}
