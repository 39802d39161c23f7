//go:build !(linux || darwin)

package spill

import "os"

// tryLock does nothing on this system: the queue relies on a single
// process using it.
func tryLock(*os.File) (busy bool, err error) { return false, nil }

// freeSpace is unknown on this system.
func freeSpace(string) (int64, bool) { return 0, false }

// writable is not checked on this system.
func writable(string) error { return nil }
