package baton

import (
	"context"
	"reflect"

	"github.com/google/uuid"

	"github.com/baton-org/baton/clients/go/api"
)

// GetConnection returns a connection granted to the task's DAG (ErrForbidden when it is not,
// ErrNotFound when there is no such connection, ErrInvalidKey for an id the API cannot take).
func (c *Client) GetConnection(ctx context.Context, connectionID string) (*api.ConnectionResponse, error) {
	if err := checkKey("connection id", connectionID); err != nil {
		return nil, err
	}
	r, err := c.generated.GetConnectionWithResponse(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// UploadLogs ships a batch of the running attempt's log lines. From API version 2026-12-02 a batch
// without a batch id gets a new one, and the client retries the upload like an idempotent request
// (the server stores a batch id's lines once); to send a batch again yourself, give it the same id.
func (c *Client) UploadLogs(ctx context.Context, taskInstanceID uuid.UUID, body api.LogBatch) (*api.LogBatchAccepted, error) {
	if ensureBatchID(&body) {
		ctx = context.WithValue(ctx, repeatableKey{}, true)
	}
	r, err := c.generated.UploadTaskLogsWithResponse(ctx, taskInstanceID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// RegisterWorker registers (or refreshes) a worker under the client's worker credential.
func (c *Client) RegisterWorker(ctx context.Context, body api.RegisterWorkerPayload) (*api.Worker, error) {
	r, err := c.generated.RegisterWorkerWithResponse(ctx, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// HeartbeatWorker says the worker is alive.
func (c *Client) HeartbeatWorker(ctx context.Context, workerID uuid.UUID) (*api.Worker, error) {
	r, err := c.generated.HeartbeatWorkerWithResponse(ctx, workerID)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// RegisterDags registers the DAG descriptions of a bundle the worker loaded.
func (c *Client) RegisterDags(ctx context.Context, body api.RegisterDagsPayload) (*api.RegisteredDags, error) {
	r, err := c.generated.RegisterDagsWithResponse(ctx, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// ClaimWorkloads claims ready workloads; keep body.WaitSeconds below the client's timeout.
func (c *Client) ClaimWorkloads(ctx context.Context, workerID uuid.UUID, body api.ClaimWorkloadsPayload) (*api.ClaimedWorkloads, error) {
	r, err := c.generated.ClaimWorkloadsWithResponse(ctx, workerID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// TriggerDagRun queues a manual run of a DAG (admin token).
func (c *Client) TriggerDagRun(ctx context.Context, dagID string, body api.TriggerDagRunPayload) (*api.DagRun, error) {
	r, err := c.generated.TriggerDagRunWithResponse(ctx, dagID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON201)
}

// SetConnection creates or replaces a connection (admin token).
func (c *Client) SetConnection(ctx context.Context, connectionID string, body api.ConnectionPutBody) (*api.ConnectionEntry, error) {
	r, err := c.generated.AdminSetConnectionWithResponse(ctx, connectionID, body)
	if err != nil {
		return nil, err
	}
	return result(r.HTTPResponse, r.Body, r.JSON200)
}

// ensureBatchID gives the batch a new batch id unless it has one; false when this API version's
// batches have no id (before 2026-12-02). Reflection keeps this layer building over every version.
func ensureBatchID(body *api.LogBatch) bool {
	field := reflect.ValueOf(body).Elem().FieldByName("BatchId")
	if !field.IsValid() {
		return false
	}
	if field.IsNil() {
		id := uuid.New()
		field.Set(reflect.ValueOf(&id))
	}
	return true
}
