package integration_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
	"github.com/baton-org/baton/clients/go/worker"
)

// shop is an application's state, which the tasks it serves share.
type shop struct{ stock atomic.Int64 }

type order struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

func (s *shop) RegisterDags(dagbag bundle.Registry) error {
	dag := dagbag.AddDag("restock", bundle.Queue("in_process"))
	short := dag.AddTask(s.shortfall)
	placed := dag.AddTask(s.place, bundle.Upstream(short))
	dag.AddTask(s.confirm, bundle.Upstream(placed, short))
	dag.AddTask(s.audit, bundle.Upstream(placed))
	return nil
}

func (s *shop) shortfall(run sdk.RunContext) order {
	return order{Item: "widget", Quantity: int(run.Params["target"].(float64)) - int(s.stock.Load())}
}

func (s *shop) place(ctx context.Context, xcom sdk.XComClient, log *slog.Logger, want order) (int64, error) {
	if err := xcom.PushXCom(ctx, "note", map[string]any{"placed": want.Quantity}); err != nil {
		return 0, err
	}
	log.Info("placing", "item", want.Item, "quantity", want.Quantity)
	return s.stock.Add(int64(want.Quantity)), nil
}

func (s *shop) confirm(ctx context.Context, xcom sdk.XComClient, stock int64, want order) error {
	var note map[string]int
	if err := xcom.PullXCom(ctx, "place", "note", &note); err != nil {
		return err
	}
	if note["placed"] != want.Quantity || stock != s.stock.Load() {
		return &mismatch{}
	}
	return nil
}

type mismatch struct{}

func (*mismatch) Error() string { return "the XComs do not match the application's state" }

func (s *shop) audit() error { return sdk.Skip("no audit on test runs") }

func TestInProcessWorker_ServesItsApplicationsDag_SharingItsState(t *testing.T) {
	s := startStack(t)
	app := &shop{}
	app.stock.Store(3)
	catalog, err := bundle.Load(app, bundle.WithName("shop"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{
		ServerURL: s.server.BaseURL, Token: s.workerToken, InProcess: []*bundle.Catalog{catalog},
		Queues: []string{"in_process"}, HeartbeatInterval: 500 * time.Millisecond, ClaimWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	runID := s.trigger(t, "restock", map[string]any{"target": 10})
	run := s.waitRun(t, "restock", runID)
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, ti := range run.TaskInstances {
		states[ti.TaskId] = state(ti)
	}
	if string(run.State) != "success" || states["confirm"] != "success" || states["audit"] != "skipped" {
		t.Fatalf("run %s, tasks %v\nconfirm's log:\n%s", run.State, states, s.logs(t, taskOf(t, run, "confirm").Id, 1))
	}
	if got := app.stock.Load(); got != 10 {
		t.Fatalf("the application's stock is %d, want 10", got)
	}
	if log := s.logs(t, taskOf(t, run, "place").Id, 1); !strings.Contains(log, "placing") {
		t.Fatalf("place's log:\n%s", log)
	}
	if results := w.Results(); results["success"] != 3 || results["skipped"] != 1 {
		t.Fatalf("results %v", results)
	}
}

// calls counts the calls of a task that ignores its context.
type calls struct{ n atomic.Int64 }

func (c *calls) RegisterDags(dagbag bundle.Registry) error {
	dagbag.AddDag("in_process_starting", bundle.Queue("in_process_starting"), bundle.Retries(1)).AddTask(c.count)
	return nil
}

func (c *calls) count() { c.n.Add(1) }

func TestInProcessWorker_HandedBackWhileStarting_StartIsSeenThrough_TaskNotCalled(t *testing.T) {
	// The task was called, with its context already cancelled: one that ignores it ran in full after
	// the worker was told to hand it back at once.
	s := startStack(t)
	proxy, held, release := holdingStart(t, s.server.BaseURL)
	app := &calls{}
	logged := &lines{}
	catalog, err := bundle.Load(app, bundle.WithName("calls"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{
		ServerURL: proxy, Token: s.workerToken, InProcess: []*bundle.Catalog{catalog}, Name: "in-process-starting",
		Queues: []string{"in_process_starting"}, HeartbeatInterval: 500 * time.Millisecond, ClaimWait: time.Second,
		Logger: slog.New(slog.NewTextHandler(logged, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	runID := s.trigger(t, "in_process_starting", nil)
	select {
	case <-held:
	case <-time.After(3 * time.Minute):
		t.Fatal("the attempt was never started")
	}
	w.Drain()
	w.HandBack()
	waitFor(t, "the attempt to be handed back", time.Minute, func() bool {
		return strings.Contains(logged.String(), "handing back running tasks")
	})
	release()
	select {
	case <-w.Done():
	case <-time.After(3 * time.Minute):
		t.Fatal("the worker did not stop")
	}
	if n := app.n.Load(); n != 0 {
		t.Errorf("the task was called %d time(s) after the hand back", n)
	}
	s.handedBackBeforeItBegan(t, "in_process_starting", runID, "count")
}

// lines keeps what is written to it, from any goroutine.
type lines struct {
	mu   sync.Mutex
	text strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}
