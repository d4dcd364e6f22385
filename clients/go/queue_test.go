package baton_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/baton-org/baton/clients/go/api"
)

// queuedTask is one claimed task instance of a queued run, with its workload token.
type queuedTask struct {
	ID            uuid.UUID
	TaskID        string
	WorkloadToken string
}

type queuedRun struct {
	DagID, RunID  string
	TaskInstances []queuedTask
}

var (
	credentialsOnce         sync.Once
	workerToken, adminToken string
	credentialsErr          error
)

func issue(kind string) (string, error) {
	out, err := live.CLI(kind, "go-client-tests", "--json")
	if err != nil {
		return "", err
	}
	var issued struct {
		Token string `json:"token"`
	}
	err = json.Unmarshal([]byte(out), &issued)
	return issued.Token, err
}

func credentials(t *testing.T) (worker, admin string) {
	t.Helper()
	credentialsOnce.Do(func() {
		workerToken, credentialsErr = issue("create-worker-credential")
		if credentialsErr == nil {
			adminToken, credentialsErr = issue("create-admin-token")
		}
	})
	if credentialsErr != nil {
		t.Fatal(credentialsErr)
	}
	return workerToken, adminToken
}

// queueRun does what a Go worker and an operator do, through the API: register a worker on a
// queue of its own and a DAG of independent Go tasks, trigger a run, and claim its workloads.
func queueRun(t *testing.T, taskIDs ...string) *queuedRun {
	t.Helper()
	ctx := context.Background()
	workerTok, adminTok := credentials(t)
	worker := newClient(t, live.BaseURL, workerTok)
	admin := newClient(t, live.BaseURL, adminTok)
	suffix := uuid.NewString()[:8]
	dagID, runID, queue := "go_client_tests_"+suffix, "test__"+suffix, "q_"+suffix

	registered, err := worker.RegisterWorker(ctx, api.RegisterWorkerPayload{
		Name: "w_" + suffix, Queues: []string{queue}, Capacity: 100, Runtime: "go",
	})
	if err != nil {
		t.Fatalf("register worker: %v", err)
	}
	tasks := make([]api.TaskDescription, len(taskIDs))
	for i, id := range taskIDs {
		tasks[i] = api.TaskDescription{TaskId: id, EntryPoint: "tasks." + id, Runtime: "go", Queue: &queue}
	}
	if _, err := worker.RegisterDags(ctx, api.RegisterDagsPayload{Dags: []api.DagDescription{{DagId: dagID, Tasks: tasks}}}); err != nil {
		t.Fatalf("register DAGs: %v", err)
	}
	if _, err := admin.TriggerDagRun(ctx, dagID, api.TriggerDagRunPayload{RunId: &runID}); err != nil {
		t.Fatalf("trigger run: %v", err)
	}

	claimed := map[string]api.ExecuteTaskWorkload{}
	maxWorkloads, wait := len(taskIDs), float32(5)
	for deadline := time.Now().Add(300 * time.Second); len(claimed) < len(taskIDs) && time.Now().Before(deadline); {
		r, err := worker.ClaimWorkloads(ctx, registered.Id, api.ClaimWorkloadsPayload{MaxWorkloads: &maxWorkloads, WaitSeconds: &wait})
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		for _, w := range r.Workloads {
			claimed[w.TaskInstance.TaskId] = w
		}
	}
	queued := &queuedRun{DagID: dagID, RunID: runID}
	for _, id := range taskIDs {
		w, ok := claimed[id]
		if !ok {
			t.Fatalf("no workload for %s within 60 s", id)
		}
		queued.TaskInstances = append(queued.TaskInstances, queuedTask{ID: w.TaskInstance.Id, TaskID: id, WorkloadToken: w.Token})
	}
	return queued
}
