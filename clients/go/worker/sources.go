package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/internal/bundleplugin"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// runner runs attempts of one bundle: in its plugin process, or in this process.
type runner interface {
	// pid is the pid reported to the server for the attempts it runs.
	pid() int
	// run runs one started attempt until it ends or ctx is cancelled.
	run(ctx context.Context, a runRequest) taskrun.Outcome
	// tokenRefreshed passes on an attempt's refreshed execution token.
	tokenRefreshed(taskInstanceID, token string)
}

type runRequest struct {
	client     *baton.Client // the attempt's, with its execution token
	serverURL  string
	entryPoint string
	runContext []byte // the run context's JSON
	sink       taskrun.Sink
}

// registration is what one bundle registers with the server.
type registration struct {
	bundle string
	dags   []api.DagDescription
}

// source is where the worker's tasks come from.
type source interface {
	registrations() []registration
	// resolve finds the runner of an entry point, or says why there is none.
	resolve(entryPoint string) (runner, error)
	close()
}

func bundleOf(entryPoint string) string {
	name, _, _ := strings.Cut(entryPoint, ":")
	return name
}

// inProcess runs the tasks of bundles loaded into this process (tasks as RPC).
type inProcess struct {
	catalogs map[string]*bundle.Catalog
}

func newInProcess(catalogs []*bundle.Catalog) (*inProcess, error) {
	s := &inProcess{catalogs: map[string]*bundle.Catalog{}}
	for _, c := range catalogs {
		if _, taken := s.catalogs[c.Name()]; taken {
			return nil, fmt.Errorf("two bundles are named %q", c.Name())
		}
		s.catalogs[c.Name()] = c
	}
	return s, nil
}

func (s *inProcess) registrations() []registration {
	var out []registration
	for _, name := range sortedKeys(s.catalogs) {
		out = append(out, registration{bundle: name, dags: s.catalogs[name].Dags()})
	}
	return out
}

func (s *inProcess) resolve(entryPoint string) (runner, error) {
	c, ok := s.catalogs[bundleOf(entryPoint)]
	if !ok {
		return nil, fmt.Errorf("this worker has no bundle named %q (entry point %q)", bundleOf(entryPoint), entryPoint)
	}
	return inProcessRunner{catalog: c}, nil
}

func (s *inProcess) close() {}

type inProcessRunner struct{ catalog *bundle.Catalog }

func (inProcessRunner) pid() int                      { return os.Getpid() }
func (inProcessRunner) tokenRefreshed(string, string) {} // the task shares its supervisor's client

func (r inProcessRunner) run(ctx context.Context, a runRequest) taskrun.Outcome {
	task, ok := r.catalog.Task(a.entryPoint)
	if !ok {
		return missingTask(r.catalog.Name(), a)
	}
	run, err := taskrun.ParseRunContext(a.runContext)
	if err != nil {
		return taskrun.Outcome{State: taskrun.Failed, Message: err.Error()}
	}
	done := make(chan taskrun.Outcome, 1)
	go func() {
		done <- taskrun.Execute(ctx, taskrun.Attempt{Task: task, Run: run, API: a.client, Sink: a.sink})
	}()
	select {
	case outcome := <-done:
		return outcome
	case <-ctx.Done():
		// A goroutine cannot be stopped: a task that ignores its context is abandoned (its result
		// is ignored; its later API calls are refused, the attempt being over).
		return taskrun.Outcome{State: taskrun.Failed, Message: "the task was stopped"}
	}
}

func missingTask(bundleName string, a runRequest) taskrun.Outcome {
	message := fmt.Sprintf("bundle %s has no task with the entry point %q (has the bundle changed since this DAG version was registered?)", bundleName, a.entryPoint)
	a.sink(taskrun.Record{Level: "error", Message: message, Fields: map[string]any{"logger": taskrun.SDKLogger}})
	return taskrun.Outcome{State: taskrun.Failed, Message: message}
}

// plugins runs the tasks of bundle binaries found in a folder, each started once as a plugin
// and started again when it dies.
type plugins struct {
	log     *slog.Logger
	env     []string
	bundles map[string]*pluginBundle // by bundle name
}

