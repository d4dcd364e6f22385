package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
	"github.com/google/uuid"
)

// Why an attempt was stopped before its task ended.
const (
	stopByServer  = "server"    // a heartbeat was answered 404/409/401/403: nothing more is reported
	stopTimeout   = "timeout"   // its execution timeout passed: it fails
	stopHandBack  = "hand_back" // the worker is shutting down: it is reported up_for_retry
	notReported   = "not_reported"
	reportPatient = 5 * time.Minute // how long the start and the final state are retried
	// lastTry is how long a call to the server still has once the worker hurries (a second signal,
	// or Stop's context ended): the call on its way, or the one after it, is the last.
	lastTry = 5 * time.Second
)

// hurried reports whether hurry is closed.
func hurried(hurry <-chan struct{}) bool {
	select {
	case <-hurry:
		return true
	default:
		return false
	}
}

// callContext is a context for one call: it ends after limit, or lastTry after hurry is closed.
func callContext(limit time.Duration, hurry <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	go func() {
		select {
		case <-hurry:
		case <-ctx.Done():
			return
		}
		timer := time.NewTimer(lastTry)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// finalState is the state to report for an outcome: failures retry while attempts remain.
func finalState(outcome taskrun.Outcome, tryNumber, maxTries int) string {
	switch outcome.State {
	case taskrun.Success, taskrun.Skipped:
		return outcome.State
	}
	if tryNumber < maxTries {
		return "up_for_retry"
	}
	return "failed"
}

// attempt supervises one claimed workload from `run` to its final state.
type attempt struct {
	w        *Worker
	workload api.ExecuteTaskWorkload
	label    string

	runner   runner      // the task's runner, once resolved: a renewed token is passed on to it
	renewMu  sync.Mutex  // one renewal of an expired token at a time
	taskOver atomic.Bool // the task has returned (set under stopMu): a renewed token is no longer passed on to it
	// endBeats stops the attempt's heartbeats and waits for them to end; nil when none began.
	endBeats func()

	stopMu sync.Mutex
	reason string
	note   string
	cancel context.CancelFunc
}

func newAttempt(w *Worker, wl api.ExecuteTaskWorkload) *attempt {
	ti := wl.TaskInstance
	return &attempt{w: w, workload: wl, label: fmt.Sprintf("%s/%s/%s try %d/%d", ti.DagId, ti.RunId, ti.TaskId, ti.TryNumber, wl.MaxTries)}
}

// stop cancels the task's context, once, for the first reason given. The server's stop comes too
// late once the task has returned: its final state is being reported, and that report gets its own
// answer.
func (a *attempt) stop(reason, note string) {
	a.stopMu.Lock()
	if a.reason != "" || (reason == stopByServer && a.taskOver.Load()) {
		a.stopMu.Unlock()
		return
	}
	a.reason, a.note = reason, note
	cancel := a.cancel
	a.stopMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (a *attempt) stopReason() (string, string) {
	a.stopMu.Lock()
	defer a.stopMu.Unlock()
	return a.reason, a.note
}

// patiently calls fn until it succeeds, fails for good, or reportPatient has passed; transport
// errors and 5xx answers are retried with backoff. Once the worker hurries (HandBack), the call on
// its way, or the next, is the last try, of lastTry at most.
func (a *attempt) patiently(what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(reportPatient)
	delay := 500 * time.Millisecond
	for {
		last := hurried(a.w.handBack)
		ctx, cancel := callContext(time.Minute, a.w.handBack)
		err := fn(ctx)
		cancel()
		// A call the worker's hurry caught on its way had its last try.
		if err == nil || !retryable(err) || last || hurried(a.w.handBack) || time.Now().Add(delay).After(deadline) {
			return err
		}
		a.w.log.Warn("retrying", "attempt", a.label, "what", what, "in", delay, "error", err)
		select {
		case <-time.After(delay):
		case <-a.w.handBack:
		}
		delay = min(delay*2, 15*time.Second)
	}
}

func retryable(err error) bool {
	var transport *baton.TransportError
	return errors.As(err, &transport) || errors.Is(err, baton.ErrServer) || errors.Is(err, context.DeadlineExceeded)
}

// startPayload builds the `run` body through JSON: the generated model of an older API version
// has no unix_user, and the same code builds against every version's model.
func startPayload(hostname string, pid int, unixUser string, start time.Time) (api.TIRunPayload, error) {
	var payload api.TIRunPayload
	raw, err := json.Marshal(map[string]any{"hostname": hostname, "pid": pid, "unix_user": unixUser, "start_date": start})
	if err == nil {
		err = json.Unmarshal(raw, &payload)
	}
	return payload, err
}

// run supervises the attempt to its end; the state reported, or notReported.
func (a *attempt) run() string {
	w, ti := a.w, a.workload.TaskInstance
	client, err := baton.NewClient(w.cfg.ServerURL, a.workload.Token, w.attemptClientOptions()...)
	if err != nil {
		w.log.Error("attempt not started", "attempt", a.label, "error", err)
		return notReported
	}
	run, resolveErr := w.source.resolve(a.workload.EntryPoint)
	pid := w.pid
	if resolveErr == nil {
		pid = run.pid()
		a.runner = run
	}
	shipper := newShipper(client, ti.Id, w.log, reportPatient, w.handBack, func(stale string, err error) bool { return a.renewed(client, stale, err) })
	began := time.Now()
	payload, err := startPayload(w.hostname, pid, w.unixUser, began.UTC())
	var started *api.TIRunContext
	if err == nil {
		err = a.patiently("start", func(ctx context.Context) (err error) {
			started, err = client.Start(ctx, ti.Id, payload)
			return err
		})
	}
	if err != nil {
		// Left claimed and unstarted, the workload goes back to the queue after the claim timeout.
		w.log.Warn("attempt not started", "attempt", a.label, "error", err)
		shipper.close()
		return notReported
	}
	shipper.workerLine("info", fmt.Sprintf("attempt %d of %d started on %s (pid %d)", ti.TryNumber, started.MaxTries, w.hostname, pid))
	w.log.Info("attempt started", "attempt", a.label, "pid", pid)
	outcome := a.execute(client, run, resolveErr, started, shipper)
	// The heartbeats go on until the final state is reported (or given up): the task's last lines may
	// take long to ship (many held, or the server away for a moment, retried for minutes), and the
	// server fails an attempt it does not hear from, refusing the success reported after.
	defer a.endHeartbeats()
	took := fmt.Sprintf("%.1f s", time.Since(began).Seconds())
	reason, note := a.stopReason()
	if reason == stopByServer {
		w.log.Warn("attempt stopped by the server", "attempt", a.label, "after", took, "why", note)
		shipper.workerLine("error", note)
		shipper.close()
		return notReported
	}
	state := finalState(outcome, ti.TryNumber, started.MaxTries)
	if reason == stopHandBack {
		state = "up_for_retry"
	}
	why := ""
	if outcome.Message != "" && state != "success" {
		why = ": " + outcome.Message
	}
	shipper.workerLine("info", fmt.Sprintf("attempt %d ended after %s: %s%s", ti.TryNumber, took, state, why))
	if !shipper.close() {
		w.log.Warn("some log lines could not be shipped", "attempt", a.label)
	}
	reported := a.finish(client, state)
	w.log.Info("attempt ended", "attempt", a.label, "state", reported, "after", took, "outcome", outcome.Message)
	return reported
}

// execute runs the task, until it ends or is stopped, with heartbeats that go on after it returns,
// until endHeartbeats.
func (a *attempt) execute(client *baton.Client, run runner, resolveErr error, started *api.TIRunContext, shipper *shipper) taskrun.Outcome {
	if resolveErr != nil {
		shipper.workerLine("error", resolveErr.Error())
		return taskrun.Outcome{State: taskrun.Failed, Message: resolveErr.Error()}
	}
	runContext, err := json.Marshal(started)
	if err != nil {
		return taskrun.Outcome{State: taskrun.Failed, Message: err.Error()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.stopMu.Lock()
	a.cancel = cancel
	reason, note := a.reason, a.note
	a.stopMu.Unlock()
	if reason != "" {
		// Handed back while its start was on its way (seen through: the server may have started it
		// already): the task is not called, and the attempt is reported up_for_retry.
		shipper.workerLine("warning", note)
		return taskrun.Outcome{State: taskrun.Failed, Message: "stopped before it began"}
	}
	beatCtx, stopBeats := context.WithCancel(context.Background())
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		a.heartbeat(beatCtx, client, run, run.pid())
	}()
	a.endBeats = func() {
		stopBeats()
		<-beatDone
	}
	if limit := a.workload.ExecutionTimeoutSeconds; limit != nil {
		timer := time.AfterFunc(time.Duration(*limit)*time.Second, func() {
			a.stop(stopTimeout, fmt.Sprintf("execution timeout of %ds exceeded: stopping the task", *limit))
		})
		defer timer.Stop()
	}
	outcome := run.run(ctx, runRequest{
		client: client, serverURL: a.w.cfg.ServerURL, entryPoint: a.workload.EntryPoint, runContext: runContext, sink: shipper.add,
	})
	a.stopMu.Lock()
	a.taskOver.Store(true)
	a.stopMu.Unlock()
	cancel()
	switch reason, note := a.stopReason(); reason {
	case stopTimeout:
		shipper.workerLine("error", note)
		outcome = taskrun.Outcome{State: taskrun.Failed, Message: fmt.Sprintf("execution timeout of %ds exceeded", *a.workload.ExecutionTimeoutSeconds)}
	case stopHandBack:
		shipper.workerLine("warning", note)
	}
	return outcome
}

// endHeartbeats stops the attempt's heartbeats, if they began, and waits for them to end.
func (a *attempt) endHeartbeats() {
	if a.endBeats != nil {
		a.endBeats()
	}
}

// heartbeat says every interval that the attempt is alive, until ctx ends, and stops it when the
// server answers that it is not (404, 409) or no longer takes its token (401, 403). Once the task has
// returned, such an answer only ends the heartbeats: the final state's report gets its own answer.
func (a *attempt) heartbeat(ctx context.Context, client *baton.Client, run runner, pid int) {
	ti := a.workload.TaskInstance
	body := api.TIHeartbeatPayload{Hostname: a.w.hostname, Pid: pid}
	token := client.Token()
	every(ctx, a.w.cfg.HeartbeatInterval, func() bool {
		stale := client.Token()
		err := client.Heartbeat(ctx, ti.Id, body)
		var apiErr *baton.APIError
		switch {
		case ctx.Err() != nil:
			return false
		case err != nil && a.renewed(client, stale, err):
			token = client.Token() // renewed() passed it on to the task
			return true
		case errors.As(err, &apiErr) && (apiErr.Status == 404 || apiErr.Status == 409 || apiErr.Status == 401 || apiErr.Status == 403):
			if a.taskOver.Load() {
				// Nothing left to stop (stop would ignore it); the answer may even be to the final
				// state just reported.
				a.w.log.Debug("heartbeats end: the task has returned and the server no longer takes them", "attempt", a.label, "error", err)
				return false
			}
			a.stop(stopByServer, fmt.Sprintf("the server answered %d (%s) to a heartbeat: %s; the task is stopped", apiErr.Status, apiErr.Reason, apiErr.Message))
			return false
		case err != nil:
			a.w.log.Warn("heartbeat failed", "attempt", a.label, "error", err)
			return true
		}
		if fresh := client.Token(); fresh != token {
			token = fresh
			if !a.taskOver.Load() { // a task that has returned needs no token
				run.tokenRefreshed(ti.Id.String(), token)
			}
		}
		return true
	})
}

// every calls beat every interval until ctx ends or beat returns false.
func every(ctx context.Context, interval time.Duration, beat func() bool) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if !beat() {
			return
		}
	}
}

// finish reports the final state under a context of its own (a stopped task still reports).
func (a *attempt) finish(client *baton.Client, state string) string {
	body := api.TIStatePayload{State: api.TIStatePayloadState(state), EndDate: time.Now().UTC()}
	var answer *api.TIStateResponse
	err := a.patiently("reporting the final state", func(ctx context.Context) (err error) {
		stale := client.Token()
		answer, err = client.Finish(ctx, a.workload.TaskInstance.Id, body)
		if err != nil && a.renewed(client, stale, err) {
			answer, err = client.Finish(ctx, a.workload.TaskInstance.Id, body)
		}
		return err
	})
	if err != nil {
		a.w.log.Error("the final state could not be reported", "attempt", a.label, "state", state, "error", err)
		return notReported
	}
	return string(answer.State)
}

// renewed reports whether the attempt's token, stale when err answered, had expired (401
// token_expired: no server answered in its last window, as during a downtime) and is now replaced by
// a fresh one the worker got with its own credential, or already was, by another of the attempt's calls.
func (a *attempt) renewed(client *baton.Client, stale string, err error) bool {
	var apiErr *baton.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Reason != "token_expired" {
		return false
	}
	a.renewMu.Lock()
	defer a.renewMu.Unlock()
	if client.Token() != stale {
		return true
	}
	ti := a.workload.TaskInstance
	var answer *reissuedTokens
	err = a.patiently("renewing the expired token", func(ctx context.Context) (err error) {
		answer, err = reissueTaskTokens(ctx, a.w.client, a.w.cfg.ServerURL, a.w.ID(), ti.Id)
		return err
	})
	if err != nil {
		a.w.log.Warn("no fresh token for the expired one", "attempt", a.label, "error", err)
		return false
	}
	for _, fresh := range answer.Tokens {
		if fresh.TaskInstanceID == ti.Id && fresh.TryNumber == ti.TryNumber {
			a.w.log.Info("the expired execution token was renewed with the worker's credential", "attempt", a.label)
			client.SetToken(fresh.Token)
			if a.runner != nil && !a.taskOver.Load() { // a task that has returned needs no token
				a.runner.tokenRefreshed(ti.Id.String(), fresh.Token)
			}
			return true
		}
	}
	a.w.log.Warn("the server gives the attempt no fresh token", "attempt", a.label, "refused", answer.Refused)
	return false
}

// reissuedTokens is the answer of POST /workers/{worker_id}/task-tokens: fresh execution tokens, and
// why each other task instance asked for got none.
type reissuedTokens struct {
	Tokens []struct {
		TaskInstanceID uuid.UUID `json:"task_instance_id"`
		TryNumber      int       `json:"try_number"`
		Token          string    `json:"token"`
	} `json:"tokens"`
	Refused []struct {
		TaskInstanceID uuid.UUID `json:"task_instance_id"`
		Reason         string    `json:"reason"`
	} `json:"refused"`
}

// reissueTaskTokens asks, with the worker's credential, for a fresh execution token for the running
// attempt ti it holds (after its token expired). The operation is of API version 2026-12-02 on, and
// this package builds over every version's generated client (codegen verify), so it is sent through
// the client's configured HTTP client (version header, credential, retries) rather than a generated
// method that older versions lack.
func reissueTaskTokens(ctx context.Context, client *baton.Client, serverURL string, workerID, ti uuid.UUID) (*reissuedTokens, error) {
	body, err := json.Marshal(map[string][]uuid.UUID{"task_instance_ids": {ti}})
	if err != nil {
		return nil, err
	}
	endpoint := strings.TrimRight(serverURL, "/") + "/workers/" + workerID.String() + "/task-tokens"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if err := baton.CheckResponse(resp, data); err != nil {
		return nil, err
	}
	var answer reissuedTokens
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, fmt.Errorf("baton: the answer of task-tokens: %w", err)
	}
	return &answer, nil
}
