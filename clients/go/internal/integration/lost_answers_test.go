package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/worker"
)

// lossy is a proxy in front of the live server that loses answers the server gave: the first
// claim answer that hands out workloads, and the first log batch's answer. The worker sees a 502
// for a request the server did.
type lossy struct {
	mu          sync.Mutex
	claimLost   bool
	logsLost    bool
	claimBodies []map[string]any
}

var errLost = errors.New("answer lost on purpose")

func (l *lossy) start(t *testing.T, target string) string {
	t.Helper()
	upstream, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.ModifyResponse = func(resp *http.Response) error {
		path := resp.Request.URL.Path
		if resp.Request.Method != http.MethodPost || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case strings.HasSuffix(path, "/claims") && !l.claimLost:
			var claimed struct {
				Workloads []json.RawMessage `json:"workloads"`
			}
			if json.Unmarshal(body, &claimed) == nil && len(claimed.Workloads) > 0 {
				l.claimLost = true
				return errLost
			}
		case strings.HasSuffix(path, "/logs") && !l.logsLost:
			l.logsLost = true
			return errLost
		}
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"reason": "bad_gateway", "message": "` + err.Error() + `"}`))
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/claims") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var fields map[string]any
			if json.Unmarshal(body, &fields) == nil {
				l.mu.Lock()
				l.claimBodies = append(l.claimBodies, fields)
				l.mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	return server.URL
}

type oneLine struct{}

func (oneLine) RegisterDags(dagbag bundle.Registry) error {
	dagbag.AddDag("lost_answers", bundle.Queue("lost_answers")).AddTask(say)
	return nil
}

func say(log *slog.Logger) { log.Info("said once") }

// A claim whose answer is lost costs the worker no claim timeout (it lists what it holds, so the
// server hands the workload out again at once), and a log batch whose answer is lost is sent again
// under its batch id and stored once.
func TestLostAnswers_ClaimHandedOutAgainAtOnce_LogBatchStoredOnce(t *testing.T) {
	s := startStack(t)
	proxy := &lossy{}
	catalog, err := bundle.Load(oneLine{}, bundle.WithName("lost"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{
		ServerURL: proxy.start(t, s.server.BaseURL), Token: s.workerToken, InProcess: []*bundle.Catalog{catalog},
		Name: "lost-answers-" + uuid.NewString()[:8], Queues: []string{"lost_answers"}, HeartbeatInterval: 500 * time.Millisecond, ClaimWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(context.Background()) }()
	runID := s.trigger(t, "lost_answers", nil)
	// Well under the server's claim timeout (300 s): the lost workload came back at the next claim.
	waitFor(t, "the run to succeed", 2*time.Minute, func() bool {
		return s.run(t, "lost_answers", runID).State == "success"
	})
	proxy.mu.Lock()
	claimLost, logsLost, bodies := proxy.claimLost, proxy.logsLost, proxy.claimBodies
	proxy.mu.Unlock()
	if !claimLost || !logsLost {
		t.Fatalf("the proxy lost no claim answer (%v) or no log answer (%v)", claimLost, logsLost)
	}
	for _, body := range bodies {
		if _, ok := body["held_task_instance_ids"]; !ok {
			t.Fatalf("a claim did not list what the worker holds: %v", body)
		}
	}
	ti := taskOf(t, s.run(t, "lost_answers", runID), "say")
	if ti.TryNumber != 1 {
		t.Fatalf("try %d, want 1", ti.TryNumber)
	}
	log := s.logs(t, ti.Id, 1)
	for _, line := range []string{"attempt 1 of 1 started", "said once", "attempt 1 ended"} {
		if n := strings.Count(log, line); n != 1 {
			t.Fatalf("%q is stored %d times, want once:\n%s", line, n, log)
		}
	}
}
