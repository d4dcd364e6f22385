// Package integration_test runs the Go worker as a user does: bundle binaries built with
// `go build`, the baton-go-worker command, a live server (on PostgreSQL when
// BATON_TEST_POSTGRES_URL is set), and DAG runs triggered through the admin API.
package integration_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The heartbeat interval of the worker serving the queue "stale": longer than the server's
// timeout, so the server ends try 1 before it hears from it, and the next heartbeat gets a 409.
const staleHeartbeat = 6 * time.Second

func TestGoWorker_RunsBundlesBuiltWithGoBuild_ThroughEveryFault(t *testing.T) {
	s := startStack(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	tutorial, scenarios := filepath.Join(bundles, "tutorial"), filepath.Join(bundles, "scenarios")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, filepath.Join(root, "..", "..", "examples", "go"), "./tutorial", tutorial)
	goBuild(t, root, "./internal/integration/testdata/scenarios", scenarios)
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)

	s.setVariable(t, "salutation", "Good morning")
	s.setVariable(t, "my_variable", "from the server")
	main := s.startWorker(t, workerBinary, bundles, "--queue", "go", "--heartbeat-interval", "1s", "--claim-wait", "2s")
	stale := s.startWorker(t, workerBinary, bundles, "--queue", "stale", "--heartbeat-interval", staleHeartbeat.String(), "--claim-wait", "2s")
	if n := len(running(tutorial)) + len(running(scenarios)); n != 4 {
		t.Fatalf("%d bundle processes, want 4: each bundle started once per worker", n)
	}

	marker := filepath.Join(tmp, "stopped-at")
	runs := map[string]string{
		"tutorial_dag": s.trigger(t, "tutorial_dag", nil),
		"talk_dag":     s.trigger(t, "talk_dag", nil),
		"panic_dag":    s.trigger(t, "panic_dag", nil),
		"noisy_dag":    s.trigger(t, "noisy_dag", nil),
		"stale_dag":    s.trigger(t, "stale_dag", map[string]any{"marker": marker}),
	}

	t.Run("XCom passes between Go tasks; a failed try is retried", func(t *testing.T) {
		run := s.waitRun(t, "tutorial_dag", runs["tutorial_dag"])
		transform, show := taskOf(t, run, "transform"), taskOf(t, run, "show")
		if string(run.State) != "success" || state(transform) != "success" || transform.TryNumber != 2 || state(show) != "success" {
			t.Fatalf("run %s, transform %s try %d, show %s", run.State, state(transform), transform.TryNumber, state(show))
		}
		firstTry := s.logs(t, transform.Id, 1)
		for _, want := range []string{"fails its first try on purpose", "attempt 1 ended after", "up_for_retry"} {
			if !strings.Contains(firstTry, want) {
				t.Errorf("transform's first try's log lacks %q:\n%s", want, firstTry)
			}
		}
		shown := s.logs(t, show.Id, 1)
		for _, want := range []string{"Good morning, Ada!", "Good morning, Linus!", "done"} {
			if !strings.Contains(shown, want) {
				t.Errorf("show's log lacks %q (the XComs of names and transform):\n%s", want, shown)
			}
		}
	})

	t.Run("the talk's example runs as written", func(t *testing.T) {
		run := s.waitRun(t, "talk_dag", runs["talk_dag"])
		ti := taskOf(t, run, "transform")
		if state(ti) != "success" {
			t.Fatalf("transform %s", state(ti))
		}
		if log := s.logs(t, ti.Id, 1); !strings.Contains(log, "Obtained variable") {
			t.Fatalf("the task's slog record is not in its log:\n%s", log)
		}
	})

	t.Run("a panic fails the attempt with its stack in the log", func(t *testing.T) {
		run := s.waitRun(t, "panic_dag", runs["panic_dag"])
		ti := taskOf(t, run, "explode")
		if string(run.State) != "failed" || state(ti) != "failed" {
			t.Fatalf("run %s, explode %s", run.State, state(ti))
		}
		log := s.logs(t, ti.Id, 1)
		for _, want := range []string{"task explode panicked: boom in explode", "goroutine ", "main.explode(", "failed: panic: boom in explode"} {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %q:\n%s", want, log)
			}
		}
	})

	t.Run("every line a task logs is stored, whatever it holds", func(t *testing.T) {
		// A NUL or a field too many for one request lost the whole batch of lines around it.
		run := s.waitRun(t, "noisy_dag", runs["noisy_dag"])
		ti := taskOf(t, run, "logHostileLines")
		if string(run.State) != "success" || state(ti) != "success" {
			t.Fatalf("run %s, logHostileLines %s", run.State, state(ti))
		}
		log := s.logs(t, ti.Id, 1)
		wants := []string{"info before\uFFFDafter\n", "info not utf-8 \uFFFD\n", "info not a number\n", "info done\n"}
		for i := range 60 {
			wants = append(wants, fmt.Sprintf("info big %d\n", i))
		}
		for _, want := range wants {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %q:\n%.2000s", want, log)
			}
		}
	})

	t.Run("a 409 heartbeat cancels the task's context within one heartbeat interval", func(t *testing.T) {
		runID := runs["stale_dag"]
		var ended time.Time
		waitFor(t, "the server to end try 1 of the stale task", 2*time.Minute, func() bool {
			ti, ok := findTask(s.run(t, "stale_dag", runID), "waitForStop")
			if !ok || ti.TryNumber < 1 || ti.TryNumber == 1 && (state(ti) == "running" || state(ti) == "queued" || state(ti) == "scheduled" || state(ti) == "none") {
				return false
			}
			ended = time.Now()
			return true
		})
		var raw []byte
		waitFor(t, "the task to see its context cancelled", 2*time.Minute, func() bool {
			var err error
			raw, err = os.ReadFile(marker)
			return err == nil && len(raw) > 0
		})
		nanos, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		cancelled := time.Unix(0, nanos)
		// The server ended the try at or before `ended`; the worker's next heartbeat (at most one
		// interval later) got the 409, and the context was cancelled on that answer.
		if lag := cancelled.Sub(ended); lag > staleHeartbeat+3*time.Second {
			t.Fatalf("the context was cancelled %s after the server ended the try (heartbeat interval %s)", lag, staleHeartbeat)
		}
		run := s.waitRun(t, "stale_dag", runID)
		if ti := taskOf(t, run, "waitForStop"); string(run.State) != "success" || ti.TryNumber != 2 {
			t.Fatalf("run %s, try %d", run.State, ti.TryNumber)
		}
		if !strings.Contains(stale.Output(), "the server answered 409") {
			t.Fatalf("the worker did not say why it stopped the task:\n%s", stale.Output())
		}
	})

	t.Run("a bundle process killed mid-task: the attempt is retried in a new process", func(t *testing.T) {
		runID := s.trigger(t, "kill_dag", nil)
		var pid int
		waitFor(t, "try 1 of the hanging task to run", 2*time.Minute, func() bool {
			ti, ok := findTask(s.run(t, "kill_dag", runID), "hang")
			if !ok || state(ti) != "running" || ti.TryNumber != 1 {
				return false
			}
			if detail := s.taskInstance(t, ti.Id); detail.Pid != nil {
				pid = *detail.Pid
			}
			return pid != 0
		})
		if !slices.Contains(running(scenarios), pid) {
			t.Fatalf("pid %d, reported for the attempt, is not a process of the bundle (%v)", pid, running(scenarios))
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		run := s.waitRun(t, "kill_dag", runID)
		ti := taskOf(t, run, "hang")
		if string(run.State) != "success" || ti.TryNumber != 2 {
			t.Fatalf("run %s, hang %s try %d", run.State, state(ti), ti.TryNumber)
		}
		if log := s.logs(t, ti.Id, 1); !strings.Contains(log, "died during the attempt (signal: killed)") || !strings.Contains(log, "up_for_retry") {
			t.Fatalf("try 1's log does not say the bundle process died:\n%s", log)
		}
		if detail := s.taskInstance(t, ti.Id); detail.Pid == nil || *detail.Pid == pid {
			t.Fatalf("try 2 ran in pid %v, the killed process was %d", detail.Pid, pid)
		}
		if slices.Contains(running(scenarios), pid) {
			t.Fatalf("the killed process %d still runs", pid)
		}
	})

	t.Run("a worker killed with SIGKILL: the next one in its temporary directory removes its sockets' folders", func(t *testing.T) {
		before := running(tutorial, scenarios)
		killed := s.startWorker(t, workerBinary, bundles, "--queue", "nobody")
		var its []int
		for _, pid := range running(tutorial, scenarios) {
			if !slices.Contains(before, pid) {
				its = append(its, pid)
			}
		}
		left := entries(t, killed.tmp)
		if len(its) != 2 || len(left) != 2 {
			t.Fatalf("the worker runs bundle processes %v with socket folders %v, want one of each per bundle", its, left)
		}
		if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-killed.exited
		waitFor(t, "its bundle processes to die with it", time.Minute, func() bool {
			return !slices.ContainsFunc(running(tutorial, scenarios), func(pid int) bool { return slices.Contains(its, pid) })
		})
		if still := entries(t, killed.tmp); !slices.Equal(still, left) {
			t.Fatalf("after the kill its temporary directory holds %v, not the folders it left %v", still, left)
		}
		next := s.startWorkerIn(t, killed.tmp, workerBinary, bundles, "--queue", "nobody")
		now := entries(t, next.tmp)
		if len(now) != 2 || slices.ContainsFunc(now, func(name string) bool { return slices.Contains(left, name) }) {
			t.Fatalf("the next worker's temporary directory holds %v; the killed worker's folders were %v", now, left)
		}
		if code := next.stop(t); code != 0 {
			t.Errorf("the worker exited with %d:\n%s", code, next.Output())
		}
		if now := entries(t, next.tmp); len(now) != 0 {
			t.Errorf("the worker left %v in its temporary directory", now)
		}
	})

	t.Run("SIGTERM drains; nothing is left running or behind", func(t *testing.T) {
		for _, w := range []*workerProcess{main, stale} {
			if code := w.stop(t); code != 0 {
				t.Errorf("the worker exited with %d:\n%s", code, w.Output())
			}
		}
		waitFor(t, "every bundle process to end", time.Minute, func() bool {
			return len(running(tutorial, scenarios)) == 0
		})
		// Not even the socket of the bundle process killed above.
		for _, w := range []*workerProcess{main, stale} {
			if left, err := os.ReadDir(w.tmp); err != nil || len(left) != 0 {
				t.Errorf("the worker left %v in its temporary directory (%v)", left, err)
			}
		}
	})
}

