// Package bundle is the Go authoring API of Baton: a bundle registers DAGs and their tasks, and
// its binary serves them to the Go worker.
//
//	type tutorial struct{}
//
//	func (tutorial) RegisterDags(dags bundle.Registry) error {
//		dag := dags.AddDag("tutorial_dag", bundle.Queue("go"))
//		dag.AddTask(transform)
//		return nil
//	}
//
//	func transform(ctx context.Context, client sdk.VariableClient) error {
//		val, err := client.GetVariable(ctx, "my_variable")
//		...
//	}
//
//	func main() { bundle.Serve(tutorial{}, bundle.WithName("tutorial")) }
//
// A task function receives what it names, by type: context.Context (cancelled when the attempt
// must stop), *slog.Logger (its records are the task's log in Baton), sdk.RunContext, and the
// clients of package sdk. Its other parameters receive, in order, the return values of its
// upstream tasks (JSON). It may return nothing, an error, a value (stored as its XCom
// "return_value"), or both. An error fails the attempt, and so does a panic (its stack is logged).
//
// Every mistake — a duplicate or malformed id, an unknown upstream task, a cycle, a function
// that cannot be served — is reported when the bundle registers, naming the DAG and the task.
package bundle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// Bundle is a set of DAGs and task functions, compiled into one binary.
type Bundle interface {
	// RegisterDags adds the bundle's DAGs and tasks to the registry.
	RegisterDags(registry Registry) error
}

