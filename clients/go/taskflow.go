package baton

import (
	"context"

	"github.com/google/uuid"

	"github.com/baton-org/baton/clients/go/api"
)

// The methods below take and return the generated models (package api) of the client's API
// version, so that this layer compiles unchanged over the generated code of every supported version.

// Start starts the attempt with the workload token the client was made with; the server answers
// with the run context and the execution token, which the client uses from then on.
func (c *Client) Start(ctx context.Context, taskInstanceID uuid.UUID, body api.TIRunPayload) (*api.TIRunContext, error) {
	r, err := c.generated.RunTaskInstanceWithResponse(ctx, taskInstanceID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// Heartbeat says the running attempt is alive. An error matching ErrConflict means: stop the task.
func (c *Client) Heartbeat(ctx context.Context, taskInstanceID uuid.UUID, body api.TIHeartbeatPayload) error {
	r, err := c.generated.HeartbeatTaskInstanceWithResponse(ctx, taskInstanceID, body)
	if err != nil {
		return err
	}
	return CheckResponse(r.HTTPResponse, r.Body)
}

// Finish moves the attempt to a terminal (or retry) state.
func (c *Client) Finish(ctx context.Context, taskInstanceID uuid.UUID, body api.TIStatePayload) (*api.TIStateResponse, error) {
	r, err := c.generated.UpdateTaskInstanceStateWithResponse(ctx, taskInstanceID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// GetVariable returns a variable's JSON value; an error matching ErrNotFound when it is not set
// (ErrInvalidKey, before anything is sent, for a key the API cannot take).
func (c *Client) GetVariable(ctx context.Context, key string) (any, error) {
	if err := checkKey("variable key", key); err != nil {
		return nil, err
	}
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
	if err := checkKey("variable key", key); err != nil {
		return err
	}
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

// check returns an error matching ErrInvalidKey when a part of the address is not one the API takes.
func (r XComRef) check() error {
	for _, part := range [...]struct{ kind, value string }{
		{"DAG id", r.DagID}, {"run id", r.RunID}, {"task id", r.TaskID}, {"XCom key", r.Key},
	} {
		if err := checkKey(part.kind, part.value); err != nil {
			return err
		}
	}
	return nil
}

// PushXCom stores a JSON value as the calling task's XCom.
func (c *Client) PushXCom(ctx context.Context, ref XComRef, value any) error {
	if err := ref.check(); err != nil {
		return err
	}
	params := &api.PushXcomParams{MapIndex: &ref.MapIndex}
	r, err := c.generated.PushXcomWithResponse(ctx, ref.DagID, ref.RunID, ref.TaskID, ref.Key, params,
		api.XComPutBody{Value: value})
	if err != nil {
		return err
	}
	return CheckResponse(r.HTTPResponse, r.Body)
}

// PullXCom returns the JSON value of an XCom of the caller's DAG run; ErrNotFound when there is none
// (ErrInvalidKey, before anything is sent, for an address the API cannot take).
func (c *Client) PullXCom(ctx context.Context, ref XComRef) (any, error) {
	if err := ref.check(); err != nil {
		return nil, err
	}
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
