package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Network modes of an environment (Config.Network).
const (
	// NetworkAuto gives the environment a network of its own where the
	// machine allows it, and the host's network (with one WARN line in the
	// logs) where it does not.
	NetworkAuto = ""
	// NetworkOwn gives the environment a network of its own, or fails.
	NetworkOwn = "own"
	// NetworkHost runs the environment in the host's network, as a plain
	// process would.
	NetworkHost = "host"
)

// InsideRuntimeAPI is AWS_LAMBDA_RUNTIME_API in an environment with a
// network of its own: the address Lambda uses.
const InsideRuntimeAPI = "127.0.0.1:9001"

// hostsFile is /etc/hosts inside an environment with a network of its
// own: the names Lambda resolves inside an execution environment.
const hostsFile = `127.0.0.1	localhost localhost.localdomain sandbox sandbox.localdomain
::1	localhost6 localhost6.localdomain6
`

// netns is an environment's network of its own: a network namespace (with
// its loopback up) and a mount namespace (with the environment's hosts
// file over /etc/hosts), both held by one OS thread of this process. The
// thread creates the sockets that must live inside (the API listener, the
// forwarders' listeners, the connections to Telemetry API subscribers)
// and starts the environment's processes, which inherit its namespaces.
// A socket keeps the namespace it was made in, so the rest of the program
// uses these sockets from any thread. The thread ends, and the namespaces
// with it once their processes and sockets are gone, at close.
type netns struct {
	calls chan func()
	quit  chan struct{} // closed to end the thread
	done  chan struct{} // closed when the thread has ended
	dir   string        // holds the hosts file
	// h, when not nil, holds the namespaces instead of a thread: a helper
	// process in a user namespace of its own (see userns.go).
	h *holder

	mu         sync.Mutex
	forwarders []net.Listener
	conns      map[net.Conn]bool
	closed     bool
}

// newNetns makes the namespaces: on a thread of this process where it may
// (CAP_SYS_ADMIN, as root), and otherwise in a helper process in a user
// namespace of its own where the machine allows unprivileged user
// namespaces. It fails where neither works, saying why.
func newNetns() (*netns, error) {
	dir, err := os.MkdirTemp("", "lambdaotel-net-")
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	// The helper process of a user namespace runs as the same user, but
	// make the hosts file readable whoever reads it.
	_ = os.Chmod(dir, 0o755)
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte(hostsFile), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("network namespace: hosts file: %w", err)
	}
	n, err := newThreadNetns(dir, hosts)
	if err == nil {
		return n, nil
	}
	h, herr := startHolder(hosts)
	if herr != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w; %w", err, herr)
	}
	return &netns{done: make(chan struct{}), dir: dir, h: h, conns: map[net.Conn]bool{}}, nil
}

// newThreadNetns makes the namespaces on a locked thread of this process.
func newThreadNetns(dir, hosts string) (*netns, error) {
	n := &netns{calls: make(chan func()), quit: make(chan struct{}), done: make(chan struct{}), dir: dir, conns: map[net.Conn]bool{}}
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, and
		// the Go runtime never gives its namespaces to other goroutines.
		runtime.LockOSThread()
		defer close(n.done)
		if err := enterNamespaces(hosts); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for {
			select {
			case f := <-n.calls:
				f()
			case <-n.quit:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return n, nil
}

// enterNamespaces moves the calling thread into new network and mount
// namespaces, brings the loopback up and mounts hosts over /etc/hosts.
func enterNamespaces(hosts string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("network namespace: unshare: %w", err)
	}
	return setUpNamespaces(hosts)
}

// setUpNamespaces makes the mounts of the calling thread's new mount
// namespace private, mounts hosts over /etc/hosts and brings the loopback
// of its new network namespace up.
func setUpNamespaces(hosts string) error {
	// Nothing mounted here may reach the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("network namespace: make mounts private: %w", err)
	}
	if err := unix.Mount(hosts, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("network namespace: bind %s over /etc/hosts: %w", hosts, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network namespace: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("network namespace: loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("network namespace: loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("network namespace: bring loopback up: %w", err)
	}
	return nil
}

// do runs f on the namespaces' thread.
func (n *netns) do(f func()) error {
	finished := make(chan struct{})
	select {
	case n.calls <- func() { defer close(finished); f() }:
	case <-n.done:
		return errors.New("network namespace is closed")
	}
	<-finished
	return nil
}

// listen listens on a TCP address inside.
func (n *netns) listen(addr string) (ln net.Listener, err error) {
	if n.h != nil {
		return n.h.listen(addr)
	}
	if derr := n.do(func() { ln, err = net.Listen("tcp", addr) }); derr != nil {
		return nil, derr
	}
	return ln, err
}

// dial connects to a TCP address inside. addr must hold an IP address, so
// that the socket is made on the calling goroutine (a name could make
// the dialer race several addresses on other threads).
func (n *netns) dial(ctx context.Context, network, addr string) (c net.Conn, err error) {
	host, _, _ := net.SplitHostPort(addr)
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("dial %s inside the environment: not an IP address", addr)
	}
	if n.h != nil {
		return n.h.dial(ctx, network, addr, 2*time.Second)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	if derr := n.do(func() { c, err = d.DialContext(ctx, network, addr) }); derr != nil {
		return nil, derr
	}
	return c, err
}

// start starts cmd inside: it inherits the namespaces of the thread that
// forks it.
func (n *netns) start(cmd *exec.Cmd) (err error) {
	if n.h != nil {
		return n.h.start(cmd)
	}
	if derr := n.do(func() { err = cmd.Start() }); derr != nil {
		return derr
	}
	return err
}

// forward makes the host's 127.0.0.1:port reachable inside as
// 127.0.0.1:port (and localhost:port): every connection made to it inside
// is relayed to the host's port.
func (n *netns) forward(port int) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	ln, err := n.listen(addr)
	if err != nil {
		return fmt.Errorf("forward port %d into the environment: %w", port, err)
	}
	n.mu.Lock()
	n.forwarders = append(n.forwarders, ln)
	n.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go n.relay(in, addr)
		}
	}()
	return nil
}

// relay copies between a connection accepted inside and a new one to the
// same address on the host, until both directions end.
func (n *netns) relay(in net.Conn, addr string) {
	out, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	if !n.track(in, out) {
		in.Close()
		out.Close()
		return
	}
	defer n.untrack(in, out)
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
	in.Close()
	out.Close()
}

func (n *netns) track(cs ...net.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	for _, c := range cs {
		n.conns[c] = true
	}
	return true
}

func (n *netns) untrack(cs ...net.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range cs {
		delete(n.conns, c)
	}
}

// close stops the forwarders and ends the namespaces' thread.
func (n *netns) close() {
	n.mu.Lock()
	n.closed = true
	for _, ln := range n.forwarders {
		ln.Close()
	}
	for c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	if n.h != nil {
		n.h.close()
	} else {
		close(n.quit)
		<-n.done
	}
	os.RemoveAll(n.dir)
}

// NetworkSupport reports whether this process can give environments a
// network of their own, and if not, why.
func NetworkSupport() error {
	supportOnce.Do(func() {
		n, err := newNetns()
		if err != nil {
			supportErr = err
			return
		}
		n.close()
	})
	return supportErr
}

var (
	supportOnce sync.Once
	supportErr  error
)
