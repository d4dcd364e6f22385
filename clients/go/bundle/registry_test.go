package bundle_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
)

// registered is a bundle whose RegisterDags is a function.
type registered func(bundle.Registry) error

func (r registered) RegisterDags(reg bundle.Registry) error { return r(reg) }

func extract() []int                   { return []int{1, 2, 3} }
func total(rows []int) int             { return len(rows) }
func report(ctx context.Context) error { return nil }
func pair(a, b []int) int              { return len(a) + len(b) }

func load(t *testing.T, register func(bundle.Registry)) (*bundle.Catalog, error) {
	t.Helper()
	return bundle.Load(registered(func(r bundle.Registry) error {
		register(r)
		return nil
	}), bundle.WithName("tests"), bundle.WithVersion("1.0.0"))
}

func TestLoad_Mistakes_EachNamedWithItsDagAndTask(t *testing.T) {
	cases := []struct {
		name     string
		register func(bundle.Registry)
		want     string
	}{
		{"duplicate DAG", func(r bundle.Registry) {
			r.AddDag("d").AddTask(extract)
			r.AddDag("d").AddTask(total)
		}, `DAG "d" is added twice`},
		{"malformed DAG id", func(r bundle.Registry) { r.AddDag("no spaces").AddTask(extract) }, `DAG id "no spaces" is not a valid id`},
		{"duplicate task", func(r bundle.Registry) {
			d := r.AddDag("d")
			d.AddTask(extract)
			d.AddTask(extract)
		}, `DAG "d", task "extract": the DAG already has a task of that id`},
		{"malformed task id", func(r bundle.Registry) { r.AddDag("d").AddTask(extract, bundle.TaskID("-x")) }, `DAG "d": task id "-x" is not a valid id`},
		{"unknown upstream", func(r bundle.Registry) {
			r.AddDag("d").AddTask(total, bundle.UpstreamIDs("nowhere"))
		}, `DAG "d", task "total": upstream task "nowhere" is not a task of the DAG`},
		{"self upstream", func(r bundle.Registry) {
			r.AddDag("d").AddTask(report, bundle.UpstreamIDs("report"))
		}, `DAG "d", task "report": a task cannot be its own upstream task`},
		{"upstream of another DAG", func(r bundle.Registry) {
			other := r.AddDag("other").AddTask(extract)
			r.AddDag("d").AddTask(total, bundle.Upstream(other))
		}, `DAG "d", task "total": upstream task "extract" belongs to another DAG ("other")`},
		{"cycle", func(r bundle.Registry) {
			d := r.AddDag("d")
			d.AddTask(report, bundle.TaskID("a"), bundle.UpstreamIDs("c"))
			d.AddTask(report, bundle.TaskID("b"), bundle.UpstreamIDs("a"))
			d.AddTask(report, bundle.TaskID("c"), bundle.UpstreamIDs("b"))
		}, `DAG "d": tasks form a cycle: a <- c <- b <- a`},
		{"function literal without an id", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func() {})
		}, `DAG "d": a task of func() has no name (a function literal?): give it one with bundle.TaskID`},
		{"not a function", func(r bundle.Registry) {
			r.AddDag("d").AddTask(42, bundle.TaskID("answer"))
		}, `DAG "d", task "answer": a task must be a function, not int`},
		{"variadic", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func(...int) {}, bundle.TaskID("v"))
		}, `DAG "d", task "v": a variadic function`},
		{"channel parameter", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func(chan int) {}, bundle.TaskID("c"), bundle.UpstreamIDs("x"))
		}, `DAG "d", task "c": parameter 1 (chan int) cannot be served: not bindable from an upstream XCom: chan values are not JSON`},
		{"unknown interface", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func(io.Reader) {}, bundle.TaskID("r"))
		}, `DAG "d", task "r": parameter 1 (io.Reader) cannot be served: an interface other than`},
		{"three results", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func() (int, int, error) { return 0, 0, nil }, bundle.TaskID("three"))
		}, `DAG "d", task "three": a task returns nothing, an error, a value, or (value, error); not 3 values`},
		{"error first", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func() (error, int) { return nil, 0 }, bundle.TaskID("swapped"))
		}, `DAG "d", task "swapped": a function returning two values must return (value, error)`},
		{"result that is not JSON", func(r bundle.Registry) {
			r.AddDag("d").AddTask(func() func() { return nil }, bundle.TaskID("fn"))
		}, `DAG "d", task "fn": its result (func()) cannot become an XCom`},
		{"more data parameters than upstream tasks", func(r bundle.Registry) {
			d := r.AddDag("d")
			d.AddTask(pair, bundle.Upstream(d.AddTask(extract)))
		}, `DAG "d", task "pair": the function takes 2 data parameter(s) but the task has 1 upstream task(s)`},
		{"bad settings", func(r bundle.Registry) {
			r.AddDag("d").AddTask(extract, bundle.Retries(-1))
		}, `DAG "d", task "extract": retries must be from 0 to 100, not -1`},
		{"bad DAG default", func(r bundle.Registry) {
			r.AddDag("d", bundle.ExecutionTimeout(time.Millisecond)).AddTask(extract)
		}, `DAG "d": the execution timeout must be at least 1s`},
		{"bad queue", func(r bundle.Registry) { r.AddDag("d").AddTask(extract, bundle.Queue("a queue")) }, `DAG "d", task "extract": queue "a queue" is not a valid id`},
		{"bad trigger rule", func(r bundle.Registry) {
			r.AddDag("d").AddTask(extract, bundle.Trigger("sometimes"))
		}, `DAG "d", task "extract": trigger rule "sometimes" is not one of all_success, all_done, none_failed`},
		{"empty DAG", func(r bundle.Registry) { r.AddDag("d") }, `DAG "d" has no tasks`},
		{"schedule and interval", func(r bundle.Registry) {
			r.AddDag("d", bundle.Schedule("0 6 * * *"), bundle.Every(time.Hour)).AddTask(extract)
		}, `DAG "d": give Schedule or Every, not both`},
		{"settings on a task of a DAG described elsewhere", func(r bundle.Registry) {
			r.ImplementDag("py_dag").AddTask(extract, bundle.Retries(2))
		}, `DAG "py_dag", task "extract": DAG "py_dag" is described by another bundle`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.register)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing\n  %s\ngot\n  %v", tc.want, err)
			}
		})
	}
}

