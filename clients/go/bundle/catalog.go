package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"time"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// Option configures how a bundle is loaded and served.
type Option func(*identity)

type identity struct {
	name    string
	version string
}

// WithName names the bundle: the first part of its tasks' entry points, so keep it stable
// (default: the binary's file name).
func WithName(name string) Option { return func(i *identity) { i.name = name } }

// WithVersion sets the version the bundle reports (default: the build's module version or
// VCS revision).
func WithVersion(version string) Option { return func(i *identity) { i.version = version } }

var notIDChars = regexp.MustCompile(`[^A-Za-z0-9_.\-]`)

func defaultName() string {
	exe, err := os.Executable()
	if err != nil {
		return "bundle"
	}
	name := notIDChars.ReplaceAllString(filepath.Base(exe), "_")
	for len(name) > 0 && (name[0] == '.' || name[0] == '-') {
		name = name[1:]
	}
	if name == "" {
		return "bundle"
	}
	return name
}

func defaultVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	revision, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return "devel"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified {
		revision += "-dirty"
	}
	return revision
}

// Catalog is a bundle after registration, checked: its identity, the descriptions of its DAGs,
// and the tasks it can run by entry point.
type Catalog struct {
	name    string
	version string
	dags    []api.DagDescription
	tasks   map[string]*taskrun.Task
}

// Load registers the bundle's DAGs and checks them, exactly as its binary does when the worker
// starts it; every mistake is in the error, each naming its DAG and task. Call it in the
// bundle's unit tests.
func Load(b Bundle, opts ...Option) (*Catalog, error) {
	id := identity{}
	for _, opt := range opts {
		opt(&id)
	}
	if id.name == "" {
		id.name = defaultName()
	}
	if id.version == "" {
		id.version = defaultVersion()
	}
	if err := checkID("bundle name", id.name); err != nil {
		return nil, err
	}
	r := newRegistry()
	if err := b.RegisterDags(r); err != nil {
		return nil, fmt.Errorf("bundle %s: RegisterDags: %w", id.name, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("bundle %s:\n%w", id.name, err)
	}
	c := &Catalog{name: id.name, version: id.version, tasks: map[string]*taskrun.Task{}}
	for _, d := range r.dags {
		for _, t := range d.tasks {
			upstream := make([]string, len(t.upstream))
			for i, u := range t.upstream {
				upstream[i] = u.taskID()
			}
			c.tasks[EntryPoint(id.name, d.id, t.id)] = &taskrun.Task{TaskID: t.id, Func: t.fn, Upstream: upstream}
		}
		if !d.implemented {
			c.dags = append(c.dags, describe(id.name, d))
		}
	}
	if len(c.tasks) == 0 {
		return nil, fmt.Errorf("bundle %s registers no DAG and no task", id.name)
	}
	return c, nil
}

// Runtime is the runtime Go tasks run in: Go workers claim only tasks of this runtime.
const Runtime = "go"

// EntryPoint is where a Go task lives, as the server stores it: `<bundle>:<dag_id>/<task_id>`.
// A DAG described in another language names its Go tasks by this.
func EntryPoint(bundleName, dagID, taskID string) string {
	return bundleName + ":" + dagID + "/" + taskID
}

// Name is the bundle's name.
func (c *Catalog) Name() string { return c.name }

// Version is the bundle's version.
func (c *Catalog) Version() string { return c.version }

// Dags are the descriptions of the DAGs the bundle describes, as the worker registers them.
func (c *Catalog) Dags() []api.DagDescription { return c.dags }

// EntryPoints are every task the bundle can run, sorted.
func (c *Catalog) EntryPoints() []string {
	out := make([]string, 0, len(c.tasks))
	for entry := range c.tasks {
		out = append(out, entry)
	}
	sort.Strings(out)
	return out
}

// Task is the task of an entry point; for the worker, which runs it.
func (c *Catalog) Task(entryPoint string) (*taskrun.Task, bool) {
	t, ok := c.tasks[entryPoint]
	return t, ok
}

func seconds(d time.Duration) int {
	s := int(d / time.Second)
	if time.Duration(s)*time.Second < d {
		s++
	}
	return s
}

func describe(bundleName string, d *Dag) api.DagDescription {
	desc := api.DagDescription{DagId: d.id, Description: d.description}
	if d.cron != nil || d.interval != nil {
		schedule := &api.DagSchedule{Cron: d.cron, StartAt: d.startAt}
		if d.interval != nil {
			every := seconds(*d.interval)
			schedule.IntervalSeconds = &every
		}
		desc.Schedule = schedule
	}
	for _, t := range d.tasks {
		s := t.settings.over(d.defaults)
		queue, retries, delay, rule := "default", 0, 300, AllSuccess
		if s.queue != nil {
			queue = *s.queue
		}
		if s.retries != nil {
			retries = *s.retries
		}
		if s.retryDelay != nil {
			delay = seconds(*s.retryDelay)
		}
		if s.triggerRule != nil {
			rule = *s.triggerRule
		}
		upstream := make([]string, len(t.upstream))
		for i, u := range t.upstream {
			upstream[i] = u.taskID()
		}
		apiRule := api.TriggerRule(rule)
		task := api.TaskDescription{
			TaskId:            t.id,
			EntryPoint:        EntryPoint(bundleName, d.id, t.id),
			Runtime:           Runtime,
			UpstreamTaskIds:   &upstream,
			Queue:             &queue,
			Retries:           &retries,
			RetryDelaySeconds: &delay,
			TriggerRule:       &apiRule,
		}
		if s.executionTimeout != nil {
			timeout := seconds(*s.executionTimeout)
			task.ExecutionTimeoutSeconds = &timeout
		}
		desc.Tasks = append(desc.Tasks, task)
	}
	return desc
}
