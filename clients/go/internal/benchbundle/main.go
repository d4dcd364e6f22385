// The Go worker benchmark's bundle (server/benchmarks/bench_go_worker.py): one DAG of
// independent no-op tasks, so that what is measured is the worker's and the API's own cost.
package main

import (
	"fmt"

	"github.com/baton-org/baton/clients/go/bundle"
)

// Tasks is the number of no-op tasks of the DAG bench_noop.
const Tasks = 500

type noops struct{}

func (noops) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.AddDag("bench_noop", bundle.Queue("bench"))
	for i := range Tasks {
		dag.AddTask(noop, bundle.TaskID(fmt.Sprintf("noop_%03d", i)))
	}
	return nil
}

func noop() {}

func main() {
	bundle.Serve(noops{}, bundle.WithName("bench"))
}
