// Package worker runs Baton tasks written in Go: it registers itself and its bundles' DAGs,
// claims workloads for its queues while it has free slots, runs each attempt, heartbeats it,
// ships its logs and reports its final state.
//
// Tasks come from bundle binaries in a folder, each started once as a hashicorp/go-plugin
// plugin (the baton-go-worker command), or from bundles loaded into this very process: "tasks as
// RPC", where an application serves its own DAG's tasks and they share its state.
//
// Stopping drains: no new claims; running tasks get the grace period to finish, then they are
// stopped and handed back (reported up_for_retry). Network errors never stop a worker: it
// retries with backoff until the server answers. A refused credential stops it, and so does a
// server older than this client ("upgrade the server").
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/bundle"
)

// maxDagsPerRegistration bounds one DAG registration request.
const maxDagsPerRegistration = 1000

// Config is how a worker runs. Give it BundleDir or InProcess.
type Config struct {
	// ServerURL is the Baton server's base URL.
	ServerURL string
	// Token is the worker credential (`baton-server create-worker-credential`).
	Token string
	// BundleDir is a folder of bundle binaries; each is started once, as a plugin.
	BundleDir string
	// InProcess are bundles whose tasks run inside this process (tasks as RPC).
	InProcess []*bundle.Catalog
	// Queues are the queues served (default: "default").
	Queues []string
	// Concurrency is how many attempts run at once (default 4).
	Concurrency int
	// Name is the worker's name (default: <hostname>-<pid>).
	Name string
	// HeartbeatInterval is how often the worker and each running attempt say they are alive
	// (default 5s; keep it well under the server's BATON_HEARTBEAT_TIMEOUT).
	HeartbeatInterval time.Duration
	// GracePeriod is how long running tasks may take to finish when the worker stops (default 60s).
	GracePeriod time.Duration
	// ClaimWait is how long one claim request waits for work on the server (default 10s).
	ClaimWait time.Duration
	// Logger receives the worker's own log (default slog.Default()).
	Logger *slog.Logger
	// Retry is the clients' retry policy for requests safe to repeat (default: baton.DefaultRetryPolicy for
	// the worker's own requests; baton.TaskRetryPolicy for its attempts', which in-process tasks share).
	Retry *baton.RetryPolicy
}

// Worker is a Baton worker for Go tasks.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	client   *baton.Client
	source   source
	hostname string
	unixUser string
	pid      int

	mu        sync.Mutex
	id        uuid.UUID
	running   map[*attempt]struct{}
	results   map[string]int
	slotFreed chan struct{}

	draining    chan struct{}
	drainOnce   sync.Once
	handBack    chan struct{}
	handOnce    sync.Once
	done        chan struct{}
	err         error
	started     bool
	attemptsRun sync.WaitGroup
}

var nameChars = regexp.MustCompile(`[^A-Za-z0-9_.\-]`)

// DefaultName is `<hostname>-<pid>`, as an id.
func DefaultName() string {
	host, _ := os.Hostname()
	name := nameChars.ReplaceAllString(fmt.Sprintf("%s-%d", host, os.Getpid()), "-")
	for len(name) > 0 && (name[0] == '.' || name[0] == '-') {
		name = name[1:]
	}
	return name
}

// New checks the configuration; Start (or Run) starts serving.
func New(cfg Config) (*Worker, error) {
	if cfg.ServerURL == "" || cfg.Token == "" {
		return nil, errors.New("worker: a server URL and a worker credential are required")
	}
	if (cfg.BundleDir == "") == (len(cfg.InProcess) == 0) {
		return nil, errors.New("worker: give either a bundle folder (BundleDir) or in-process bundles (InProcess)")
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = []string{"default"}
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("worker: concurrency must be at least 1, not %d", cfg.Concurrency)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName()
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 5 * time.Second
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = 60 * time.Second
	}
	if cfg.ClaimWait <= 0 {
		cfg.ClaimWait = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Worker{
		cfg: cfg, log: cfg.Logger, pid: os.Getpid(),
		running: map[*attempt]struct{}{}, results: map[string]int{}, slotFreed: make(chan struct{}, 1),
		draining: make(chan struct{}), handBack: make(chan struct{}), done: make(chan struct{}),
	}
	w.hostname, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		w.unixUser = u.Username
	} else {
		w.unixUser = strconv.Itoa(os.Getuid())
	}
	client, err := baton.NewClient(cfg.ServerURL, cfg.Token, w.clientOptions()...)
	if err != nil {
		return nil, err
	}
	w.client = client
	return w, nil
}

func (w *Worker) clientOptions() []baton.Option {
	// A claim long-polls for ClaimWait: the request timeout leaves it room.
	opts := []baton.Option{baton.WithTimeout(w.cfg.ClaimWait + 30*time.Second)}
	if w.cfg.Retry != nil {
		opts = append(opts, baton.WithRetry(*w.cfg.Retry))
	}
	return opts
}

// attemptClientOptions configure an attempt's client, which tasks run in this process call the API
// through too: unless the worker was given a retry policy, the task's (WithTaskPatience).
func (w *Worker) attemptClientOptions() []baton.Option {
	if w.cfg.Retry != nil {
		return []baton.Option{baton.WithRetry(*w.cfg.Retry)}
	}
	return []baton.Option{baton.WithTaskPatience()}
}

