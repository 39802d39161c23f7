package sandbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestFreezeStopsEveryProcess checks that between invocations every process
// of the environment is stopped, and that a ticker in the function does not
// advance while the environment is frozen.
func TestFreezeStopsEveryProcess(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"", sandbox.FreezeSignal} {
		t.Run("method="+method, func(t *testing.T) {
			t.Parallel()
			testFreeze(t, method)
		})
	}
}

func testFreeze(t *testing.T, method string) {
	const freeze = 400 * time.Millisecond
	f := start(t, setup{cfg: sandbox.Config{FreezeMin: freeze, FreezeMethod: method}})
	first := decodeResponse(t, f.invoke(t, `{}`))
	t.Logf("freeze method: %s", f.env.FreezeMethod())
	if !f.env.Frozen() {
		t.Fatal("environment is not frozen after the invocation")
	}
	pids := f.env.PIDs()
	if len(pids) < 2 {
		t.Fatalf("environment processes %v: want the runtime and the extension", pids)
	}
	for _, pid := range pids {
		if err := checkFrozen(f.env, pid); err != nil {
			t.Error(err)
		}
	}
	frozenAt := sandbox.FrozenAt(f.env)
	second := decodeResponse(t, f.invoke(t, `{}`))
	if waited := time.Since(frozenAt); waited < freeze {
		t.Errorf("the freeze lasted %v, less than FreezeMin %v", waited, freeze)
	}
	// The ticker adds one every 10 ms: unfrozen it would have gained about
	// 40 during the freeze. It may only have moved while the environment ran.
	if gained := second.Ticks - first.Ticks; gained > 15 {
		t.Errorf("the function's ticker gained %d ticks across a %v freeze (method %s)", gained, freeze, f.env.FreezeMethod())
	}
}

// TestNoFreeze checks that --no-freeze leaves the processes running.
func TestNoFreeze(t *testing.T) {
	t.Parallel()
	f := start(t, setup{noExtension: true, cfg: sandbox.Config{NoFreeze: true}})
	f.invoke(t, `{}`)
	if f.env.Frozen() || f.env.FreezeMethod() != sandbox.FreezeOff {
		t.Fatalf("frozen %v, method %s", f.env.Frozen(), f.env.FreezeMethod())
	}
	for _, pid := range f.env.PIDs() {
		if s := procState(pid); s == 'T' {
			t.Errorf("process %d is stopped", pid)
		}
	}
}

// checkFrozen checks pid the way the freeze method stops it.
func checkFrozen(env *sandbox.Env, pid int) error {
	switch env.FreezeMethod() {
	case sandbox.FreezeSignal:
		if s := procState(pid); s != 'T' {
			return fmt.Errorf("process %d is in state %c, want T (stopped)", pid, s)
		}
	case sandbox.FreezeCgroupV1, sandbox.FreezeCgroupV2:
		cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(cg), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 || !strings.Contains(parts[2], "lambdaotel-sandbox-") {
				continue
			}
			for _, dir := range cgroupDirs(parts[2]) {
				if b, err := os.ReadFile(filepath.Join(dir, "freezer.state")); err == nil {
					if strings.TrimSpace(string(b)) != "FROZEN" {
						return fmt.Errorf("process %d: freezer.state %s", pid, b)
					}
					return nil
				}
				if b, err := os.ReadFile(filepath.Join(dir, "cgroup.events")); err == nil {
					if !strings.Contains(string(b), "frozen 1") {
						return fmt.Errorf("process %d: cgroup.events %s", pid, b)
					}
					return nil
				}
			}
		}
		return fmt.Errorf("process %d is not in the sandbox's cgroup", pid)
	}
	return nil
}

// cgroupDirs lists the places a cgroup path may be mounted.
func cgroupDirs(path string) []string {
	var out []string
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/unified"} {
		out = append(out, filepath.Join(root, path))
	}
	return out
}

func procState(pid int) byte {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0
	}
	return s[i+2]
}

// TestShutdownDeadline checks that an extension that ignores SHUTDOWN is
// killed at the 2000 ms deadline, and that the runtime is stopped first.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	f := start(t, setup{recEnv: map[string]string{"REC_IGNORE_SHUTDOWN": "1"}})
	f.invoke(t, `{}`)
	rep := f.env.Shutdown()
	if rep == nil || len(rep.Extensions) != 1 || rep.Runtime == nil {
		t.Fatalf("shutdown report %+v", rep)
	}
	x := rep.Extensions[0]
	if !x.Killed || x.StoppedMs < 2000 || x.Exit != "signal: killed" {
		t.Errorf("extension that ignores SHUTDOWN: %+v; want killed at the 2000 ms deadline", x)
	}
	if rep.Runtime.StoppedMs > x.StoppedMs {
		t.Errorf("runtime stopped after the extension: %+v", rep)
	}
	if !strings.Contains(f.logs.String(), "SHUTDOWN extension recorder was killed after") {
		t.Errorf("logs do not say the extension was killed:\n%s", f.logs.String())
	}
	if pids := f.env.PIDs(); len(pids) != 0 {
		t.Errorf("processes left after shutdown: %v", pids)
	}
}
