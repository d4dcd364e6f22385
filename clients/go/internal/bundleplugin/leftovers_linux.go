package bundleplugin

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// groupMembers lists the other running processes of this process's group.
func groupMembers() []int {
	return membersOf(syscall.Getpgrp(), os.Getpid())
}

// membersOf lists the running processes of a process group but one (a scan of /proc).
func membersOf(group, but int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var members []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid == but {
			continue
		}
		if pgrp, running := groupOf(pid); running && pgrp == group {
			members = append(members, pid)
		}
	}
	return members
}

// groupOf reads a process's group from /proc/PID/stat, and whether it still runs (not a zombie).
func groupOf(pid int) (int, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:]) // "pid (comm) state ppid pgrp ..."
	if len(fields) < 3 {
		return 0, false
	}
	pgrp, err := strconv.Atoi(string(fields[2]))
	return pgrp, err == nil && string(fields[0]) != "Z"
}

// signalMember signals a process through a pidfd, if it is of this process's group still: a pid that
// ended and was reused meanwhile is not signalled.
func signalMember(pid int, signal syscall.Signal) {
	signalIn(syscall.Getpgrp(), pid, signal)
}

// signalIn signals a process through a pidfd, if it is of the group still.
func signalIn(group, pid int, signal syscall.Signal) {
	handle, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(handle)
	if pgrp, running := groupOf(pid); running && pgrp == group {
		_ = unix.PidfdSendSignal(handle, signal, nil, 0)
	}
}

// killGroupOf kills the members found in the group of a bundle process that has ended (the group
// bears its pid), if they are of it still: what the tasks it still ran when it was ended had started.
func killGroupOf(group int, members []int) {
	for _, pid := range members {
		signalIn(group, pid, syscall.SIGKILL)
	}
}

// groupOfBundle lists the processes of a bundle process's group other than itself.
func groupOfBundle(pid int) []int {
	return membersOf(pid, pid)
}

// leftProcesses lists the processes of this bundle process's group other than itself: those its tasks
// left running. None when it does not lead its group (the worker starts it so).
func leftProcesses() []int {
	if syscall.Getpgrp() != os.Getpid() {
		return nil
	}
	return groupMembers()
}

// stopProcesses sends SIGTERM to the processes found, then SIGKILL to those of the group that still
// run after grace.
func stopProcesses(found []int, grace time.Duration) {
	for _, pid := range found {
		signalMember(pid, syscall.SIGTERM)
	}
	left := found
	for deadline := time.Now().Add(grace); len(left) > 0 && time.Now().Before(deadline); left = groupMembers() {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range left {
		signalMember(pid, syscall.SIGKILL)
	}
}
