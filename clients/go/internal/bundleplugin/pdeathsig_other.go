//go:build !linux

package bundleplugin

import "os/exec"

// setProcessAttributes does nothing where the kernel offers no parent-death signal (nor a /proc to
// find left processes in).
func setProcessAttributes(*exec.Cmd) {}
