package bundleplugin

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// socketFolderPrefix starts the name of every bundle socket folder; the worker's pid follows it, so
// that a folder left by a worker that was killed can be told from one of a worker still running.
const socketFolderPrefix = "baton-bundle-"

// longestSocketBase is the longest folder a bundle's socket folder is made in: a Unix socket's address
// holds 107 bytes on Linux, and go-plugin names the socket "plugin" and up to 10 digits, in the folder
// socketFolder makes ("baton-bundle-", a pid of up to 10 digits, "-" and up to 10 digits).
const longestSocketBase = 107 - len("/"+socketFolderPrefix) - 10 - len("-") - 10 - len("/plugin") - 10

// sweepOnce removes, before a worker makes its first socket folder, the folders of workers that died
// without removing theirs.
var sweepOnce sync.Once

// socketFolder makes a folder of this user's alone for a bundle process's Unix socket, in the
// temporary directory, or in /tmp when that directory's path is too long for a socket's address.
// The first call removes the socket folders there of workers no longer running (sweepSocketFolders).
func socketFolder() (string, error) {
	base := socketBase()
	sweepOnce.Do(func() { sweepSocketFolders(base) })
	return os.MkdirTemp(base, fmt.Sprintf("%s%d-", socketFolderPrefix, os.Getpid()))
}

// socketBase is the folder socket folders are made in.
func socketBase() string {
	base := os.TempDir()
	if len(base) > longestSocketBase {
		if info, err := os.Stat("/tmp"); err == nil && info.IsDir() {
			base = "/tmp"
		}
	}
	return base
}

// sweepSocketFolders removes from base the socket folders of workers that are no longer running (a
// worker killed with SIGKILL cannot remove its own; its bundles die with it) and returns how many it
// removed. A folder is removed only when its name says which worker made it, that process is gone, and
// it holds nothing but sockets no process listens on; any other folder, or one this user cannot read,
// is left alone.
func sweepSocketFolders(base string) int {
	entries, err := os.ReadDir(base)
	if err != nil {
		return 0
	}
	removed := 0
	for _, entry := range entries {
		pid, ok := socketFolderOwner(entry.Name())
		if !ok || !entry.IsDir() || processAlive(pid) { // this worker's own pid is alive too
			continue
		}
		dir := filepath.Join(base, entry.Name())
		if deadSockets(dir) && os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}

// socketFolderOwner is the pid of the worker that made the socket folder called name.
func socketFolderOwner(name string) (int, bool) {
	rest, found := strings.CutPrefix(name, socketFolderPrefix)
	if !found {
		return 0, false
	}
	digits, _, found := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	return pid, found && err == nil && pid > 0
}

// deadSockets reports whether the folder dir can be read and holds nothing but Unix sockets that no
// process listens on (a worker of another PID namespace sharing the folder may still be running).
func deadSockets(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, entry := range entries {
		if entry.Type()&os.ModeSocket == 0 {
			return false
		}
		conn, err := net.DialTimeout("unix", filepath.Join(dir, entry.Name()), time.Second)
		if err == nil {
			_ = conn.Close()
			return false
		}
	}
	return true
}
