package baton_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
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

	registered, err := worker.Generated().RegisterWorkerWithResponse(ctx, api.RegisterWorkerPayload{
		Name: "w_" + suffix, Queues: []string{queue}, Capacity: 100, Runtime: api.Go,
	})
	if err != nil || baton.CheckResponse(registered.HTTPResponse, registered.Body) != nil {
		t.Fatalf("register worker: %v %s", err, registered.Body)
	}
	tasks := make([]api.TaskDescription, len(taskIDs))
	for i, id := range taskIDs {
		tasks[i] = api.TaskDescription{TaskId: id, EntryPoint: "tasks." + id, Runtime: api.Go, Queue: &queue}
	}
	dags, err := worker.Generated().RegisterDagsWithResponse(ctx, api.RegisterDagsPayload{
		Dags: []api.DagDescription{{DagId: dagID, Tasks: tasks}},
	})
	if err != nil || baton.CheckResponse(dags.HTTPResponse, dags.Body) != nil {
		t.Fatalf("register DAGs: %v %s", err, dags.Body)
	}
	run, err := admin.Generated().TriggerDagRunWithResponse(ctx, dagID, api.TriggerDagRunPayload{RunId: &runID})
	if err != nil || baton.CheckResponse(run.HTTPResponse, run.Body) != nil {
		t.Fatalf("trigger run: %v %s", err, run.Body)
	}

	claimed := map[string]api.ExecuteTaskWorkload{}
	maxWorkloads, wait := len(taskIDs), float32(5)
	for deadline := time.Now().Add(60 * time.Second); len(claimed) < len(taskIDs) && time.Now().Before(deadline); {
		r, err := worker.Generated().ClaimWorkloadsWithResponse(ctx, registered.JSON200.Id, api.ClaimWorkloadsPayload{
			MaxWorkloads: &maxWorkloads, WaitSeconds: &wait,
		})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("claim: %v %s", err, r.Body)
		}
		for _, w := range r.JSON200.Workloads {
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
