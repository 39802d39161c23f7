package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HolderEnv is the environment variable that makes a program importing
// this package the holder of an environment's namespaces instead of
// itself.
//
// Without CAP_SYS_ADMIN a process cannot make a network namespace on one
// of its threads, and a multithreaded process (every Go program) cannot
// enter a new user namespace. Where the machine allows unprivileged user
// namespaces, the sandbox therefore starts its own executable again
// (/proc/self/exe, whatever program imports this package: lambdaotel, a
// test binary) with HolderEnv set, in new user, network and mount
// namespaces in which the user is root. This package's init function sees
// HolderEnv, sets the namespaces up (loopback up, the hosts file over
// /etc/hosts) and serves the sandbox, never returning to the program:
// over a unix socket inherited as file descriptor 3, it makes the
// listeners and connections that must live inside and passes them back
// (SCM_RIGHTS). The environment's processes are started inside with
// nsenter(1) (util-linux), which, being single-threaded, may enter the
// holder's user namespace and then its network and mount namespaces, and
// then executes the process in place (same process ID). The holder ends
// when the sandbox closes its end of the socket.
const HolderEnv = "LAMBDAOTEL_SANDBOX_NAMESPACE_HOLDER"

func init() {
	if hosts, ok := os.LookupEnv(HolderEnv); ok {
		os.Exit(runHolder(hosts))
	}
}

// holderFD is the holder's end of its socket to the sandbox.
const holderFD = 3

// holder is the sandbox's side of a namespace holder process.
type holder struct {
	cmd     *exec.Cmd
	ctl     int // the sandbox's end of the control socket
	nsenter string

	mu     sync.Mutex
	closed bool
}

// startHolder starts a holder of new user, network and mount namespaces,
// with hosts over /etc/hosts inside.
func startHolder(hosts string) (*holder, error) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return nil, fmt.Errorf("user namespace: nsenter (util-linux) is needed to start processes inside: %w", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("user namespace: socketpair: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "namespace-holder")
	var stderr bytes.Buffer
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"lambdaotel-namespace-holder"}
	cmd.Env = append(os.Environ(), HolderEnv+"="+hosts)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		// A signal to the terminal's process group is for the sandbox,
		// which ends the holder itself.
		Setpgid: true,
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("user namespace: start a holder of the namespaces: %w", err)
	}
	h := &holder{cmd: cmd, ctl: fds[0], nsenter: nsenter}
	// The holder says "ok" once the namespaces are set up, or why not.
	buf := make([]byte, 1024)
	n, _, _, _, err := unix.Recvmsg(h.ctl, buf, nil, 0)
	if err != nil || n == 0 || string(buf[:n]) != "ok" {
		unix.Close(h.ctl)
		_ = cmd.Wait()
		why := strings.TrimSpace(string(buf[:max(n, 0)]))
		if why == "" {
			why = strings.TrimSpace(stderr.String())
		}
		if why == "" && err != nil {
			why = err.Error()
		}
		return nil, fmt.Errorf("user namespace: the holder of the namespaces failed: %s", why)
	}
	return h, nil
}

// call asks the holder for a socket made inside: req is "listen ADDR" or
// "dial TIMEOUT_MS NETWORK ADDR".
func (h *holder) call(req string) (*os.File, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	defer unix.Close(pair[0])
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		unix.Close(pair[1])
		return nil, errors.New("network namespace is closed")
	}
	err = unix.Sendmsg(h.ctl, []byte(req), unix.UnixRights(pair[1]), nil, 0)
	h.mu.Unlock()
	unix.Close(pair[1])
	if err != nil {
		return nil, fmt.Errorf("ask the holder of the namespaces: %w", err)
	}
	buf := make([]byte, 1024)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(pair[0], buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("answer of the holder of the namespaces: %w", err)
	}
	fds := receivedFDs(oob[:oobn])
	if msg := string(buf[:n]); msg != "ok" || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if n == 0 {
			msg = "the holder of the namespaces has ended"
		}
		return nil, errors.New(msg)
	}
	return os.NewFile(uintptr(fds[0]), req), nil
}

