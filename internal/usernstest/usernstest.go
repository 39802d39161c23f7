// Package usernstest lets a test run a program as a user without
// privileges, in user namespaces of its own, or skip where the machine
// does not allow that.
package usernstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// AsUser returns the words to put before a command so that it runs as a
// user without privileges: setpriv(1) to user and group 65534 when the
// test runs as root, nothing otherwise. It skips the test where setpriv
// is missing (as root) or where such a user cannot make a user namespace.
func AsUser(t testing.TB) []string {
	t.Helper()
	var asUser []string
	if os.Getuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skipf("running as root without setpriv(1) to drop privileges: %v", err)
		}
		asUser = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
	}
	if why := Unavailable(); why != "" {
		t.Skipf("unprivileged user namespaces are not available here: %s", why)
	}
	return asUser
}

// Unavailable says why a user without privileges cannot make a user
// namespace here, or "" if nothing says it cannot.
func Unavailable() string {
	for _, c := range []struct{ file, off string }{
		{"/proc/sys/user/max_user_namespaces", "0"},
		{"/proc/sys/kernel/unprivileged_userns_clone", "0"},
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"},
	} {
		if b, err := os.ReadFile(c.file); err == nil && strings.TrimSpace(string(b)) == c.off {
			return fmt.Sprintf("%s is %s", c.file, c.off)
		}
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return fmt.Sprintf("nsenter (util-linux): %v", err)
	}
	return ""
}
