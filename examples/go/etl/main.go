// The Go half of the demo's example_etl DAG (examples/python/example_etl.py describes the DAG):
// this bundle implements its first task, extract, whose orders the Python tasks transform.
package main

import (
	"log/slog"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
)

// Order is one order, as the Python tasks downstream read it (JSON).
type Order struct {
	ID       int     `json:"id"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type etl struct{}

func (etl) RegisterDags(dagbag bundle.Registry) error {
	// The DAG is described in Python; its Python stub names this task's entry point,
	// "etl:example_etl/extract".
	dagbag.ImplementDag("example_etl").AddTask(extract)
	return nil
}

func extract(log *slog.Logger, run sdk.RunContext) []Order {
	orders := []Order{
		{ID: 1, Amount: 120.0, Currency: "EUR"},
		{ID: 2, Amount: 80.5, Currency: "EUR"},
		{ID: 3, Amount: 42.0, Currency: "EUR"},
	}
	log.Info("extracted orders in Go", "orders", len(orders), "run_id", run.RunID)
	return orders
}

func main() {
	bundle.Serve(etl{}, bundle.WithName("etl"))
}