func TestGoWorker_ServerKilledAndRestartedMidTask_TasksCallingTheAPIRideItOut(t *testing.T) {
	s := startOwnStack(t, "BATON_SCHEDULER_INTERVAL=0.2", "BATON_CLAIM_MAX_WAIT=2")
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", filepath.Join(bundles, "scenarios"))
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)
	s.setVariable(t, "my_variable", "from the server")
	s.startWorker(t, workerBinary, bundles, "--queue", "restart", "--heartbeat-interval", "1s", "--claim-wait", "2s")

	marker := filepath.Join(tmp, "restarted")
	runID := s.trigger(t, "restart_dag", map[string]any{"marker": marker})
	waitFor(t, "every caller to run", 3*time.Minute, func() bool {
		running := 0
		for _, ti := range s.run(t, "restart_dag", runID).TaskInstances {
			if state(ti) == "running" {
				running++
			}
		}
		return running == 4
	})
	// The callers call the API every 100 ms while the server is down: their calls are refused until
	// it answers again (its start takes seconds), longer than the default retries last.
	if err := s.server.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run := s.waitRun(t, "restart_dag", runID)
	for _, ti := range run.TaskInstances {
		if state(ti) != "success" || ti.TryNumber != 1 {
			t.Errorf("%s: %s on try %d, want success on try 1:\n%s", ti.TaskId, state(ti), ti.TryNumber, s.logs(t, ti.Id, ti.TryNumber))
		}
	}
	if string(run.State) != "success" {
		t.Fatalf("run %s", run.State)
	}
}

