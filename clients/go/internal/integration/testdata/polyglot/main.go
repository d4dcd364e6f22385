// The Go half of the polyglot DAG of the Python end-to-end tests
// (clients/python/tests/bundles/polyglot describes it): a Go task feeds a Python task, whose
// result feeds a Go task.
package main

import (
	"fmt"
	"log/slog"

	"github.com/baton-org/baton/clients/go/bundle"
)

type polyglot struct{}

// Reading is what produce hands to the Python task.
type Reading struct {
	Sensor string    `json:"sensor"`
	Values []float64 `json:"values"`
}

func (polyglot) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.ImplementDag("polyglot")
	dag.AddTask(produce)
	// consume's data parameter receives the return value of the Python task "double".
	dag.AddTask(consume, bundle.UpstreamIDs("double"))
	return nil
}

func produce(log *slog.Logger) Reading {
	log.Info("produced in Go")
	return Reading{Sensor: "s-1", Values: []float64{1.5, 2, 3}}
}

func consume(log *slog.Logger, doubled Reading) (string, error) {
	total := 0.0
	for _, v := range doubled.Values {
		total += v
	}
	summary := fmt.Sprintf("%s: %d values from Python, total %g", doubled.Sensor, len(doubled.Values), total)
	log.Info(summary)
	return summary, nil
}

func main() {
	bundle.Serve(polyglot{}, bundle.WithName("polyglot"))
}
