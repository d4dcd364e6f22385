package taskrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/sdk"
)

// The states an attempt's task code can end in; the worker turns a failure into up_for_retry or
// failed by the attempts left.
const (
	Success = "success"
	Failed  = "failed"
	Skipped = "skipped"
)

// Outcome is how a task function ended, with a one-line reason when it did not succeed.
type Outcome struct {
	State   string
	Message string
}

// Task is one task function of a bundle and the upstream tasks its data parameters bind to.
type Task struct {
	TaskID   string
	Func     *Func
	Upstream []string
}

// Attempt is what running one attempt of a task needs.
type Attempt struct {
	Task    *Task
	Run     sdk.RunContext
	API     *baton.Client // with the attempt's execution token
	Sink    Sink
	Secrets Secrets
}

// Execute calls the task function with what it asks for, pushes its return value as its XCom,
// and says how it ended. A panic fails the attempt and logs its stack. It never panics itself.
func Execute(ctx context.Context, a Attempt) Outcome {
	client := &taskClient{api: a.API, run: a.Run, secrets: a.Secrets}
	args, err := a.arguments(ctx, client)
	if err != nil {
		return a.fail("its arguments could not be prepared", err)
	}
	results, panicked := call(a.Task.Func.fn, args)
	if panicked != nil {
		message := fmt.Sprintf("panic: %v", panicked.value)
		a.log("error", fmt.Sprintf("task %s panicked: %v\n\n%s", a.Task.TaskID, panicked.value, panicked.stack))
		return Outcome{State: Failed, Message: message}
	}
	f := a.Task.Func
	if f.returnsError {
		if err, _ := results[len(results)-1].Interface().(error); err != nil {
			if sdk.IsSkip(err) {
				var skip *sdk.SkipError
				errors.As(err, &skip)
				a.log("info", fmt.Sprintf("task %s skipped: %s", a.Task.TaskID, skip.Reason))
				return Outcome{State: Skipped, Message: skip.Reason}
			}
			return a.fail("failed", err)
		}
	}
	if f.result != nil {
		if err := a.push(ctx, client, results[0]); err != nil {
			return a.fail("its return value could not be stored", err)
		}
	}
	return Outcome{State: Success}
}

type recovered struct {
	value any
	stack []byte
}

func call(fn reflect.Value, args []reflect.Value) (results []reflect.Value, panicked *recovered) {
	defer func() {
		if value := recover(); value != nil {
			panicked = &recovered{value: value, stack: debug.Stack()}
		}
	}()
	return fn.Call(args), nil
}

func (a Attempt) arguments(ctx context.Context, client *taskClient) ([]reflect.Value, error) {
	f := a.Task.Func
	args := make([]reflect.Value, len(f.params))
	data := 0
	for i, p := range f.params {
		switch p.kind {
		case paramContext:
			args[i] = reflect.ValueOf(&ctx).Elem()
		case paramLogger:
			args[i] = reflect.ValueOf(NewLogger(a.Sink))
		case paramRunContext:
			args[i] = reflect.ValueOf(a.Run)
		case paramRunContextPtr:
			run := a.Run
			args[i] = reflect.ValueOf(&run)
		case paramClient:
			args[i] = reflect.ValueOf(client)
		case paramData:
			upstream := a.Task.Upstream[data]
			data++
			value := reflect.New(p.typ)
			err := client.PullXCom(ctx, upstream, sdk.ReturnValueKey, value.Interface())
			if errors.Is(err, baton.ErrNotFound) {
				// An upstream task that returned nothing pushed nothing: the parameter keeps its zero value.
				err = nil
			}
			if err != nil {
				return nil, fmt.Errorf("parameter %d, from task %q: %w", i+1, upstream, err)
			}
			args[i] = value.Elem()
		}
	}
	return args, nil
}

func (a Attempt) push(ctx context.Context, client *taskClient, result reflect.Value) error {
	switch result.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		if result.IsNil() {
			return nil // nothing to pass on, as a Python task returning None
		}
	}
	value := result.Interface()
	if _, err := json.Marshal(value); err != nil {
		return fmt.Errorf("the return value is not JSON (%w); return JSON data or nothing", err)
	}
	return client.PushXCom(ctx, sdk.ReturnValueKey, value)
}

func (a Attempt) fail(what string, err error) Outcome {
	a.log("error", fmt.Sprintf("task %s %s: %v", a.Task.TaskID, what, err))
	return Outcome{State: Failed, Message: err.Error()}
}

func (a Attempt) log(level, message string) {
	a.Sink(Record{Time: time.Now().UTC(), Level: level, Message: message, Fields: map[string]any{"logger": SDKLogger}})
}

// ParseRunContext reads the run context the server answered to `run` (its JSON, which every API
// version spells the same way for these fields).
func ParseRunContext(raw []byte) (sdk.RunContext, error) {
	var wire struct {
		TaskInstance struct {
			ID        string `json:"id"`
			DagID     string `json:"dag_id"`
			RunID     string `json:"run_id"`
			TaskID    string `json:"task_id"`
			MapIndex  int    `json:"map_index"`
			TryNumber int    `json:"try_number"`
		} `json:"task_instance"`
		MaxTries int `json:"max_tries"`
		DagRun   struct {
			LogicalDate       time.Time      `json:"logical_date"`
			DataIntervalStart *time.Time     `json:"data_interval_start"`
			DataIntervalEnd   *time.Time     `json:"data_interval_end"`
			RunType           string         `json:"run_type"`
			Conf              map[string]any `json:"conf"`
		} `json:"dag_run"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return sdk.RunContext{}, fmt.Errorf("the run context is not readable: %w", err)
	}
	ti := wire.TaskInstance
	return sdk.RunContext{
		DagID: ti.DagID, RunID: ti.RunID, TaskID: ti.TaskID, TaskInstanceID: ti.ID, MapIndex: ti.MapIndex,
		TryNumber: ti.TryNumber, MaxTries: wire.MaxTries, LogicalDate: wire.DagRun.LogicalDate,
		DataIntervalStart: wire.DagRun.DataIntervalStart, DataIntervalEnd: wire.DagRun.DataIntervalEnd,
		RunType: wire.DagRun.RunType, Params: wire.DagRun.Conf,
	}, nil
}