// entries lists the names in the folder dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	found, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(found))
	for _, entry := range found {
		names = append(names, entry.Name())
	}
	return names
}

// SIGTERM sent to the worker's whole process group — systemd's stop (to the whole cgroup),
// `kill -TERM -PGID`, a supervisor stopping a group — drains: the running task finishes within the
// grace period and succeeds. The bundle processes, in that group too, ignore SIGTERM (the worker ends
// them); they died of it before, and the task failed under the drain ("died during the attempt").
func TestGoWorker_SIGTERMToItsProcessGroup_RunningTasksFinish(t *testing.T) {
	s := startStack(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	scenarios := filepath.Join(bundles, "scenarios")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", scenarios)
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)

	w := s.startWorkerInItsGroup(t, workerBinary, bundles, "--queue", "drain", "--heartbeat-interval", "1s", "--claim-wait", "2s")

	marker := filepath.Join(tmp, "signalled")
	runID := s.trigger(t, "drain_dag", map[string]any{"marker": marker})
	var id uuid.UUID
	waitFor(t, "the task to run", 2*time.Minute, func() bool {
		ti, ok := findTask(s.run(t, "drain_dag", runID), "finishAfterSignal")
		id = ti.Id
		return ok && state(ti) == "running" && strings.Contains(s.logs(t, ti.Id, 1), "working")
	})
	if err := syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker to start draining", time.Minute, func() bool {
		return strings.Contains(w.Output(), "draining")
	})
	time.Sleep(200 * time.Millisecond) // the bundle process's SIGTERM, had it been fatal, has struck by now
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("the worker did not stop within 2 minutes of SIGTERM")
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the worker exited with %d", code)
	}
	ti := taskOf(t, s.waitRun(t, "drain_dag", runID), "finishAfterSignal")
	if log := s.logs(t, id, 1); state(ti) != "success" || ti.TryNumber != 1 || !strings.Contains(log, "finished after the signal") {
		t.Fatalf("the task ended %s on try %d:\n%s", state(ti), ti.TryNumber, log)
	}
	if n := len(running(scenarios)); n != 0 {
		t.Errorf("%d bundle processes outlived the worker", n)
	}
}