// receivedFDs returns the file descriptors of a control message.
func receivedFDs(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if rights, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, rights...)
		}
	}
	return fds
}

// listen listens on a TCP address inside.
func (h *holder) listen(addr string) (net.Listener, error) {
	f, err := h.call("listen " + addr)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileListener(f)
}

// dial connects to a TCP address inside, within timeout (or the context's
// deadline, if sooner).
func (h *holder) dial(ctx context.Context, network, addr string, timeout time.Duration) (net.Conn, error) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("dial %s inside the environment: %w", addr, context.DeadlineExceeded)
	}
	f, err := h.call(fmt.Sprintf("dial %d %s %s", timeout.Milliseconds(), network, addr))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileConn(f)
}

// start starts cmd inside, through nsenter: it enters the holder's user
// namespace (where this user is root), then its network and mount
// namespaces, changes to cmd's directory and executes cmd's program in
// its own place.
func (h *holder) start(cmd *exec.Cmd) error {
	dir := cmd.Dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("start %s inside the environment: %w", cmd.Path, err)
		}
	}
	path := cmd.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	args := []string{h.nsenter, "--target", strconv.Itoa(h.cmd.Process.Pid), "--user", "--net", "--mount",
		"--preserve-credentials", "--wd=" + dir, "--", path}
	cmd.Path = h.nsenter
	cmd.Args = append(args, cmd.Args[1:]...)
	return cmd.Start()
}

// close ends the holder. The sockets it made live on with their
// namespaces as long as they are open.
func (h *holder) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		unix.Close(h.ctl)
	}
	h.mu.Unlock()
	_ = h.cmd.Wait()
}

// runHolder is the holder process: it sets up the namespaces it was
// started in, says "ok" (or why not) on its socket, and then serves the
// sandbox's requests until the sandbox closes the socket.
func runHolder(hosts string) int {
	if err := setUpNamespaces(hosts); err != nil {
		_ = unix.Sendmsg(holderFD, []byte(err.Error()), nil, nil, 0)
		return 1
	}
	if err := unix.Sendmsg(holderFD, []byte("ok"), nil, nil, 0); err != nil {
		return 1
	}
	for {
		buf := make([]byte, 1024)
		oob := make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := unix.Recvmsg(holderFD, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		fds := receivedFDs(oob[:oobn])
		if len(fds) != 1 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			continue
		}
		go serveHolderRequest(string(buf[:n]), fds[0])
	}
}

// serveHolderRequest makes the socket req asks for and sends it on reply,
// or the error that prevented it.
func serveHolderRequest(req string, reply int) {
	defer unix.Close(reply)
	f, err := holderSocket(req)
	if err != nil {
		_ = unix.Sendmsg(reply, []byte(err.Error()), nil, nil, 0)
		return
	}
	defer f.Close()
	_ = unix.Sendmsg(reply, []byte("ok"), unix.UnixRights(int(f.Fd())), nil, 0)
}

// holderSocket makes the listener or connection req asks for, and returns
// its file.
func holderSocket(req string) (*os.File, error) {
	f := strings.Fields(req)
	switch {
	case len(f) == 2 && f[0] == "listen":
		ln, err := net.Listen("tcp", f[1])
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		return ln.(*net.TCPListener).File()
	case len(f) == 4 && f[0] == "dial":
		ms, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("bad request %q: %w", req, err)
		}
		c, err := net.DialTimeout(f[2], f[3], time.Duration(ms)*time.Millisecond)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		tc, ok := c.(*net.TCPConn)
		if !ok {
			return nil, fmt.Errorf("bad request %q: not TCP", req)
		}
		return tc.File()
	}
	return nil, fmt.Errorf("bad request %q", req)
}
