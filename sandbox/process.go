package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxLogLine is the longest output line delivered as one log event; longer
// lines are split.
const maxLogLine = 256 * 1024

// proc is one process of the environment: the runtime or an extension. It
// runs in its own process group, so that freezing and killing reach every
// process it starts.
type proc struct {
	name    string // extension file name, or "runtime"
	started time.Time
	cmd     *exec.Cmd
	outputs []*output
	exited  chan struct{} // closed when the process has exited
	exitErr error         // set before exited is closed
}

// output reads one of a process's output pipes line by line.
type output struct {
	r    *os.File
	busy atomic.Bool // a read returned data that is not yet handled
	done chan struct{}
}

// startProc starts argv with env in dir, under the freezer fz, with
// start. Each output line is passed to onLine; onExit runs once the
// process has exited.
func startProc(name string, argv, env []string, dir string, fz freezer, start func(*exec.Cmd) error, onLine func(line string), onExit func()) (*proc, error) {
	p := &proc{name: name, exited: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fz.prepare(cmd.SysProcAttr)
	var writers []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("start %s: output pipe: %w", name, err)
		}
		writers = append(writers, w)
		p.outputs = append(p.outputs, &output{r: r, done: make(chan struct{})})
	}
	cmd.Stdout, cmd.Stderr = writers[0], writers[1]
	p.started = time.Now()
	err := start(cmd)
	for _, w := range writers {
		w.Close()
	}
	if err != nil {
		for _, o := range p.outputs {
			o.r.Close()
		}
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	p.cmd = cmd
	fz.add(cmd.Process.Pid)
	for _, o := range p.outputs {
		go o.read(onLine)
	}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
		onExit()
	}()
	return p, nil
}

// read passes every line of the pipe to onLine until EOF.
func (o *output) read(onLine func(string)) {
	defer close(o.done)
	defer o.r.Close()
	buf := make([]byte, 64*1024)
	var line []byte
	for {
		n, err := o.r.Read(buf)
		if n > 0 {
			o.busy.Store(true)
			data := buf[:n]
			for len(data) > 0 {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					line = append(line, data...)
					break
				}
				line = append(line, data[:i]...)
				data = data[i+1:]
				onLine(strings.TrimSuffix(string(line), "\r"))
				line = line[:0]
			}
			for len(line) >= maxLogLine {
				onLine(string(line[:maxLogLine]))
				line = append(line[:0], line[maxLogLine:]...)
			}
			o.busy.Store(false)
		}
		if err != nil {
			if len(line) > 0 {
				onLine(string(line))
			}
			return
		}
	}
}

// drained reports whether everything written to the pipe so far has been
// handled. A write that completed before the call is either still in the
// pipe or has been read.
func (o *output) drained() bool {
	select {
	case <-o.done:
		return true
	default:
	}
	rc, err := o.r.SyscallConn()
	if err != nil {
		return true
	}
	n := 0
	if rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }) != nil {
		return true // closed: everything was read
	}
	return n == 0 && !o.busy.Load()
}

// waitDrained waits, at most limit, until the process's output written so
// far has been handled.
func (p *proc) waitDrained(limit time.Duration) {
	end := time.Now().Add(limit)
	for _, o := range p.outputs {
		for !o.drained() && time.Now().Before(end) {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// waitOutput waits, at most limit, until the process's output pipes are
// closed and read to the end.
func (p *proc) waitOutput(limit time.Duration) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for _, o := range p.outputs {
		select {
		case <-o.done:
		case <-timer.C:
			return
		}
	}
}

// pid returns the process id (also its process group id).
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the process's whole group.
func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		_ = syscall.Kill(-p.pid(), sig)
	}
}

// kill stops the process group with SIGKILL and waits for the exit.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.exited
}

// exitDescription describes how the process ended, in Lambda's words
// ("exit status 2", "signal: killed").
func (p *proc) exitDescription() string {
	if p.exitErr == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ProcessState.String()
	}
	return p.exitErr.Error()
}

// groupPIDs lists the processes, alive now, whose process group is one of pgids.
func groupPIDs(pgids map[int]bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		state, pgid, ok := parseStat(stat)
		if ok && pgids[pgid] && state != 'Z' {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// parseStat returns the state and the process group from /proc/PID/stat.
func parseStat(stat []byte) (state byte, pgid int, ok bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	pgid, err := strconv.Atoi(f[2])
	return f[0][0], pgid, err == nil
}

// procState returns the one-letter state of pid ('R', 'S', 'T', ...), or 0
// if the process is gone.
func procState(pid int) byte {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s, _, _ := parseStat(stat)
	return s
}

// resetPeakMemory restarts the peak resident size count of every process.
func resetPeakMemory(pids []int) {
	for _, pid := range pids {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
}

// peakMemoryBytes sums the peak resident size (VmHWM) of the processes.
func peakMemoryBytes(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		total += vmHWM(f)
		f.Close()
	}
	return total
}

func vmHWM(r io.Reader) int64 {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
