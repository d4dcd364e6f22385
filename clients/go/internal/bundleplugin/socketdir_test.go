package bundleplugin

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A socket can be bound in the folder socketFolder makes, with go-plugin's longest socket name, even
// when the temporary directory's own path is too long for a socket's address.
func TestSocketFolder_SocketsFitInIt_AlsoUnderALongTemporaryDirectory(t *testing.T) {
	short, err := os.MkdirTemp("", "t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(short) })
	long := filepath.Join(short, strings.Repeat("x", 80))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tmp := range []string{short, long} {
		t.Setenv("TMPDIR", tmp)
		dir, err := socketFolder()
		if err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", dir, info, err)
		}
		want := tmp
		if tmp == long {
			want = "/tmp"
		}
		if pid, ok := socketFolderOwner(filepath.Base(dir)); !ok || pid != os.Getpid() {
			t.Errorf("the folder %s does not name this worker's pid %d", dir, os.Getpid())
		}
		if filepath.Dir(dir) != want {
			t.Errorf("under a temporary directory of %d bytes, the folder %s is not in %s", len(tmp), dir, want)
		}
		listener, err := net.Listen("unix", filepath.Join(dir, "plugin"+strings.Repeat("9", 10)))
		if err != nil {
			t.Errorf("no socket in %s: %v", dir, err)
		} else {
			_ = listener.Close()
		}
		_ = os.RemoveAll(dir)
	}
}

// A worker removes the socket folders of workers that died, and nothing else: not a folder of a
// running worker, nor one with a socket something listens on, nor one holding anything but sockets.
func TestSweepSocketFolders_RemovesOnlyTheFoldersOfDeadWorkers(t *testing.T) {
	base, err := os.MkdirTemp("", "t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dead, alive := ended.ProcessState.Pid(), os.Getppid()
	folder := func(name string) string {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	socket := func(dir string, listening bool) {
		listener, err := net.Listen("unix", filepath.Join(dir, "plugin1"))
		if err != nil {
			t.Fatal(err)
		}
		if listening {
			t.Cleanup(func() { _ = listener.Close() })
			return
		}
		listener.(*net.UnixListener).SetUnlinkOnClose(false) // what a killed process leaves behind
		_ = listener.Close()
	}
	socket(folder(socketFolderPrefix+strconv.Itoa(dead)+"-1"), false)
	folder(socketFolderPrefix + strconv.Itoa(dead) + "-2")
	socket(folder(socketFolderPrefix+strconv.Itoa(alive)+"-3"), false)
	socket(folder(socketFolderPrefix+strconv.Itoa(dead)+"-4"), true)
	if err := os.WriteFile(filepath.Join(folder(socketFolderPrefix+strconv.Itoa(dead)+"-5"), "notes"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	socket(folder("baton-bundle-x-6"), false)
	socket(folder("other-"+strconv.Itoa(dead)+"-7"), false)
	if err := os.WriteFile(filepath.Join(base, socketFolderPrefix+strconv.Itoa(dead)+"-8"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	if removed := sweepSocketFolders(base); removed != 2 {
		t.Errorf("removed %d folders, want 2", removed)
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, entry := range entries {
		left = append(left, entry.Name()[strings.LastIndexByte(entry.Name(), '-')+1:])
	}
	slices.Sort(left)
	if want := []string{"3", "4", "5", "6", "7", "8"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
