// Package sdk is what a Go task sees of Baton while it runs: clients for variables, connections
// and XComs bound to the running attempt, and the attempt's run context.
//
// A task function names what it needs by type, in any order (see package bundle):
//
//	func transform(ctx context.Context, client sdk.VariableClient, log *slog.Logger, rows []Row) ([]Row, error)
//
// Every error of a client call that the server answered is a *baton.APIError: test it with
// errors.Is(err, baton.ErrNotFound) and the other sentinels of package baton. A variable key,
// connection id or XCom key the API cannot take (empty, past 250 characters, or with a character
// other than letters, digits, '_', '.' and '-', such as '/') fails before anything is sent with an
// error matching baton.ErrInvalidKey, never baton.ErrNotFound.
package sdk

import (
	"context"
	"errors"
	"time"
)

// VariableClient reads and writes variables. Reads look in the worker's environment first
// (BATON_VAR_<KEY>, the value as JSON), then ask the server.
type VariableClient interface {
	// GetVariable returns a variable's JSON value (string, float64, bool, nil, []any or
	// map[string]any); an error matching baton.ErrNotFound when it is not set.
	GetVariable(ctx context.Context, key string) (any, error)
	// UnmarshalVariable decodes a variable's JSON value into out, as json.Unmarshal does.
	UnmarshalVariable(ctx context.Context, key string, out any) error
	// SetVariable stores a JSON-encodable value under key, on the server.
	SetVariable(ctx context.Context, key string, value any) error
}

// ConnectionClient reads connections. The worker's environment is asked first
// (BATON_CONN_<ID>, a URI or a JSON object), then the server, which answers only for
// connections granted to the task's DAG (baton.ErrForbidden otherwise).
type ConnectionClient interface {
	// GetConnection returns a connection; an error matching baton.ErrNotFound when there is none.
	GetConnection(ctx context.Context, connectionID string) (Connection, error)
}

// XComClient passes data between the tasks of a DAG run.
type XComClient interface {
	// PushXCom stores a JSON-encodable value as this task's XCom under key.
	PushXCom(ctx context.Context, key string, value any) error
	// PullXCom decodes the XCom key of another task of this DAG run into out; an error matching
	// baton.ErrNotFound when there is none. A task's return value is its XCom ReturnValueKey.
	PullXCom(ctx context.Context, taskID, key string, out any) error
}

// Client is every client a task can ask for. Name the narrowest one your task needs.
type Client interface {
	VariableClient
	ConnectionClient
	XComClient
}

// ReturnValueKey is the XCom key under which a task's return value is stored.
const ReturnValueKey = "return_value"

// Connection is a connection to an external system, with its secrets.
type Connection struct {
	ID       string
	Type     string
	Host     string
	Port     int
	Login    string
	Password string
	Schema   string
	Extra    map[string]any
}

// RunContext is what a task knows about the attempt it runs in.
type RunContext struct {
	DagID          string
	RunID          string
	TaskID         string
	TaskInstanceID string
	MapIndex       int
	// TryNumber counts the attempts of this task instance, from 1.
	TryNumber int
	// MaxTries is the number of attempts allowed in all (the retries plus one).
	MaxTries          int
	LogicalDate       time.Time
	DataIntervalStart *time.Time
	DataIntervalEnd   *time.Time
	// RunType is "manual" or "scheduled".
	RunType string
	// Params are the run's configuration (the conf given when it was triggered).
	Params map[string]any
}

// IsLastTry reports whether a failure of this attempt fails the task instance for good.
func (r RunContext) IsLastTry() bool { return r.TryNumber >= r.MaxTries }

// SkipError ends an attempt as skipped when a task returns it (see Skip).
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns an error that, returned by a task, ends its attempt as skipped instead of failed.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// IsSkip reports whether err asks for the attempt to be skipped.
func IsSkip(err error) bool {
	var skip *SkipError
	return errors.As(err, &skip)
}
