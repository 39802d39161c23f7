package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Freeze methods, as reported by Env.FreezeMethod.
const (
	FreezeCgroupV2 = "cgroup-v2"
	FreezeCgroupV1 = "cgroup-v1"
	FreezeSignal   = "sigstop"
	FreezeOff      = "off"
)

// freezer stops and resumes every process of the environment.
type freezer interface {
	// prepare sets up a process about to start (a cgroup v2 freezer starts
	// it inside its cgroup).
	prepare(attr *syscall.SysProcAttr)
	// add places a process just started under the freezer's control.
	add(pid int)
	// freeze stops every process (of the given process groups).
	freeze(pgids map[int]bool) error
	// thaw resumes them.
	thaw(pgids map[int]bool) error
	method() string
	close()
}

// newFreezer uses a cgroup freezer where this machine lets us create one,
// and stops process groups with SIGSTOP otherwise.
func newFreezer(off bool, method string) freezer {
	switch {
	case off:
		return noFreezer{}
	case method == FreezeSignal:
		return signalFreezer{}
	}
	name := fmt.Sprintf("lambdaotel-sandbox-%d-%s", os.Getpid(), newID(4))
	if f, err := newCgroupFreezer(name, true); err == nil {
		return f
	}
	if f, err := newCgroupFreezer(name, false); err == nil {
		return f
	}
	return signalFreezer{}
}

type noFreezer struct{}

func (noFreezer) prepare(*syscall.SysProcAttr) {}
func (noFreezer) add(int)                      {}
func (noFreezer) freeze(map[int]bool) error    { return nil }
func (noFreezer) thaw(map[int]bool) error      { return nil }
func (noFreezer) method() string               { return FreezeOff }
func (noFreezer) close()                       {}

// signalFreezer stops the process groups with SIGSTOP and resumes them with
// SIGCONT.
type signalFreezer struct{}

func (signalFreezer) prepare(*syscall.SysProcAttr) {}
func (signalFreezer) add(int)                      {}
func (signalFreezer) method() string               { return FreezeSignal }
func (signalFreezer) close()                       {}

func (signalFreezer) freeze(pgids map[int]bool) error {
	for pg := range pgids {
		_ = syscall.Kill(-pg, syscall.SIGSTOP)
	}
	// SIGSTOP is delivered asynchronously: wait until every process is stopped.
	end := time.Now().Add(time.Second)
	for {
		stopped := true
		for _, pid := range groupPIDs(pgids) {
			if s := procState(pid); s != 'T' && s != 't' && s != 0 {
				stopped = false
			}
		}
		if stopped {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("freeze: processes of groups %v did not stop within 1s", keys(pgids))
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (signalFreezer) thaw(pgids map[int]bool) error {
	for pg := range pgids {
		_ = syscall.Kill(-pg, syscall.SIGCONT)
	}
	return nil
}

// cgroupFreezer keeps the environment's processes in a cgroup of their own
// and freezes it (cgroup.freeze in v2, freezer.state in v1).
type cgroupFreezer struct {
	dir            string
	v2             bool
	fd             *os.File // the cgroup directory (v2), to start processes in it
	file           string   // the control file
	frozen, thawed string   // what to write to it
}

func newCgroupFreezer(name string, v2 bool) (*cgroupFreezer, error) {
	mount, path, err := cgroupLocation(v2)
	if err != nil {
		return nil, err
	}
	f := &cgroupFreezer{dir: filepath.Join(mount, path, name), v2: v2}
	if v2 {
		f.file, f.frozen, f.thawed = "cgroup.freeze", "1", "0"
	} else {
		f.file, f.frozen, f.thawed = "freezer.state", "FROZEN", "THAWED"
	}
	if err := os.Mkdir(f.dir, 0o755); err != nil {
		return nil, err
	}
	// Prove that the freezer works here before relying on it.
	if err := f.write(f.thawed); err != nil {
		f.close()
		return nil, err
	}
	if v2 {
		if f.fd, err = os.Open(f.dir); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

// cgroupLocation finds the mount point of the cgroup hierarchy (v2, or v1
// with the freezer controller) and this process's cgroup in it.
func cgroupLocation(v2 bool) (mount, path string, err error) {
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer mi.Close()
	s := bufio.NewScanner(mi)
	for s.Scan() {
		// mountinfo: ID parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		if (v2 && qf[0] == "cgroup2") || (!v2 && qf[0] == "cgroup" && hasOption(qf[2], "freezer")) {
			mount = pf[4]
			break
		}
	}
	if mount == "" {
		return "", "", fmt.Errorf("no cgroup freezer mounted")
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(cg), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && ((v2 && f[0] == "0" && f[1] == "") || (!v2 && hasOption(f[1], "freezer"))) {
			return mount, f[2], nil
		}
	}
	return "", "", fmt.Errorf("own cgroup not found")
}

func hasOption(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

func (f *cgroupFreezer) method() string {
	if f.v2 {
		return FreezeCgroupV2
	}
	return FreezeCgroupV1
}

func (f *cgroupFreezer) write(v string) error {
	return os.WriteFile(filepath.Join(f.dir, f.file), []byte(v), 0)
}

// prepare makes a cgroup v2 process start in the cgroup (clone3 with
// CLONE_INTO_CGROUP): no migration after the start, no child left outside.
func (f *cgroupFreezer) prepare(attr *syscall.SysProcAttr) {
	if f.fd != nil {
		attr.UseCgroupFD, attr.CgroupFD = true, int(f.fd.Fd())
	}
}

func (f *cgroupFreezer) add(pid int) {
	if f.fd == nil {
		_ = os.WriteFile(filepath.Join(f.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	}
}

func (f *cgroupFreezer) freeze(map[int]bool) error {
	if err := f.write(f.frozen); err != nil {
		return fmt.Errorf("freeze %s: %w", f.dir, err)
	}
	end := time.Now().Add(time.Second)
	for !f.isFrozen() {
		if time.Now().After(end) {
			return fmt.Errorf("freeze %s: not frozen within 1s", f.dir)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

func (f *cgroupFreezer) isFrozen() bool {
	if f.v2 {
		b, _ := os.ReadFile(filepath.Join(f.dir, "cgroup.events"))
		return strings.Contains(string(b), "frozen 1")
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, "freezer.state"))
	return strings.TrimSpace(string(b)) == "FROZEN"
}

func (f *cgroupFreezer) thaw(map[int]bool) error {
	if err := f.write(f.thawed); err != nil {
		return fmt.Errorf("thaw %s: %w", f.dir, err)
	}
	return nil
}

func (f *cgroupFreezer) close() {
	if f.fd != nil {
		f.fd.Close()
	}
	_ = f.write(f.thawed)
	_ = os.Remove(f.dir)
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