// A task ended while the server cannot be reached: one SIGTERM waits for its logs and its final
// state (five minutes each), a second gives them one last try and the worker exits. Before, the
// second signal only handed running tasks back, and a report waiting for the server went on waiting.
func TestGoWorker_SecondSIGTERMWhileTheServerIsDown_GivesTheReportsUpAndExits(t *testing.T) {
	// Mostly waiting out a downtime on a server of its own: beside the other such test, not after it.
	t.Parallel()
	s := startOwnStack(t, "BATON_SCHEDULER_INTERVAL=0.2", "BATON_CLAIM_MAX_WAIT=2")
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", filepath.Join(bundles, "scenarios"))
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)
	w := s.startWorker(t, workerBinary, bundles, "--queue", "hurry", "--heartbeat-interval", "1s", "--claim-wait", "2s", "--grace-period", "10m")

	marker := filepath.Join(tmp, "signalled")
	runID := s.trigger(t, "hurry_dag", map[string]any{"marker": marker})
	waitFor(t, "the task to run", 2*time.Minute, func() bool {
		ti, ok := findTask(s.run(t, "hurry_dag", runID), "finishAfterSignal")
		return ok && state(ti) == "running" && strings.Contains(s.logs(t, ti.Id, 1), "working")
	})
	s.server.Stop()
	if err := os.WriteFile(marker, nil, 0o600); err != nil { // the task ends while the server is down
		t.Fatal(err)
	}
	waitFor(t, "the worker to retry its logs", 2*time.Minute, func() bool {
		return strings.Contains(w.Output(), "log upload failed")
	})
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the worker to start draining", time.Minute, func() bool { return strings.Contains(w.Output(), "draining") })
	retries := strings.Count(w.Output(), "log upload failed")
	waitFor(t, "another retry", 2*time.Minute, func() bool { return strings.Count(w.Output(), "log upload failed") > retries })
	select {
	case <-w.exited:
		t.Fatalf("one signal: the worker left without waiting for the server:\n%s", w.Output())
	default:
	}

	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	hurried := time.Now()
	select {
	case <-w.exited:
	case <-time.After(time.Minute):
		t.Fatalf("the worker did not exit within a minute of the second SIGTERM:\n%s", w.Output())
	}
	if took := time.Since(hurried); took > 30*time.Second {
		t.Errorf("the worker took %s to exit after the second SIGTERM", took)
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the worker exited with %d", code)
	}
	for _, said := range []string{"one last try", "the final state could not be reported"} {
		if !strings.Contains(w.Output(), said) {
			t.Errorf("the worker did not say %q:\n%s", said, w.Output())
		}
	}
}

