package taskrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/sdk"
)

// taskClient is the sdk.Client of one attempt: the thin client with the attempt's token, and the
// attempt's address for XComs. Variables and connections are looked up in the worker's
// environment first.
type taskClient struct {
	api     *baton.Client
	run     sdk.RunContext
	secrets Secrets
}

var _ sdk.Client = (*taskClient)(nil)

func (c *taskClient) GetVariable(ctx context.Context, key string) (any, error) {
	if value, ok, err := c.secrets.Variable(key); ok || err != nil {
		return value, err
	}
	return c.api.GetVariable(ctx, key)
}

func (c *taskClient) UnmarshalVariable(ctx context.Context, key string, out any) error {
	value, err := c.GetVariable(ctx, key)
	if err != nil {
		return err
	}
	if err := convert(value, out); err != nil {
		return fmt.Errorf("variable %q: %w", key, err)
	}
	return nil
}

func (c *taskClient) SetVariable(ctx context.Context, key string, value any) error {
	return c.api.SetVariable(ctx, key, value)
}

func (c *taskClient) GetConnection(ctx context.Context, connectionID string) (sdk.Connection, error) {
	if conn, ok, err := c.secrets.Connection(connectionID); ok || err != nil {
		return conn, err
	}
	answer, err := c.api.GetConnection(ctx, connectionID)
	if err != nil {
		return sdk.Connection{}, err
	}
	// Through JSON: the generated model's field types differ between API versions (extra was a
	// JSON string before 2026-11-24, an object since), the wire names do not.
	raw, err := json.Marshal(answer)
	if err != nil {
		return sdk.Connection{}, err
	}
	var wire wireConnection
	if err := json.Unmarshal(raw, &wire); err != nil {
		return sdk.Connection{}, fmt.Errorf("connection %q: %w", connectionID, err)
	}
	return wire.connection()
}

func (c *taskClient) PushXCom(ctx context.Context, key string, value any) error {
	return c.api.PushXCom(ctx, baton.XComRef{
		DagID: c.run.DagID, RunID: c.run.RunID, TaskID: c.run.TaskID, Key: key, MapIndex: c.run.MapIndex,
	}, value)
}

func (c *taskClient) PullXCom(ctx context.Context, taskID, key string, out any) error {
	value, err := c.api.PullXCom(ctx, baton.XComRef{DagID: c.run.DagID, RunID: c.run.RunID, TaskID: taskID, Key: key, MapIndex: -1})
	if err != nil {
		return err
	}
	if err := convert(value, out); err != nil {
		return fmt.Errorf("XCom %q of task %q: %w", key, taskID, err)
	}
	return nil
}

// convert decodes a JSON value (as decoded into any) into out.
func convert(value any, out any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// wireConnection is a connection as the API and the worker's environment spell it.
type wireConnection struct {
	ConnID   string          `json:"conn_id"`
	ConnType string          `json:"conn_type"`
	Host     *string         `json:"host"`
	Port     *int            `json:"port"`
	Login    *string         `json:"login"`
	Password *string         `json:"password"`
	Schema   *string         `json:"schema"`
	Extra    json.RawMessage `json:"extra"`
}

func (w wireConnection) connection() (sdk.Connection, error) {
	conn := sdk.Connection{ID: w.ConnID, Type: w.ConnType}
	for dst, src := range map[*string]*string{&conn.Host: w.Host, &conn.Login: w.Login, &conn.Password: w.Password, &conn.Schema: w.Schema} {
		if src != nil {
			*dst = *src
		}
	}
	if w.Port != nil {
		conn.Port = *w.Port
	}
	extra, err := decodeExtra(w.Extra)
	if err != nil {
		return sdk.Connection{}, fmt.Errorf("connection %q: extra: %w", w.ConnID, err)
	}
	conn.Extra = extra
	return conn, nil
}

// decodeExtra reads a connection's extra: a JSON object, or (older API versions) a string holding one.
func decodeExtra(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if text == "" {
			return nil, nil
		}
		raw = json.RawMessage(text)
	}
	var extra map[string]any
	if err := json.Unmarshal(raw, &extra); err != nil {
		return nil, errors.New("not a JSON object")
	}
	return extra, nil
}
