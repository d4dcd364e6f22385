package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundleplugin"
)

// Described is what a bundle binary prints for --describe: its identity, the descriptions of
// its DAGs as the worker registers them, and every entry point it can run.
type Described struct {
	Name        string               `json:"name"`
	Version     string               `json:"version"`
	APIVersion  string               `json:"api_version"`
	Dags        []api.DagDescription `json:"dags"`
	EntryPoints []string             `json:"entry_points"`
}

// Describe is the bundle's description.
func (c *Catalog) Describe() Described {
	dags := c.dags
	if dags == nil {
		dags = []api.DagDescription{}
	}
	return Described{Name: c.name, Version: c.version, APIVersion: api.APIVersion, Dags: dags, EntryPoints: c.EntryPoints()}
}

// Serve is the whole main function of a bundle binary. Started by the Go worker, it serves the
// bundle's tasks as a plugin; run with --describe, it prints the bundle's description as JSON
// (no worker, no server needed); run otherwise, it says what it is. A bundle that registers
// wrongly makes it exit with status 1, every mistake named.
func Serve(b Bundle, opts ...Option) {
	os.Exit(serve(b, os.Args[1:], os.Stdout, os.Stderr, opts...))
}

func serve(b Bundle, args []string, stdout, stderr io.Writer, opts ...Option) int {
	catalog, err := loadOffStdout(b, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	if bundleplugin.LaunchedByWorker() {
		bundleplugin.Serve(catalog)
		return 0
	}
	switch {
	case len(args) == 1 && (args[0] == "--describe" || args[0] == "-describe"):
		out, err := json.MarshalIndent(catalog.Describe(), "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "describing the bundle: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	case len(args) == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help"):
		usage(stdout, catalog)
		return 0
	}
	usage(stderr, catalog)
	return 2
}

func usage(w io.Writer, c *Catalog) {
	fmt.Fprintf(w, `%s (version %s) is a Baton DAG bundle: %d DAG(s), %d task(s), built for Baton API %s.

It is not run by hand: the Go worker starts it and runs its tasks.

  baton-go-worker --bundles DIR --queue QUEUE   serve the tasks of every bundle binary in DIR
  %s --describe   print the bundle's name, version and DAG descriptions as JSON
`, c.name, c.version, len(c.dags), len(c.tasks), api.APIVersion, filepath.Base(os.Args[0]))
}

// loadOffStdout loads the bundle with os.Stdout pointed at stderr: what RegisterDags (or code it
// calls) prints must not reach stdout, where a worker reads go-plugin's handshake as the first line
// (anything before it made the worker refuse the bundle: "Unrecognized remote plugin message") and
// where --describe writes JSON for programs to read.
func loadOffStdout(b Bundle, opts ...Option) (*Catalog, error) {
	saved := os.Stdout
	os.Stdout = os.Stderr
	defer func() { os.Stdout = saved }()
	return Load(b, opts...)
}
