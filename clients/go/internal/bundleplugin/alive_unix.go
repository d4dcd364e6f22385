//go:build unix

package bundleplugin

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this pid exists (it may be another user's).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
