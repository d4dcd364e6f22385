package bundleplugin

import (
	"os/exec"
	"syscall"
)

// setProcessAttributes has the kernel kill the bundle process if the worker dies without ending it,
// and starts it in a process group of its own: the processes its tasks leave running are found there
// (leftProcesses), and a Ctrl-C meant for the worker does not reach them.
func setProcessAttributes(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
