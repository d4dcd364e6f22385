// A bundle of the situations a worker must survive, for the integration test: the talk's
// example as written, a task the server stops (409), a panic, a task whose process is killed.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
)

type scenarios struct{}

func (m *scenarios) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.AddDag("talk_dag", bundle.Queue("go"))
	dag.AddTask(transform)

	stale := dagbag.AddDag("stale_dag", bundle.Queue("stale"), bundle.Retries(1), bundle.RetryDelay(time.Second))
	stale.AddTask(waitForStop)

	panics := dagbag.AddDag("panic_dag", bundle.Queue("go"))
	panics.AddTask(explode)

	killed := dagbag.AddDag("kill_dag", bundle.Queue("go"), bundle.Retries(1), bundle.RetryDelay(time.Second))
	killed.AddTask(hang)
	return nil
}

// transform is the talk's task, as written there (with the logger it logs to).
func transform(ctx context.Context, client sdk.VariableClient, log *slog.Logger) error {
	val, err := client.GetVariable(ctx, "my_variable")
	if err != nil {
		return err
	}
	log.Info("Obtained variable", "my_variable", val)
	return nil
}

// waitForStop waits, on its first try, until its context is cancelled, and writes the time of
// that into the file the run's params name.
func waitForStop(ctx context.Context, run sdk.RunContext, log *slog.Logger) error {
	if run.TryNumber > 1 {
		return nil
	}
	log.Info("waiting to be stopped")
	<-ctx.Done()
	marker := fmt.Sprint(run.Params["marker"])
	return os.WriteFile(marker, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o600)
}

func explode(run sdk.RunContext) {
	panic("boom in " + run.TaskID)
}

// hang blocks on its first try (its process is killed under it); later tries succeed.
func hang(ctx context.Context, run sdk.RunContext) (string, error) {
	if run.TryNumber == 1 {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return "survived", nil
}

func main() {
	bundle.Serve(&scenarios{}, bundle.WithName("scenarios"))
}
