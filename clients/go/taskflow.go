package baton

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/baton-org/baton/clients/go/api"
)

// RunInfo says where and as whom an attempt runs.
type RunInfo struct {
	Hostname string
	Pid      int
	UnixUser string
	// StartDate defaults to now.
	StartDate time.Time
}

// Start starts the attempt with the workload token the client was made with; the server answers
// with the run context and the execution token, which the client uses from then on.
func (c *Client) Start(ctx context.Context, taskInstanceID uuid.UUID, info RunInfo) (*api.TIRunContext, error) {
	start := info.StartDate
	if start.IsZero() {
		start = time.Now().UTC()
	}
	r, err := c.generated.RunTaskInstanceWithResponse(ctx, taskInstanceID, api.TIRunPayload{
		Hostname: info.Hostname, Pid: info.Pid, UnixUser: info.UnixUser, StartDate: start,
	})
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// Heartbeat says the running attempt is alive. An error matching ErrConflict means: stop the task.
func (c *Client) Heartbeat(ctx context.Context, taskInstanceID uuid.UUID, hostname string, pid int) error {
	r, err := c.generated.HeartbeatTaskInstanceWithResponse(ctx, taskInstanceID, api.TIHeartbeatPayload{
		Hostname: hostname, Pid: pid,
	})
	if err != nil {
		return err
	}
	return CheckResponse(r.HTTPResponse, r.Body)
}

// Finish moves the attempt to a terminal (or retry) state; endDate defaults to now.
func (c *Client) Finish(
	ctx context.Context, taskInstanceID uuid.UUID, state api.TIStatePayloadState, endDate time.Time,
) (*api.TIStateResponse, error) {
	if endDate.IsZero() {
		endDate = time.Now().UTC()
	}
	r, err := c.generated.UpdateTaskInstanceStateWithResponse(ctx, taskInstanceID, api.TIStatePayload{
		State: state, EndDate: endDate,
	})
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// GetVariable returns a variable's JSON value; an error matching ErrNotFound when it is not set.
func (c *Client) GetVariable(ctx context.Context, key string) (any, error) {
	r, err := c.generated.GetVariableWithResponse(ctx, key)
	if err != nil {
		return nil, err
	}
	v, err := result(r.HTTPResponse, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return v.Value, nil
}

// SetVariable stores a JSON value under a variable's key.
func (c *Client) SetVariable(ctx context.Context, key string, value any) error {
	r, err := c.generated.SetVariableWithResponse(ctx, key, api.VariablePutBody{Value: value})
	if err != nil {
		return err
	}
	return CheckResponse(r.HTTPResponse, r.Body)
}

// XComRef addresses one XCom: a task of a DAG run, a key and a map index (-1 when unmapped).
type XComRef struct {
	DagID, RunID, TaskID, Key string
	MapIndex                  int
}

// PushXCom stores a JSON value as the calling task's XCom.
func (c *Client) PushXCom(ctx context.Context, ref XComRef, value any) error {
	params := &api.PushXcomParams{MapIndex: &ref.MapIndex}
	r, err := c.generated.PushXcomWithResponse(ctx, ref.DagID, ref.RunID, ref.TaskID, ref.Key, params,
		api.XComPutBody{Value: value})
	if err != nil {
		return err
	}
	return CheckResponse(r.HTTPResponse, r.Body)
}

// PullXCom returns the JSON value of an XCom of the caller's DAG run; ErrNotFound when there is none.
func (c *Client) PullXCom(ctx context.Context, ref XComRef) (any, error) {
	params := &api.PullXcomParams{MapIndex: &ref.MapIndex}
	r, err := c.generated.PullXcomWithResponse(ctx, ref.DagID, ref.RunID, ref.TaskID, ref.Key, params)
	if err != nil {
		return nil, err
	}
	x, err := result(r.HTTPResponse, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return x.Value, nil
}
