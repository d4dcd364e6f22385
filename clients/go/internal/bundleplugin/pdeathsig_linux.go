package bundleplugin

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill the bundle process if the worker dies without ending it.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