type pluginBundle struct {
	path string
	mu   sync.Mutex
	proc *bundleplugin.Process
}

// findBundles lists the executable files of a folder (not those starting with '.' or '_').
func findBundles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle folder: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Mode()&0o111 == 0 {
			continue
		}
		path, err := filepath.Abs(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("bundle folder %s holds no executable bundle binary (build one with `go build -o %s/NAME .`)", dir, dir)
	}
	return paths, nil
}

func startPlugins(dir string, env []string, log *slog.Logger) (*plugins, error) {
	paths, err := findBundles(dir)
	if err != nil {
		return nil, err
	}
	s := &plugins{log: log, env: env, bundles: map[string]*pluginBundle{}}
	for _, path := range paths {
		proc, err := bundleplugin.Start(path, env, log)
		if err != nil {
			s.close()
			return nil, err
		}
		if other, taken := s.bundles[proc.Name]; taken {
			proc.Kill()
			s.close()
			return nil, fmt.Errorf("bundles %s and %s are both named %q", other.path, path, proc.Name)
		}
		if proc.APIVersion != api.APIVersion {
			log.Warn("bundle built against another API version", "bundle", proc.Name, "bundle_api_version", proc.APIVersion, "worker_api_version", api.APIVersion)
		}
		log.Info("bundle loaded", "bundle", proc.Name, "version", proc.Version, "path", path, "pid", proc.Pid,
			"dags", len(proc.Dags), "tasks", len(proc.EntryPoints))
		s.bundles[proc.Name] = &pluginBundle{path: path, proc: proc}
	}
	return s, nil
}

func (s *plugins) registrations() []registration {
	var out []registration
	for _, name := range sortedKeys(s.bundles) {
		b := s.bundles[name]
		out = append(out, registration{bundle: name, dags: b.proc.Dags})
	}
	return out
}

func (s *plugins) resolve(entryPoint string) (runner, error) {
	b, ok := s.bundles[bundleOf(entryPoint)]
	if !ok {
		return nil, fmt.Errorf("this worker has no bundle named %q (entry point %q)", bundleOf(entryPoint), entryPoint)
	}
	proc, err := b.live(s.env, s.log)
	if err != nil {
		return nil, err
	}
	return pluginRunner{proc: proc}, nil
}

// live is the bundle's process, started again if it has died.
func (b *pluginBundle) live(env []string, log *slog.Logger) (*bundleplugin.Process, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc != nil && !b.proc.Exited() {
		return b.proc, nil
	}
	if b.proc != nil {
		log.Warn("bundle process died; starting it again", "bundle", b.proc.Name, "pid", b.proc.Pid, "exit", b.proc.ExitDescription())
		b.proc.Kill() // what go-plugin and the process left behind: its socket's folder
	}
	proc, err := bundleplugin.Start(b.path, env, log)
	if err != nil {
		return nil, err
	}
	b.proc = proc
	return proc, nil
}

func (s *plugins) close() {
	for _, b := range s.bundles {
		b.mu.Lock()
		if b.proc != nil {
			b.proc.Kill()
		}
		b.mu.Unlock()
	}
}

type pluginRunner struct{ proc *bundleplugin.Process }

func (r pluginRunner) pid() int { return r.proc.Pid }

func (r pluginRunner) run(ctx context.Context, a runRequest) taskrun.Outcome {
	return r.proc.Execute(ctx, bundleplugin.Request{
		ServerURL: a.serverURL, Token: a.client.Token(), EntryPoint: a.entryPoint, RunContextJSON: a.runContext,
	}, a.sink)
}

func (r pluginRunner) tokenRefreshed(taskInstanceID, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.proc.UpdateToken(ctx, taskInstanceID, token) // a dead process needs no token
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// taskEnvironment is a bundle process's environment: the worker's, without Baton's settings and
// credentials; only the worker-side secrets meant for tasks (BATON_VAR_*, BATON_CONN_*) pass.
func taskEnvironment(environ []string) []string {
	var env []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "BATON_") && !strings.HasPrefix(kv, taskrun.VariablePrefix) && !strings.HasPrefix(kv, taskrun.ConnectionPrefix) {
			continue
		}
		env = append(env, kv)
	}
	return env
}
