package bundleplugin

import (
	"net"
	"os"
	"path/filepath"
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