func TestGoWorker_ProcessesATaskLeftRunning_AreStoppedWhenItReturns(t *testing.T) {
	s := startStack(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	scenarios := filepath.Join(bundles, "scenarios")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", scenarios)
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)
	s.startWorker(t, workerBinary, bundles, "--queue", "leftover", "--heartbeat-interval", "1s", "--claim-wait", "2s")

	run := s.waitRun(t, "leftover_dag", s.trigger(t, "leftover_dag", nil))
	ti := taskOf(t, run, "leaveProcesses")
	log := s.logs(t, ti.Id, 1)
	_, listed, found := strings.Cut(log, "leftovers: ")
	if state(ti) != "success" || !found {
		t.Fatalf("the task ended %s:\n%s", state(ti), log)
	}
	var pids [4]int
	if _, err := fmt.Sscan(listed, &pids[0], &pids[1], &pids[2], &pids[3]); err != nil {
		t.Fatalf("no pids in %q: %v", listed, err)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// The attempt ended after they were stopped (they ran on for ever before): a child of the bundle
	// process and a process whose parent exited by SIGTERM, one ignoring it by SIGKILL after the grace.
	for i, what := range []string{"its child", "a process whose parent exited", "a process ignoring SIGTERM"} {
		if alive(pids[i]) {
			t.Errorf("%s (pid %d) still runs after the attempt ended:\n%s", what, pids[i], log)
		}
	}
	if !strings.Contains(log, "the task left 3 process(es) running") {
		t.Errorf("the log does not say what was stopped:\n%s", log)
	}
	// Started in a session of its own: meant to outlive the task, left alone; the bundle serves on.
	if !alive(pids[3]) {
		t.Errorf("the process started in a session of its own (pid %d) was stopped", pids[3])
	}
	if n := len(running(scenarios)); n != 1 {
		t.Errorf("%d bundle processes run, want 1", n)
	}
}

func TestGoWorker_Stopped_ProcessesOfTasksItAbandoned_AreKilledWithTheBundle(t *testing.T) {
	s := startStack(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", filepath.Join(bundles, "scenarios"))
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)
	w := s.startWorker(t, workerBinary, bundles, "--queue", "abandoned", "--heartbeat-interval", "1s", "--claim-wait", "2s", "--grace-period", "1s")

	runID := s.trigger(t, "abandoned_dag", nil)
	var child int
	waitFor(t, "the task to start its child", 2*time.Minute, func() bool {
		ti, ok := findTask(s.run(t, "abandoned_dag", runID), "leaveAndIgnoreStop")
		if !ok || state(ti) != "running" {
			return false
		}
		_, listed, found := strings.Cut(s.logs(t, ti.Id, 1), "child: ")
		return found && func() bool { _, err := fmt.Sscan(listed, &child); return err == nil }()
	})
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	// The task ignores the stop: handed back after the grace period, abandoned, ended with its bundle.
	if code := w.stop(t); code != 0 {
		t.Errorf("the worker exited with %d:\n%s", code, w.Output())
	}
	waitFor(t, "the abandoned task's child to be gone", time.Minute, func() bool { return !alive(child) })
}

// alive reports whether a process runs (a zombie nobody reaped yet counts as ended).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return err == nil && !zombie(stat)
}

