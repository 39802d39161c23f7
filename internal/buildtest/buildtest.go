// Package buildtest builds the project's programs for tests, once per test
// process.
package buildtest

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{}
)

// Binary builds the main package pkg (an import path) and returns the
// path of the executable. Builds are shared by all tests of the process.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lambdaotel-build-"); err != nil {
			tb.Fatalf("buildtest: %v", err)
		}
	}
	bin := filepath.Join(dir, path.Base(pkg)+"-"+filepath.Base(filepath.Dir(pkg)))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("buildtest: go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// Cleanup removes the built programs; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Install puts the executable bin at dst (creating its directory), as a
// task root's bootstrap or a layer's extension (see InstallFile).
func Install(tb testing.TB, bin, dst string) {
	tb.Helper()
	if err := InstallFile(bin, dst); err != nil {
		tb.Fatal(err)
	}
}

// InstallFile puts the executable bin at dst, creating its directory, as a
// hard link where it can: a copy is a file open for writing for a moment,
// and a process forked meanwhile by another test holds it open, so that
// executing it fails with "text file busy"; and a new file's first exec
// updates its access time, a journal write that stalls the start of the
// process by 10-16 ms on ext4 (Lambda's read-only files never pay it),
// which start-up figures must not include. A copy where no link can be made.
func InstallFile(bin, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if os.Link(bin, dst) == nil {
		return nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
