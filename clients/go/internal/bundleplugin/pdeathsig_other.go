//go:build !linux

package bundleplugin

import "os/exec"

// setParentDeathSignal does nothing where the kernel offers no parent-death signal.
func setParentDeathSignal(*exec.Cmd) {}