func TestGoWorker_HandedBackWhileStarting_StartIsSeenThrough_ReportedUpForRetry_TaskNotCalled(t *testing.T) {
	s := startStack(t)
	root := moduleRoot(t)
	tmp := t.TempDir()
	bundles := filepath.Join(tmp, "bundles")
	workerBinary := filepath.Join(tmp, "baton-go-worker")
	goBuild(t, root, "./internal/integration/testdata/scenarios", filepath.Join(bundles, "scenarios"))
	goBuild(t, root, "./cmd/baton-go-worker", workerBinary)

	proxy, held, release := holdingStart(t, s.server.BaseURL)
	w := s.startWorker(t, workerBinary, bundles, "--server", proxy, "--queue", "starting", "--heartbeat-interval", "1s", "--claim-wait", "2s")
	runID := s.trigger(t, "starting_dag", nil)
	select {
	case <-held:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the attempt was never started:\n%s", w.Output())
	}
	// The second SIGTERM hands the running attempts back at once: this one is starting.
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the worker to drain", time.Minute, func() bool { return strings.Contains(w.Output(), "draining") })
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the worker to hand its tasks back", time.Minute, func() bool {
		return strings.Contains(w.Output(), "handing back running tasks")
	})
	release()
	select {
	case <-w.exited:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the worker did not stop:\n%s", w.Output())
	}
	log := s.handedBackBeforeItBegan(t, "starting_dag", runID, "sayItRan")
	if strings.Contains(log, "the task ran") {
		t.Fatalf("the task was called after the hand back:\n%s", log)
	}
}

// holdingStart is a proxy in front of the server at target that holds the first start (`.../run`)
// until release is called: its URL, and a channel closed once the start is held.
func holdingStart(t *testing.T, target string) (string, <-chan struct{}, func()) {
	t.Helper()
	server, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(server)
	held, released := make(chan struct{}), make(chan struct{})
	var holdOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(released) }) }
	proxy := httptest.NewServer(http.HandlerFunc(func(out http.ResponseWriter, in *http.Request) {
		if strings.HasSuffix(in.URL.Path, "/run") {
			holdOnce.Do(func() {
				close(held)
				<-released
			})
		}
		forward.ServeHTTP(out, in)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(release) // before the proxy closes: it waits for the held request
	return proxy.URL, held, release
}

// handedBackBeforeItBegan checks that the task's first try was handed back for another try, reported
// by the worker without its task being called; its log.
func (s *stack) handedBackBeforeItBegan(t *testing.T, dagID, runID, taskID string) string {
	t.Helper()
	ti := taskOf(t, s.run(t, dagID, runID), taskID)
	log := s.logs(t, ti.Id, 1)
	if ti.TryNumber != 1 || (state(ti) != "up_for_retry" && state(ti) != "queued" && state(ti) != "scheduled") {
		t.Fatalf("the attempt is %s on try %d, not handed back for another try:\n%s", state(ti), ti.TryNumber, log)
	}
	if !strings.Contains(log, "the worker is shutting down: the attempt is handed back") ||
		!strings.Contains(log, ": up_for_retry: stopped before it began") {
		t.Fatalf("the log does not say the attempt was handed back before it began:\n%s", log)
	}
	return log
}
