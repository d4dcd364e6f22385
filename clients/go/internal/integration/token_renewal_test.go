package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/worker"
)

// held is a task that runs until it is released.
type held struct{ began, release chan struct{} }

func (h *held) RegisterDags(dagbag bundle.Registry) error {
	dagbag.AddDag("renewal", bundle.Queue("renewal")).AddTask(h.waits)
	return nil
}

func (h *held) waits() {
	close(h.began)
	<-h.release
}

// A task that ends while the server is down for longer than its attempt's execution token lives is
// recorded a success by the server restarted on the same database: the worker renews the expired token
// with its own credential. Before, its end was refused (401 token_expired) and it failed at the
// heartbeat timeout.
func TestGoWorker_ServerDownLongerThanTheTokenLives_TaskEndedMeanwhileIsRecorded(t *testing.T) {
	// Mostly waiting out a downtime on a server of its own: beside the other such test, not after it.
	t.Parallel()
	const tokenTTL = 30 * time.Second // the least the server allows
	s := startOwnStack(t,
		"BATON_EXECUTION_TOKEN_TTL=30", "BATON_TOKEN_REFRESH_BEFORE=5", "BATON_HEARTBEAT_TIMEOUT=120",
		"BATON_SCHEDULER_INTERVAL=0.2", "BATON_CLAIM_MAX_WAIT=2",
	)
	app := &held{began: make(chan struct{}), release: make(chan struct{})}
	catalog, err := bundle.Load(app, bundle.WithName("renewal"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{
		ServerURL: s.server.BaseURL, Token: s.workerToken, InProcess: []*bundle.Catalog{catalog},
		Queues: []string{"renewal"}, HeartbeatInterval: 500 * time.Millisecond, ClaimWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(context.Background()) }()
	runID := s.trigger(t, "renewal", nil)
	select {
	case <-app.began:
	case <-time.After(3 * time.Minute):
		t.Fatal("the task never began")
	}
	s.server.Down()
	down := time.Now()
	time.Sleep(3 * time.Second)
	close(app.release) // the task ends while no server answers
	time.Sleep(tokenTTL + 10*time.Second - time.Since(down))
	if err := s.server.Up(); err != nil {
		t.Fatal(err)
	}
	run := s.waitRun(t, "renewal", runID)
	if got := state(taskOf(t, run, "waits")); got != "success" {
		t.Fatalf("the task is %s, want success; worker results %v", got, w.Results())
	}
}
