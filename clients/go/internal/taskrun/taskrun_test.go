package taskrun_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/baton-org/baton/clients/go/internal/taskrun"
	"github.com/baton-org/baton/clients/go/sdk"
)

// collected gathers an attempt's log records.
type collected struct {
	mu      sync.Mutex
	records []taskrun.Record
}

func (c *collected) sink(r taskrun.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
}

func (c *collected) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, r := range c.records {
		b.WriteString(r.Level + " " + r.Message + "\n")
	}
	return b.String()
}

func attempt(t *testing.T, fn any, env map[string]string) (taskrun.Outcome, *collected) {
	t.Helper()
	f, err := taskrun.Analyze(fn)
	if err != nil {
		t.Fatal(err)
	}
	logs := &collected{}
	run := sdk.RunContext{DagID: "d", RunID: "r", TaskID: "t", TryNumber: 2, MaxTries: 3, Params: map[string]any{"region": "eu"}}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	outcome := taskrun.Execute(context.Background(), taskrun.Attempt{
		Task: &taskrun.Task{TaskID: "t", Func: f}, Run: run, Sink: logs.sink, Secrets: taskrun.Secrets{Lookup: lookup},
	})
	return outcome, logs
}

func TestExecute_InjectsWhatTheFunctionNames_ByType(t *testing.T) {
	var seen []string
	task := func(log *slog.Logger, run sdk.RunContext, ctx context.Context, vars sdk.VariableClient, conns sdk.ConnectionClient, all sdk.Client, ptr *sdk.RunContext) error {
		if ctx == nil || log == nil || vars == nil || conns == nil || all == nil {
			return errors.New("something was not injected")
		}
		value, err := vars.GetVariable(ctx, "limits.max-rows")
		if err != nil {
			return err
		}
		conn, err := conns.GetConnection(ctx, "warehouse")
		if err != nil {
			return err
		}
		log.Info("ran", "try", run.TryNumber, "region", ptr.Params["region"])
		seen = append(seen, run.TaskID, value.(map[string]any)["rows"].(string), conn.Host, conn.Password, conn.Extra["sslmode"].(string))
		return nil
	}
	outcome, logs := attempt(t, task, map[string]string{
		"BATON_VAR_LIMITS_MAX_ROWS": `{"rows": "many"}`,
		"BATON_CONN_WAREHOUSE":      "postgres://etl:s3cr%40t@db.internal:5432/dw?sslmode=require",
	})
	if outcome.State != taskrun.Success {
		t.Fatalf("%+v\n%s", outcome, logs.text())
	}
	if strings.Join(seen, " ") != "t many db.internal s3cr@t require" {
		t.Fatalf("seen %v", seen)
	}
	record := logs.records[0]
	if record.Message != "ran" || record.Fields["try"] != int64(2) || record.Fields["region"] != "eu" || record.Fields["logger"] != taskrun.TaskLogger {
		t.Fatalf("log record %+v", record)
	}
}

func TestExecute_ReturnedError_FailsWithItsMessage(t *testing.T) {
	outcome, logs := attempt(t, func() error { return errors.New("the source is down") }, nil)
	if outcome.State != taskrun.Failed || outcome.Message != "the source is down" || !strings.Contains(logs.text(), "error task t failed: the source is down") {
		t.Fatalf("%+v\n%s", outcome, logs.text())
	}
}

func TestExecute_Skip_Skipped(t *testing.T) {
	outcome, _ := attempt(t, func() error { return sdk.Skip("nothing to do today") }, nil)
	if outcome.State != taskrun.Skipped || outcome.Message != "nothing to do today" {
		t.Fatalf("%+v", outcome)
	}
}

func explode() { panic("boom") }

func TestExecute_Panic_FailsWithItsStackInTheLog(t *testing.T) {
	outcome, logs := attempt(t, explode, nil)
	if outcome.State != taskrun.Failed || outcome.Message != "panic: boom" {
		t.Fatalf("%+v", outcome)
	}
	for _, want := range []string{"task t panicked: boom", "goroutine ", "taskrun_test.explode("} {
		if !strings.Contains(logs.text(), want) {
			t.Fatalf("the log lacks %q:\n%s", want, logs.text())
		}
	}
}

func TestLogger_GroupsAndAttributes_BecomeDottedFields(t *testing.T) {
	logs := &collected{}
	log := taskrun.NewLogger(logs.sink).With("job", "nightly").WithGroup("db")
	log.Warn("slow", "ms", 1500, slog.Group("pool", "size", 4), "err", errors.New("timeout"))
	r := logs.records[0]
	want := map[string]any{"logger": "task", "job": "nightly", "db.ms": int64(1500), "db.pool.size": int64(4), "db.err": "timeout"}
	if r.Level != "warning" || len(r.Fields) != len(want) {
		t.Fatalf("%+v", r)
	}
	for k, v := range want {
		if r.Fields[k] != v {
			t.Fatalf("field %s = %#v, want %#v (%+v)", k, r.Fields[k], v, r)
		}
	}
}

func TestParseRunContext_ReadsTheRunAnswer(t *testing.T) {
	run, err := taskrun.ParseRunContext([]byte(`{"task_instance": {"id": "01a2", "dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 3},
		"max_tries": 3, "dag_run": {"logical_date": "2026-12-01T06:00:00Z", "data_interval_start": null, "run_type": "manual", "conf": {"n": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if run.TaskInstanceID != "01a2" || run.MapIndex != -1 || !run.IsLastTry() || run.Params["n"] != float64(1) || run.LogicalDate.Hour() != 6 || run.DataIntervalStart != nil {
		t.Fatalf("%+v", run)
	}
}

func TestSecrets_ConnectionAsJSON_AndVariableThatIsNotJSON(t *testing.T) {
	s := taskrun.Secrets{Lookup: func(name string) (string, bool) {
		v, ok := map[string]string{
			"BATON_CONN_API":   `{"conn_type": "http", "host": "api.example", "extra": {"timeout": 5}}`,
			"BATON_VAR_REGION": "eu",
		}[name]
		return v, ok
	}}
	conn, ok, err := s.Connection("api")
	if err != nil || !ok || conn.ID != "api" || conn.Type != "http" || conn.Extra["timeout"] != float64(5) {
		t.Fatalf("%+v %v %v", conn, ok, err)
	}
	value, ok, err := s.Variable("region")
	if err != nil || !ok || value != "eu" {
		t.Fatalf("%v %v %v", value, ok, err)
	}
	if _, ok, _ := s.Variable("missing"); ok {
		t.Fatal("a missing variable was found")
	}
}