// ID is the server's id of this worker, once registered.
func (w *Worker) ID() uuid.UUID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id
}

// Results counts the attempts that ended, by the state reported ("not_reported" when none was).
func (w *Worker) Results() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.results))
	for k, v := range w.results {
		out[k] = v
	}
	return out
}

// Start loads the bundles, registers the worker and its DAGs (retrying while the server cannot
// be reached, until ctx ends), and serves in the background until Stop.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("worker: already started")
	}
	w.started = true
	w.mu.Unlock()
	src, err := w.load()
	if err != nil {
		return err
	}
	w.source = src
	if err := w.register(ctx); err != nil {
		src.close()
		return err
	}
	go w.serve()
	return nil
}

func (w *Worker) load() (source, error) {
	if w.cfg.BundleDir != "" {
		return startPlugins(w.cfg.BundleDir, taskEnvironment(os.Environ()), w.log)
	}
	return newInProcess(w.cfg.InProcess)
}

// until calls fn until it succeeds, retrying transport errors and 5xx answers with backoff;
// a refused credential or an unserved API version is returned at once.
func (w *Worker) until(ctx context.Context, what string, fn func(context.Context) error) error {
	delay := 500 * time.Millisecond
	for {
		err := fn(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, baton.ErrVersionMismatch):
			return fmt.Errorf("worker: %s: %w", what, err)
		case errors.Is(err, baton.ErrUnauthorized) || errors.Is(err, baton.ErrForbidden):
			return fmt.Errorf("worker: the server refused the worker credential while %s: %w", what, err)
		case !retryable(err):
			return fmt.Errorf("worker: %s: %w", what, err)
		}
		w.log.Warn("retrying", "what", what, "in", delay, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker: %s: %w (last error: %v)", what, ctx.Err(), err)
		case <-w.draining:
			return fmt.Errorf("worker: stopped while %s", what)
		case <-time.After(delay):
		}
		delay = min(delay*2, 15*time.Second)
	}
}

func (w *Worker) registerWorker(ctx context.Context) error {
	return w.until(ctx, "registering", func(ctx context.Context) error {
		host := w.hostname
		registered, err := w.client.RegisterWorker(ctx, api.RegisterWorkerPayload{
			Name: w.cfg.Name, Queues: w.cfg.Queues, Capacity: w.cfg.Concurrency, Runtime: bundle.Runtime, Hostname: &host,
		})
		if err == nil {
			w.mu.Lock()
			w.id = registered.Id
			w.mu.Unlock()
		}
		return err
	})
}

func (w *Worker) register(ctx context.Context) error {
	if err := w.registerWorker(ctx); err != nil {
		return err
	}
	dags := 0
	for _, reg := range w.source.registrations() {
		name := reg.bundle
		for start := 0; start < len(reg.dags); start += maxDagsPerRegistration {
			chunk := reg.dags[start:min(start+maxDagsPerRegistration, len(reg.dags))]
			err := w.until(ctx, "registering DAGs", func(ctx context.Context) error {
				_, err := w.client.RegisterDags(ctx, api.RegisterDagsPayload{Dags: chunk, BundleName: &name})
				return err
			})
			if err != nil {
				return fmt.Errorf("%w (bundle %s)", err, name)
			}
		}
		dags += len(reg.dags)
	}
	w.log.Info("registered worker", "name", w.cfg.Name, "id", w.ID(), "queues", w.cfg.Queues, "server", w.cfg.ServerURL,
		"dags", dags, "slots", w.cfg.Concurrency)
	return nil
}

// Stop drains (no new claims; running tasks get the grace period, then are handed back), ends
// the bundle processes and returns what stopped the worker, if anything did. It returns early,
// when ctx ends, through HandBack.
func (w *Worker) Stop(ctx context.Context) error {
	w.Drain()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.HandBack()
		<-w.done
	}
	return w.err
}

// Drain stops claiming; running tasks finish (handed back after the grace period); then serving ends.
func (w *Worker) Drain() { w.drainOnce.Do(func() { close(w.draining) }) }

// HandBack stops running tasks now and reports them up_for_retry (a second SIGTERM), and cuts every
// wait for the server short: a start, the last log lines or a final state the server has not taken
// gets one last try of up to 5 s, then is given up (the server's heartbeat timeout frees an attempt
// left unreported, its claim timeout one left unstarted).
func (w *Worker) HandBack() {
	w.Drain()
	w.handOnce.Do(func() { close(w.handBack) })
}

// Done is closed once the worker has stopped.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Err is what stopped the worker, once Done is closed (nil for a drain).
func (w *Worker) Err() error { return w.err }

// Run serves until ctx ends, then drains; it returns what stopped the worker, if anything did.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-w.done:
	}
	return w.Stop(context.Background())
}

