// Command runner runs a conformance plan through the Go client (package baton) of one API version.
//
//	runner PLAN.json TRANSCRIPT.json
//
// The suite builds it against the client generated for the plan's version. Request bodies in the
// plan are decoded into that version's generated models (encoding/json keeps only the fields the
// version knows); results are the generated response models encoded back to JSON. Each step's
// outcome goes to the transcript; judging it is the suite's business.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
)

const claimPatience = 300 * time.Second

type step struct {
	Action string         `json:"action"`
	Args   map[string]any `json:"args"`
	Token  string         `json:"token,omitempty"`
}

type plan struct {
	BaseURL     string `json:"base_url"`
	Version     string `json:"version"`
	AdminToken  string `json:"admin_token"`
	WorkerToken string `json:"worker_token"`
	Scenarios   []struct {
		Name  string `json:"name"`
		Steps []step `json:"steps"`
	} `json:"scenarios"`
}

type outcome struct {
	Outcome string `json:"outcome"`
	Result  any    `json:"result,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Status  *int   `json:"status,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// errorKinds lists the client's sentinels, most specific first.
var errorKinds = []struct {
	err  error
	kind string
}{
	{baton.ErrServerTooOld, "server_too_old"},
	{baton.ErrVersionMismatch, "version_mismatch"},
	{baton.ErrBadRequest, "bad_request"},
	{baton.ErrUnauthorized, "unauthorized"},
	{baton.ErrForbidden, "forbidden"},
	{baton.ErrNotFound, "not_found"},
	{baton.ErrConflict, "conflict"},
	{baton.ErrPayloadTooLarge, "payload_too_large"},
	{baton.ErrInvalidRequest, "invalid_request"},
	{baton.ErrServer, "server_error"},
}

type scenarioRun struct {
	plan      *plan
	worker    *baton.Client
	admin     *baton.Client
	workerID  uuid.UUID
	workloads map[string]api.ExecuteTaskWorkload
	tasks     map[string]*baton.Client
}

// decode turns a JSON value of the plan into a generated model of this client's version.
func decode[T any](value any) (T, error) {
	var out T
	raw, err := json.Marshal(value)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(raw, &out)
	return out, err
}

// asJSON turns a generated model into plain JSON values.
func asJSON(value any) (any, error) {
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(raw, &out)
	return out, err
}

// parsed returns the documented body of a generated response, or the error its status means.
func parsed[T any](resp *http.Response, body []byte, value *T) (any, error) {
	if err := baton.CheckResponse(resp, body); err != nil {
		return nil, err
	}
	if value == nil {
		return nil, fmt.Errorf("unexpected %d answer without the documented body", resp.StatusCode)
	}
	return asJSON(value)
}

func str(args map[string]any, key string) string {
	s, _ := args[key].(string)
	return s
}

func (r *scenarioRun) task(args map[string]any, token string) (*baton.Client, uuid.UUID, error) {
	name := str(args, "task")
	workload, ok := r.workloads[name]
	if !ok {
		return nil, uuid.Nil, fmt.Errorf("no workload claimed for task %q", name)
	}
	id := uuid.UUID(workload.TaskInstance.Id)
	if token != "" {
		client, err := baton.NewClient(r.plan.BaseURL, token)
		return client, id, err
	}
	if _, ok := r.tasks[name]; !ok {
		client, err := baton.NewClient(r.plan.BaseURL, workload.Token)
		if err != nil {
			return nil, id, err
		}
		r.tasks[name] = client
	}
	return r.tasks[name], id, nil
}

func (r *scenarioRun) do(ctx context.Context, s step) (any, error) {
	args := s.Args
	switch s.Action {
	case "health":
		status, err := r.worker.Health(ctx, baton.APIName(str(args, "api")))
		if err != nil {
			return nil, err
		}
		return asJSON(status)
	case "register_worker":
		body, err := decode[api.RegisterWorkerPayload](args["body"])
		if err != nil {
			return nil, err
		}
		resp, err := r.worker.Generated().RegisterWorkerWithResponse(ctx, body)
		if err != nil {
			return nil, err
		}
		if resp.JSON200 != nil {
			r.workerID = uuid.UUID(resp.JSON200.Id)
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON200)
	case "register_dags":
		body, err := decode[api.RegisterDagsPayload](args["body"])
		if err != nil {
			return nil, err
		}
		resp, err := r.worker.Generated().RegisterDagsWithResponse(ctx, body)
		if err != nil {
			return nil, err
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON200)
	case "trigger_dag_run":
		body, err := decode[api.TriggerDagRunPayload](args["body"])
		if err != nil {
			return nil, err
		}
		resp, err := r.admin.Generated().TriggerDagRunWithResponse(ctx, str(args, "dag_id"), body)
		if err != nil {
			return nil, err
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON201)
	case "set_connection":
		body, err := decode[api.ConnectionPutBody](args["body"])
		if err != nil {
			return nil, err
		}
		resp, err := r.admin.Generated().AdminSetConnectionWithResponse(ctx, str(args, "conn_id"), body)
		if err != nil {
			return nil, err
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON200)
	case "claim_workloads":
		body, err := decode[api.ClaimWorkloadsPayload](args["body"])
		if err != nil {
			return nil, err
		}
		want, _ := args["count"].(float64)
		deadline := time.Now().Add(claimPatience)
		// The scheduler queues a triggered run's task instances within a pass or two: ask until all came.
		for len(r.workloads) < int(want) && time.Now().Before(deadline) {
			resp, err := r.worker.Generated().ClaimWorkloadsWithResponse(ctx, r.workerID, body)
			if err != nil {
				return nil, err
			}
			if err := baton.CheckResponse(resp.HTTPResponse, resp.Body); err != nil {
				return nil, err
			}
			for _, w := range resp.JSON200.Workloads {
				r.workloads[w.TaskInstance.TaskId] = w
			}
		}
		ids := make([]string, 0, len(r.workloads))
		for id := range r.workloads {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return map[string]any{"task_ids": ids}, nil
	}
	client, id, err := r.task(args, s.Token)
	if err != nil {
		return nil, err
	}
	switch s.Action {
	case "start":
		body, err := decode[api.TIRunPayload](args["body"])
		if err != nil {
			return nil, err
		}
		ctxResult, err := client.Start(ctx, id, body)
		if err != nil {
			return nil, err
		}
		return asJSON(ctxResult)
	case "heartbeat":
		body, err := decode[api.TIHeartbeatPayload](args["body"])
		if err != nil {
			return nil, err
		}
		return map[string]any{}, client.Heartbeat(ctx, id, body)
	case "get_variable":
		value, err := client.GetVariable(ctx, str(args, "key"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"value": value}, nil
	case "set_variable":
		return map[string]any{}, client.SetVariable(ctx, str(args, "key"), args["value"])
	case "get_connection":
		resp, err := client.Generated().GetConnectionWithResponse(ctx, str(args, "conn_id"))
		if err != nil {
			return nil, err
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON200)
	case "push_xcom":
		ref := baton.XComRef{DagID: str(args, "dag_id"), RunID: str(args, "run_id"), TaskID: str(args, "task_id"), Key: str(args, "key"), MapIndex: -1}
		return map[string]any{}, client.PushXCom(ctx, ref, args["value"])
	case "pull_xcom":
		ref := baton.XComRef{DagID: str(args, "dag_id"), RunID: str(args, "run_id"), TaskID: str(args, "task_id"), Key: str(args, "key"), MapIndex: -1}
		value, err := client.PullXCom(ctx, ref)
		if err != nil {
			return nil, err
		}
		return map[string]any{"value": value}, nil
	case "upload_logs":
		body, err := decode[api.LogBatch](args["body"])
		if err != nil {
			return nil, err
		}
		resp, err := client.Generated().UploadTaskLogsWithResponse(ctx, id, body)
		if err != nil {
			return nil, err
		}
		return parsed(resp.HTTPResponse, resp.Body, resp.JSON200)
	case "finish":
		body, err := decode[api.TIStatePayload](args["body"])
		if err != nil {
			return nil, err
		}
		state, err := client.Finish(ctx, id, body)
		if err != nil {
			return nil, err
		}
		return asJSON(state)
	}
	return nil, fmt.Errorf("unknown action %q", s.Action)
}

func runStep(ctx context.Context, r *scenarioRun, s step) outcome {
	result, err := r.do(ctx, s)
	if err == nil {
		return outcome{Outcome: "ok", Result: result}
	}
	var apiErr *baton.APIError
	if errors.As(err, &apiErr) {
		kind := "api_error"
		for _, k := range errorKinds {
			if errors.Is(err, k.err) {
				kind = k.kind
				break
			}
		}
		status := apiErr.Status
		return outcome{Outcome: "error", Kind: kind, Status: &status, Reason: apiErr.Reason, Message: err.Error()}
	}
	var transportErr *baton.TransportError
	if errors.As(err, &transportErr) {
		return outcome{Outcome: "error", Kind: "transport", Message: err.Error()}
	}
	return outcome{Outcome: "error", Kind: "crash", Message: err.Error()}
}

func run(planPath, outPath string) error {
	raw, err := os.ReadFile(planPath)
	if err != nil {
		return err
	}
	var p plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	if baton.APIVersion != p.Version {
		return fmt.Errorf("the client is %s, the plan %s", baton.APIVersion, p.Version)
	}
	ctx := context.Background()
	type scenarioOut struct {
		Name  string    `json:"name"`
		Steps []outcome `json:"steps"`
	}
	scenarios := []scenarioOut{}
	for _, sc := range p.Scenarios {
		worker, err := baton.NewClient(p.BaseURL, p.WorkerToken)
		if err != nil {
			return err
		}
		admin, err := baton.NewClient(p.BaseURL, p.AdminToken)
		if err != nil {
			return err
		}
		r := &scenarioRun{plan: &p, worker: worker, admin: admin,
			workloads: map[string]api.ExecuteTaskWorkload{}, tasks: map[string]*baton.Client{}}
		out := scenarioOut{Name: sc.Name, Steps: []outcome{}}
		for _, s := range sc.Steps {
			out.Steps = append(out.Steps, runStep(ctx, r, s))
		}
		scenarios = append(scenarios, out)
	}
	transcript, err := json.MarshalIndent(map[string]any{
		"language": "go", "client_version": baton.APIVersion, "scenarios": scenarios,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, transcript, 0o644)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: runner PLAN.json TRANSCRIPT.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}
