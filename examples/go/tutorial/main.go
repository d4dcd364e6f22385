// The Go tutorial's bundle (docs/go-sdk.md): three tasks passing data along, one of them
// failing its first try on purpose.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
)

type tutorial struct{}

func (tutorial) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.AddDag("tutorial_dag", bundle.Queue("go"), bundle.Description("Greet a few people, in Go."))
	people := dag.AddTask(names)
	greetings := dag.AddTask(transform, bundle.Upstream(people), bundle.Retries(2), bundle.RetryDelay(time.Second))
	dag.AddTask(show, bundle.Upstream(greetings))
	return nil
}

// names is the first task: its return value becomes its XCom.
func names() []string {
	return []string{"Ada", "Grace", "Linus"}
}

// transform receives what it asks for by type; `people` is names' return value.
func transform(ctx context.Context, client sdk.VariableClient, run sdk.RunContext, log *slog.Logger, people []string) ([]string, error) {
	if run.TryNumber == 1 {
		return nil, errors.New("the greeting service timed out (this example fails its first try on purpose)")
	}
	salutation := "Hello"
	val, err := client.GetVariable(ctx, "salutation")
	switch {
	case err == nil:
		salutation = fmt.Sprint(val)
		log.Info("obtained variable", "key", "salutation", "value", val)
	case !errors.Is(err, baton.ErrNotFound):
		return nil, err
	}
	lines := make([]string, len(people))
	for i, name := range people {
		lines[i] = fmt.Sprintf("%s, %s!", salutation, name)
	}
	return lines, nil
}

func show(log *slog.Logger, run sdk.RunContext, lines []string) {
	for _, line := range lines {
		log.Info(line)
	}
	log.Info("done", "run_id", run.RunID, "try", run.TryNumber)
}

func main() {
	bundle.Serve(tutorial{}, bundle.WithName("tutorial"))
}