// Registry is what a bundle registers its DAGs with.
type Registry interface {
	// AddDag adds a DAG this bundle describes; the worker registers its description with Baton.
	AddDag(dagID string, opts ...DagOption) *Dag
	// ImplementDag names a DAG that another bundle describes (one in another language, say),
	// some of whose tasks this bundle implements. Its tasks take no settings here: those are
	// part of the description, where the DAG is defined.
	ImplementDag(dagID string) *Dag
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$`)

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%s %q is not a valid id: use 1 to 250 letters, digits, '_', '.' or '-', not starting with '.' or '-'", kind, id)
	}
	return nil
}

// Dag is a DAG of the bundle; add its tasks with AddTask.
type Dag struct {
	registry    *registry
	id          string
	implemented bool // described by another bundle
	defaults    settings
	description *string
	cron        *string
	interval    *time.Duration
	startAt     *time.Time
	tasks       []*Task
	byID        map[string]*Task
}

// ID is the DAG's id.
func (d *Dag) ID() string { return d.id }

// Task is a task of a DAG, as AddTask added it.
type Task struct {
	dag      *Dag
	id       string
	idGiven  bool
	fn       *taskrun.Func
	settings settings
	upstream []upstreamRef
}

type upstreamRef struct {
	task *Task
	id   string
}

func (u upstreamRef) taskID() string {
	if u.task != nil {
		return u.task.id
	}
	return u.id
}

// ID is the task's id.
func (t *Task) ID() string { return t.id }

type registry struct {
	dags []*Dag
	byID map[string]*Dag
	errs []error
}

func newRegistry() *registry { return &registry{byID: map[string]*Dag{}} }

func (r *registry) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (r *registry) add(dagID string, implemented bool) *Dag {
	d := &Dag{registry: r, id: dagID, implemented: implemented, byID: map[string]*Task{}}
	if err := checkID("DAG id", dagID); err != nil {
		r.fail("%w", err)
		return d // kept out of the bundle; its tasks are still checked
	}
	if _, taken := r.byID[dagID]; taken {
		r.fail("DAG %q is added twice", dagID)
		return d
	}
	r.byID[dagID] = d
	r.dags = append(r.dags, d)
	return d
}

func (r *registry) AddDag(dagID string, opts ...DagOption) *Dag {
	d := r.add(dagID, false)
	for _, opt := range opts {
		if opt != nil {
			opt.applyDag(d)
		}
	}
	if err := d.defaults.check(); err != nil {
		r.fail("DAG %q: %w", dagID, err)
	}
	if d.cron != nil && d.interval != nil {
		r.fail("DAG %q: give Schedule or Every, not both", dagID)
	}
	if d.cron != nil && strings.TrimSpace(*d.cron) == "" {
		r.fail("DAG %q: the cron schedule is empty", dagID)
	}
	if d.interval != nil && *d.interval < time.Second {
		r.fail("DAG %q: the interval must be at least 1s, not %s", dagID, *d.interval)
	}
	if d.startAt != nil && d.cron == nil && d.interval == nil {
		r.fail("DAG %q: StartAt needs a schedule (Schedule or Every)", dagID)
	}
	return d
}

func (r *registry) ImplementDag(dagID string) *Dag { return r.add(dagID, true) }

// AddTask adds a task running fn; its id is the function's name unless TaskID gives one.
func (d *Dag) AddTask(fn any, opts ...TaskOption) *Task {
	t := &Task{dag: d}
	for _, opt := range opts {
		if opt != nil {
			opt.applyTask(t)
		}
	}
	if !t.idGiven {
		name, ok := taskrun.FuncName(fn)
		if !ok {
			d.registry.fail("DAG %q: a task of %T has no name (a function literal?): give it one with bundle.TaskID", d.id, fn)
			return t
		}
		t.id = name
	}
	where := fmt.Sprintf("DAG %q, task %q", d.id, t.id)
	if err := checkID("task id", t.id); err != nil {
		d.registry.fail("DAG %q: %w", d.id, err)
		return t
	}
	if _, taken := d.byID[t.id]; taken {
		d.registry.fail("%s: the DAG already has a task of that id", where)
		return t
	}
	d.byID[t.id] = t
	d.tasks = append(d.tasks, t)
	fnInfo, err := taskrun.Analyze(fn)
	if err != nil {
		d.registry.fail("%s: %w", where, err)
	}
	t.fn = fnInfo
	if d.implemented && !t.settings.empty() {
		d.registry.fail("%s: DAG %q is described by another bundle: set retries, queues and the like there", where, d.id)
	}
	if err := t.settings.check(); err != nil {
		d.registry.fail("%s: %w", where, err)
	}
	return t
}

// check reports what is wrong with the registered DAGs and tasks: upstream tasks that are
// unknown, the task itself, or of another DAG; cycles; data parameters without an upstream task.
func (r *registry) check() error {
	for _, d := range r.dags {
		for _, t := range d.tasks {
			where := fmt.Sprintf("DAG %q, task %q", d.id, t.id)
			seen := map[string]bool{}
			for _, u := range t.upstream {
				switch {
				case u.task == nil && checkID("upstream task id", u.id) != nil:
					r.fail("%s: %w", where, checkID("upstream task id", u.id))
				case u.task != nil && u.task.dag != d:
					r.fail("%s: upstream task %q belongs to another DAG (%q)", where, u.task.id, u.task.dag.id)
				case u.taskID() == t.id:
					r.fail("%s: a task cannot be its own upstream task", where)
				case !d.implemented && d.byID[u.taskID()] == nil:
					r.fail("%s: upstream task %q is not a task of the DAG", where, u.taskID())
				case seen[u.taskID()]:
					r.fail("%s: upstream task %q is given twice", where, u.taskID())
				}
				seen[u.taskID()] = true
			}
			if t.fn != nil && t.fn.DataParams() > len(t.upstream) {
				r.fail("%s: the function takes %d data parameter(s) but the task has %d upstream task(s); each data parameter receives, in order, the return value of one upstream task", where, t.fn.DataParams(), len(t.upstream))
			}
		}
		if !d.implemented {
			if cycle := findCycle(d); cycle != nil {
				r.fail("DAG %q: tasks form a cycle: %s", d.id, strings.Join(cycle, " <- "))
			}
			if len(d.tasks) == 0 {
				r.fail("DAG %q has no tasks", d.id)
			}
		}
	}
	return errors.Join(r.errs...)
}

// findCycle returns the ids of a cycle of upstream links (first id repeated last), or nil.
func findCycle(d *Dag) []string {
	const onPath, done = 1, 2
	state := map[string]int{}
	var path []string
	var visit func(id string) []string
	visit = func(id string) []string {
		state[id] = onPath
		path = append(path, id)
		if t := d.byID[id]; t != nil {
			for _, u := range t.upstream {
				up := u.taskID()
				switch state[up] {
				case onPath:
					for i, p := range path {
						if p == up {
							return append(append([]string(nil), path[i:]...), up)
						}
					}
				case 0:
					if d.byID[up] != nil {
						if cycle := visit(up); cycle != nil {
							return cycle
						}
					}
				}
			}
		}
		state[id] = done
		path = path[:len(path)-1]
		return nil
	}
	for _, t := range d.tasks {
		if state[t.id] == 0 {
			if cycle := visit(t.id); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}
