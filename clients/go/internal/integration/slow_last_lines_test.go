package integration_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/worker"
)

// refusingLogs is a proxy in front of the server that answers every log upload 503 while refuse is set.
type refusingLogs struct {
	refuse  atomic.Bool
	refused atomic.Int64
}

// start serves the proxy in front of the server at target; its URL.
func (p *refusingLogs) start(t *testing.T, target string) string {
	t.Helper()
	server, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(server)
	proxy := httptest.NewServer(http.HandlerFunc(func(out http.ResponseWriter, in *http.Request) {
		if in.Method == http.MethodPost && strings.HasSuffix(in.URL.Path, "/logs") && p.refuse.Load() {
			p.refused.Add(1)
			out.Header().Set("Content-Type", "application/json")
			out.WriteHeader(http.StatusServiceUnavailable)
			_, _ = out.Write([]byte(`{"reason": "unavailable", "message": "log uploads refused on purpose"}`))
			return
		}
		forward.ServeHTTP(out, in)
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL
}

// lastWords is a task whose last line is logged once the log uploads are refused.
type lastWords struct {
	proxy    *refusingLogs
	refusing chan struct{}
}

func (l *lastWords) RegisterDags(dagbag bundle.Registry) error {
	dagbag.AddDag("slow_last_lines", bundle.Queue("slow_last_lines")).AddTask(l.says)
	return nil
}

func (l *lastWords) says(log *slog.Logger) {
	log.Info("a line before the outage")
	l.proxy.refuse.Store(true) // from now on the log uploads fail (a brief outage)
	close(l.refusing)
	log.Info("a line that waits for the server")
}

// A task whose last log lines take long to ship (the log uploads refused for three heartbeat timeouts)
// is recorded a success with those lines: its attempt is heartbeated until its final state is reported.
// Before, the heartbeats stopped when the task returned: the server failed the silent attempt, and
// refused the lines and the success (409).
func TestGoWorker_LastLogLinesSlowToShip_HeartbeatsGoOn_SuccessIsReported(t *testing.T) {
	// Mostly waiting out an outage on a server of its own: beside the other such tests.
	t.Parallel()
	const heartbeatTimeout = 2 * time.Second
	s := startOwnStack(t, "BATON_HEARTBEAT_TIMEOUT=2", "BATON_SCHEDULER_INTERVAL=0.2", "BATON_CLAIM_MAX_WAIT=2")
	proxy := &refusingLogs{}
	app := &lastWords{proxy: proxy, refusing: make(chan struct{})}
	catalog, err := bundle.Load(app, bundle.WithName("last_words"))
	if err != nil {
		t.Fatal(err)
	}
	logged := &lines{}
	w, err := worker.New(worker.Config{
		ServerURL: proxy.start(t, s.server.BaseURL), Token: s.workerToken, InProcess: []*bundle.Catalog{catalog},
		Queues: []string{"slow_last_lines"}, HeartbeatInterval: 500 * time.Millisecond, ClaimWait: time.Second,
		Logger: slog.New(slog.NewTextHandler(logged, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(context.Background()) }()
	runID := s.trigger(t, "slow_last_lines", nil)
	select {
	case <-app.refusing:
	case <-time.After(3 * time.Minute):
		t.Fatal("the task never ran")
	}
	outageEnds := time.Now().Add(3 * heartbeatTimeout)
	waitFor(t, "a log upload to be refused", time.Minute, func() bool { return proxy.refused.Load() > 0 })
	time.Sleep(time.Until(outageEnds)) // the outage's length, not a verdict
	proxy.refuse.Store(false)
	run := s.waitRun(t, "slow_last_lines", runID)
	ti := taskOf(t, run, "says")
	log := s.logs(t, ti.Id, 1)
	if got := state(ti); got != "success" {
		t.Fatalf("the task is %s, want success; its log:\n%s\nthe worker's:\n%s", got, log, logged)
	}
	if !strings.Contains(log, "a line that waits for the server") {
		t.Fatalf("the task's last line is not in its log:\n%s", log)
	}
}
