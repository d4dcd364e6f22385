package baton_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
)

const host = "worker-1.test"

func runPayload(pid int) api.TIRunPayload {
	return api.TIRunPayload{Hostname: host, Pid: pid, UnixUser: "baton", StartDate: time.Now().UTC()}
}

func beat(pid int) api.TIHeartbeatPayload {
	return api.TIHeartbeatPayload{Hostname: host, Pid: pid}
}

func TestTaskFlow_StartHeartbeatVariableXComFinish(t *testing.T) {
	ctx := context.Background()
	queued := queueRun(t, "extract", "load")
	extract, load := queued.TaskInstances[0], queued.TaskInstances[1]
	extractID := extract.ID
	client := newClient(t, live.BaseURL, extract.WorkloadToken)

	runCtx, err := client.Start(ctx, extractID, runPayload(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if runCtx.TaskInstance.Id != extractID || runCtx.DagRun.RunId != queued.RunID {
		t.Fatalf("run context %+v", runCtx)
	}
	if client.Token() == extract.WorkloadToken {
		t.Fatal("run must hand out the execution token")
	}
	executionToken := client.Token()
	if err := client.Heartbeat(ctx, extractID, beat(os.Getpid())); err != nil {
		t.Fatal(err)
	}
	if client.Token() == executionToken {
		t.Fatal("the refreshed token must be swapped in")
	}

	key := fmt.Sprintf("go-%s", uuid.NewString()[:8])
	value := map[string]any{"rows": []any{1.0, 2.0, 3.0}}
	if err := client.SetVariable(ctx, key, value); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetVariable(ctx, key)
	if err != nil || !reflect.DeepEqual(got, value) {
		t.Fatalf("variable %v, %v", got, err)
	}

	_, adminTok := credentials(t)
	admin := newClient(t, live.BaseURL, adminTok)
	connID := "warehouse_" + uuid.NewString()[:8]
	host, port, password := "db.test", 5432, "s3cret"
	if _, err := admin.SetConnection(ctx, connID, api.ConnectionPutBody{
		ConnType: "postgres", Host: &host, Port: &port, Password: &password, AllowedDagIds: &[]string{queued.DagID},
	}); err != nil {
		t.Fatal(err)
	}
	conn, err := client.GetConnection(ctx, connID)
	if err != nil || *conn.Host != host || *conn.Port != port || *conn.Password != password {
		t.Fatalf("connection %+v, %v", conn, err)
	}

	accepted, err := client.UploadLogs(ctx, extractID, api.LogBatch{Lines: []api.LogLine{
		{Timestamp: time.Now().UTC(), Level: api.LogLineLevelInfo, Message: "extracted 3 rows"},
	}})
	if err != nil || accepted.Accepted != 1 {
		t.Fatalf("logs %+v, %v", accepted, err)
	}

	ref := baton.XComRef{DagID: queued.DagID, RunID: queued.RunID, TaskID: "extract", Key: "return_value", MapIndex: -1}
	if err := client.PushXCom(ctx, ref, map[string]any{"path": "/data/x.csv"}); err != nil {
		t.Fatal(err)
	}
	pulled, err := client.PullXCom(ctx, ref)
	if err != nil || !reflect.DeepEqual(pulled, map[string]any{"path": "/data/x.csv"}) {
		t.Fatalf("xcom %v, %v", pulled, err)
	}

	finished, err := client.Finish(ctx, extractID, api.TIStatePayload{State: api.TIStatePayloadStateSuccess, EndDate: time.Now().UTC()})
	if err != nil || finished.State != api.TIStateResponseStateSuccess || finished.TryNumber != 1 {
		t.Fatalf("finish %+v, %v", finished, err)
	}

	// Another task of the same run reads the XCom with its own token.
	other := newClient(t, live.BaseURL, load.WorkloadToken)
	if _, err := other.Start(ctx, load.ID, runPayload(1)); err != nil {
		t.Fatal(err)
	}
	if pulled, err := other.PullXCom(ctx, ref); err != nil || !reflect.DeepEqual(pulled, map[string]any{"path": "/data/x.csv"}) {
		t.Fatalf("xcom from load: %v, %v", pulled, err)
	}
}

func TestHeartbeat_WrongPid_ConflictError(t *testing.T) {
	ctx := context.Background()
	ti := queueRun(t, "only").TaskInstances[0]
	id := ti.ID
	client := newClient(t, live.BaseURL, ti.WorkloadToken)
	if _, err := client.Start(ctx, id, runPayload(1234)); err != nil {
		t.Fatal(err)
	}
	err := client.Heartbeat(ctx, id, beat(999))
	var apiErr *baton.APIError
	if !errors.Is(err, baton.ErrConflict) || !errors.As(err, &apiErr) || apiErr.RequestID == "" || apiErr.Reason == "" {
		t.Fatalf("want a conflict *APIError with reason and request id, got %T %v", err, err)
	}
}

func TestGetVariable_Missing_NotFoundError(t *testing.T) {
	ctx := context.Background()
	ti := queueRun(t, "only").TaskInstances[0]
	client := newClient(t, live.BaseURL, ti.WorkloadToken)
	if _, err := client.Start(ctx, ti.ID, runPayload(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetVariable(ctx, "missing-"+uuid.NewString()); !errors.Is(err, baton.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestBadToken_UnauthorizedError(t *testing.T) {
	client := newClient(t, live.BaseURL, "not-a-token")
	if _, err := client.GetVariable(context.Background(), "anything"); !errors.Is(err, baton.ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized, got %v", err)
	}
}

func TestConnectionOfAnotherDag_ForbiddenError(t *testing.T) {
	ctx := context.Background()
	_, adminTok := credentials(t)
	connID := "private_" + uuid.NewString()[:8]
	if _, err := newClient(t, live.BaseURL, adminTok).SetConnection(ctx, connID, api.ConnectionPutBody{
		ConnType: "http", AllowedDagIds: &[]string{"some_other_dag"},
	}); err != nil {
		t.Fatal(err)
	}
	ti := queueRun(t, "only").TaskInstances[0]
	client := newClient(t, live.BaseURL, ti.WorkloadToken)
	if _, err := client.Start(ctx, ti.ID, runPayload(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetConnection(ctx, connID); !errors.Is(err, baton.ErrForbidden) {
		t.Fatalf("want ErrForbidden, got %v", err)
	}
}

func TestWorker_HeartbeatAndClaimFromAnEmptyQueue(t *testing.T) {
	ctx := context.Background()
	workerTok, _ := credentials(t)
	worker := newClient(t, live.BaseURL, workerTok)
	name := "w_" + uuid.NewString()[:8]
	registered, err := worker.RegisterWorker(ctx, api.RegisterWorkerPayload{Name: name, Queues: []string{"q_" + name}, Capacity: 2, Runtime: "go"})
	if err != nil {
		t.Fatal(err)
	}
	beat, err := worker.HeartbeatWorker(ctx, registered.Id)
	if err != nil || beat.Id != registered.Id {
		t.Fatalf("heartbeat %+v, %v", beat, err)
	}
	one, none := 1, float32(0)
	claimed, err := worker.ClaimWorkloads(ctx, registered.Id, api.ClaimWorkloadsPayload{MaxWorkloads: &one, WaitSeconds: &none})
	if err != nil || len(claimed.Workloads) != 0 {
		t.Fatalf("claim %+v, %v", claimed, err)
	}
}