func (w *Worker) serve() {
	beatCtx, stopBeat := context.WithCancel(context.Background())
	go w.heartbeat(beatCtx)
	err := w.claimLoop()
	if err != nil {
		// No more claims, but what runs may still finish: task tokens are not the worker's.
		w.log.Error("worker stopping", "error", err)
		w.Drain()
	}
	w.drainRunning()
	stopBeat()
	w.source.close()
	w.err = err
	w.log.Info("worker stopped", "name", w.cfg.Name)
	close(w.done)
}

func (w *Worker) heartbeat(ctx context.Context) {
	every(ctx, w.cfg.HeartbeatInterval, func() bool {
		_, err := w.client.HeartbeatWorker(ctx, w.ID())
		switch {
		case errors.Is(err, baton.ErrNotFound):
			w.log.Warn("the server no longer knows this worker: registering again")
			_ = w.registerWorker(ctx)
		case err != nil && ctx.Err() == nil:
			w.log.Warn("worker heartbeat failed", "error", err)
		}
		return true
	})
}

func (w *Worker) free() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.Concurrency - len(w.running)
}

func (w *Worker) claimLoop() error {
	delay := 500 * time.Millisecond
	for {
		select {
		case <-w.draining:
			return nil
		default:
		}
		free := w.free()
		if free <= 0 {
			select {
			case <-w.slotFreed:
			case <-w.draining:
			}
			continue
		}
		workloads, err := w.claim(free)
		switch {
		case err == nil:
			delay = 500 * time.Millisecond
		case errors.Is(err, context.Canceled):
			return nil // draining
		case errors.Is(err, baton.ErrNotFound):
			w.log.Warn("the server no longer knows this worker: registering again")
			if err := w.registerWorker(context.Background()); err != nil && !isStopped(w) {
				return err
			}
			continue
		case errors.Is(err, baton.ErrUnauthorized) || errors.Is(err, baton.ErrForbidden):
			return fmt.Errorf("the server refused the worker credential: %w", err)
		case errors.Is(err, baton.ErrVersionMismatch):
			return err
		default:
			w.log.Warn("claiming failed", "in", delay, "error", err)
			select {
			case <-w.draining:
			case <-time.After(delay):
			}
			delay = min(delay*2, 15*time.Second)
			continue
		}
		for _, wl := range workloads {
			w.launch(wl)
		}
	}
}

func isStopped(w *Worker) bool {
	select {
	case <-w.draining:
		return true
	default:
		return false
	}
}

// claim asks for up to free workloads, long-polling; a drain cancels the request.
func (w *Worker) claim(free int) ([]api.ExecuteTaskWorkload, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.draining:
			cancel()
		case <-ctx.Done():
		}
	}()
	maxWorkloads := min(free, 100)
	wait := float32(w.cfg.ClaimWait.Seconds())
	// What this worker holds: a workload the server assigned to it whose claim answer was lost is
	// not listed, so it goes back to the queue now instead of after the claim timeout.
	body := api.ClaimWorkloadsPayload{MaxWorkloads: &maxWorkloads, WaitSeconds: &wait}
	if held, err := json.Marshal(map[string]any{"held_task_instance_ids": w.held()}); err == nil {
		// Through JSON, as startPayload: a model before API version 2026-12-02 has no such field.
		_ = json.Unmarshal(held, &body)
	}
	claimed, err := w.client.ClaimWorkloads(ctx, w.ID(), body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Canceled
		}
		return nil, err
	}
	return claimed.Workloads, nil
}

// held lists the task instances of the workloads this worker holds: claimed and not yet reported.
func (w *Worker) held() []uuid.UUID {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]uuid.UUID, 0, len(w.running))
	for a := range w.running {
		ids = append(ids, a.workload.TaskInstance.Id)
	}
	return ids
}

func (w *Worker) launch(wl api.ExecuteTaskWorkload) {
	a := newAttempt(w, wl)
	w.log.Info("claimed", "attempt", a.label)
	w.mu.Lock()
	w.running[a] = struct{}{}
	w.mu.Unlock()
	w.attemptsRun.Add(1)
	go func() {
		defer w.attemptsRun.Done()
		state := a.run()
		w.mu.Lock()
		delete(w.running, a)
		w.results[state]++
		w.mu.Unlock()
		select {
		case w.slotFreed <- struct{}{}:
		default:
		}
	}()
}

// drainRunning waits for running attempts for the grace period (or until HandBack), then hands
// back those still running and waits for them to report.
func (w *Worker) drainRunning() {
	all := make(chan struct{})
	go func() {
		w.attemptsRun.Wait()
		close(all)
	}()
	if n := w.count(); n > 0 {
		w.log.Info("waiting for running tasks", "tasks", n, "grace_period", w.cfg.GracePeriod)
	}
	select {
	case <-all:
		return
	case <-w.handBack:
	case <-time.After(w.cfg.GracePeriod):
	}
	w.mu.Lock()
	running := make([]*attempt, 0, len(w.running))
	for a := range w.running {
		running = append(running, a)
	}
	w.mu.Unlock()
	w.log.Warn("handing back running tasks", "tasks", len(running))
	for _, a := range running {
		a.stop(stopHandBack, "the worker is shutting down: the attempt is handed back")
	}
	<-all
}

func (w *Worker) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.running)
}
