// Tasks as RPC: an inventory service (net/http) that serves its own DAG's tasks from its own
// process. The tasks run in the service's goroutines, so they share its state: its stock.
//
//	BATON_SERVER_URL=... BATON_WORKER_TOKEN=... go run ./inventory
//	curl 127.0.0.1:8090/stock                 # {"widgets":3}
//	baton runs trigger go_restock --wait      # tops the stock up to the variable stock_target (10)
//	curl 127.0.0.1:8090/stock                 # {"widgets":10}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
	"github.com/baton-org/baton/clients/go/worker"
)

// inventory is the service's state, which its HTTP handlers and its tasks share.
type inventory struct {
	mu    sync.Mutex
	stock map[string]int
}

func (inv *inventory) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.AddDag("go_restock", bundle.Queue("inventory"),
		bundle.Description("Top the stock up to the variable stock_target (10 by default)."))
	missing := dag.AddTask(inv.shortfall)
	dag.AddTask(inv.order, bundle.Upstream(missing))
	return nil
}

func (inv *inventory) shortfall(ctx context.Context, vars sdk.VariableClient) (int, error) {
	target := 10
	if err := vars.UnmarshalVariable(ctx, "stock_target", &target); err != nil && !errors.Is(err, baton.ErrNotFound) {
		return 0, err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return max(0, target-inv.stock["widgets"]), nil
}

func (inv *inventory) order(log *slog.Logger, missing int) int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.stock["widgets"] += missing
	log.Info(fmt.Sprintf("ordered %d widgets; %d in stock", missing, inv.stock["widgets"]))
	return inv.stock["widgets"]
}

func (inv *inventory) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(inv.stock)
}

func main() {
	inv := &inventory{stock: map[string]int{"widgets": 3}}
	catalog, err := bundle.Load(inv, bundle.WithName("inventory"))
	if err != nil {
		log.Fatal(err)
	}
	w, err := worker.New(worker.Config{
		ServerURL: os.Getenv("BATON_SERVER_URL"),
		Token:     os.Getenv("BATON_WORKER_TOKEN"),
		InProcess: []*bundle.Catalog{catalog},
		Queues:    []string{"inventory"},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := w.Start(ctx); err != nil { // returns once the worker and its DAG are registered
		log.Fatal(err)
	}

	addr := os.Getenv("INVENTORY_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /stock", inv)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(listener) }()
	log.Printf("serving the stock on http://%s/stock and the go_restock DAG's tasks; Ctrl-C stops", listener.Addr())

	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = server.Shutdown(shutdown)
	if err := w.Stop(shutdown); err != nil { // drains: no new claims; running tasks finish
		log.Fatal(err)
	}
}