func TestLoad_EveryMistakeAtOnce(t *testing.T) {
	_, err := load(t, func(r bundle.Registry) {
		r.AddDag("d").AddTask(total, bundle.UpstreamIDs("nowhere"))
		r.AddDag("e").AddTask(func() {})
	})
	if err == nil || !strings.Contains(err.Error(), `"nowhere"`) || !strings.Contains(err.Error(), `DAG "e"`) {
		t.Fatalf("want both mistakes, got %v", err)
	}
}

func TestLoad_RegisterDagsError_Returned(t *testing.T) {
	boom := errors.New("no config")
	_, err := bundle.Load(registered(func(bundle.Registry) error { return boom }), bundle.WithName("tests"))
	if !errors.Is(err, boom) {
		t.Fatalf("want the bundle's own error, got %v", err)
	}
}

func transform(ctx context.Context, client sdk.VariableClient, log *slog.Logger, run sdk.RunContext, rows []int) ([]int, error) {
	return rows, nil
}

func TestLoad_Described_AsTheWorkerRegistersIt(t *testing.T) {
	catalog, err := load(t, func(r bundle.Registry) {
		d := r.AddDag("etl", bundle.Queue("go"), bundle.Retries(1), bundle.Description("numbers"), bundle.Every(90*time.Minute))
		first := d.AddTask(extract)
		d.AddTask(transform, bundle.Upstream(first), bundle.Retries(3), bundle.RetryDelay(1500*time.Millisecond),
			bundle.ExecutionTimeout(time.Minute), bundle.Trigger(bundle.NoneFailed), bundle.Queue("heavy"))
		r.ImplementDag("py_dag").AddTask(total, bundle.UpstreamIDs("py_task"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if catalog.Name() != "tests" || catalog.Version() != "1.0.0" {
		t.Fatalf("identity %s %s", catalog.Name(), catalog.Version())
	}
	if got := strings.Join(catalog.EntryPoints(), " "); got != "tests:etl/extract tests:etl/transform tests:py_dag/total" {
		t.Fatalf("entry points %s", got)
	}
	dags := catalog.Dags()
	if len(dags) != 1 || dags[0].DagId != "etl" || *dags[0].Description != "numbers" || *dags[0].Schedule.IntervalSeconds != 5400 {
		t.Fatalf("DAGs described: %+v", dags)
	}
	first, second := dags[0].Tasks[0], dags[0].Tasks[1]
	if first.EntryPoint != "tests:etl/extract" || first.Runtime != "go" || *first.Queue != "go" ||
		*first.Retries != 1 || *first.RetryDelaySeconds != 300 || first.ExecutionTimeoutSeconds != nil ||
		*first.TriggerRule != api.TriggerRuleAllSuccess || len(*first.UpstreamTaskIds) != 0 {
		t.Fatalf("extract, with the DAG's defaults: %+v", first)
	}
	if *second.Queue != "heavy" || *second.Retries != 3 || *second.RetryDelaySeconds != 2 || *second.ExecutionTimeoutSeconds != 60 ||
		*second.TriggerRule != api.TriggerRuleNoneFailed || strings.Join(*second.UpstreamTaskIds, ",") != "extract" {
		t.Fatalf("transform, with its own settings: %+v", second)
	}
}
