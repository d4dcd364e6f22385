package bundle_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/baton-org/baton/clients/go/bundle"
)

// What RegisterDags prints goes to stderr, never to stdout: a worker reads go-plugin's handshake as
// the first line of a bundle's stdout (a line printed before it made the worker refuse the bundle,
// "Unrecognized remote plugin message"), and --describe's JSON is read by programs.
func TestServe_PrintsOfRegisterDags_GoToStderr(t *testing.T) {
	dir := t.TempDir()
	files := map[string]*os.File{}
	for _, name := range []string{"stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		files[name] = f
	}
	savedOut, savedErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = files["stdout"], files["stderr"]
	defer func() { os.Stdout, os.Stderr = savedOut, savedErr }()

	var out, errOut bytes.Buffer
	code := bundle.ServeArgs(registered(func(r bundle.Registry) error {
		fmt.Println("registering my DAGs")
		r.AddDag("chatty").AddTask(extract)
		return nil
	}), []string{"--describe"}, &out, &errOut, bundle.WithName("chatty"))
	after := os.Stdout
	os.Stdout, os.Stderr = savedOut, savedErr

	if code != 0 {
		t.Fatalf("exit status %d: %s", code, errOut.String())
	}
	var described bundle.Described
	if err := json.Unmarshal(out.Bytes(), &described); err != nil || described.Name != "chatty" {
		t.Fatalf("--describe printed %q (%v)", out.String(), err)
	}
	for name, want := range map[string]string{"stdout": "", "stderr": "registering my DAGs\n"} {
		got, err := os.ReadFile(files[name].Name())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	if after != files["stdout"] {
		t.Error("os.Stdout was not given back")
	}
}
