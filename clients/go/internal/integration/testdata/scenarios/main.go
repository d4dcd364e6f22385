// A bundle of the situations a worker must survive, for the integration test: the talk's
// example as written, a task the server stops (409), a panic, a task whose process is killed,
// tasks calling the API while the server restarts, a task that leaves processes running.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/sdk"
)

type scenarios struct{}

func (m *scenarios) RegisterDags(dagbag bundle.Registry) error {
	// Printed before go-plugin's handshake: it must not reach stdout, where the worker reads it.
	fmt.Println("registering the scenarios")
	dag := dagbag.AddDag("talk_dag", bundle.Queue("go"))
	dag.AddTask(transform)

	stale := dagbag.AddDag("stale_dag", bundle.Queue("stale"), bundle.Retries(1), bundle.RetryDelay(time.Second))
	stale.AddTask(waitForStop)

	panics := dagbag.AddDag("panic_dag", bundle.Queue("go"))
	panics.AddTask(explode)

	noisy := dagbag.AddDag("noisy_dag", bundle.Queue("go"))
	noisy.AddTask(logHostileLines)

	killed := dagbag.AddDag("kill_dag", bundle.Queue("go"), bundle.Retries(1), bundle.RetryDelay(time.Second))
	killed.AddTask(hang)

	drain := dagbag.AddDag("drain_dag", bundle.Queue("drain"))
	drain.AddTask(finishAfterSignal)

	hurry := dagbag.AddDag("hurry_dag", bundle.Queue("hurry"))
	hurry.AddTask(finishAfterSignal)

	starting := dagbag.AddDag("starting_dag", bundle.Queue("starting"), bundle.Retries(1))
	starting.AddTask(sayItRan)

	leftovers := dagbag.AddDag("leftover_dag", bundle.Queue("leftover"))
	leftovers.AddTask(leaveProcesses)

	abandoned := dagbag.AddDag("abandoned_dag", bundle.Queue("abandoned"))
	abandoned.AddTask(leaveAndIgnoreStop)

	restart := dagbag.AddDag("restart_dag", bundle.Queue("restart"))
	for i := range restartTasks {
		restart.AddTask(callUntilRestarted, bundle.TaskID(fmt.Sprintf("caller_%d", i)))
	}
	return nil
}

// finishAfterSignal logs that it runs, waits until the file the run's params name exists (the test
// writes it after it signalled the worker), then works on for a second and succeeds.
func finishAfterSignal(ctx context.Context, run sdk.RunContext, log *slog.Logger) error {
	log.Info("working")
	marker := fmt.Sprint(run.Params["marker"])
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
	}
	log.Info("finished after the signal")
	return nil
}

// sayItRan logs that it ran.
func sayItRan(log *slog.Logger) {
	log.Info("the task ran")
}

// leaveProcesses starts processes and returns without waiting for them: a child of the bundle
// process, one whose parent (a shell) exited at once, one that ignores SIGTERM, and one in a session
// of its own (meant to outlive the task). It logs their pids in that order.
func leaveProcesses(log *slog.Logger) error {
	plain := exec.Command("sleep", "600")
	if err := plain.Start(); err != nil {
		return err
	}
	orphan, err := exec.Command("sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		return err
	}
	stubborn := exec.Command("sh", "-c", `trap "" TERM; echo ready; exec sleep 600`)
	ready, err := stubborn.StdoutPipe()
	if err != nil {
		return err
	}
	if err := stubborn.Start(); err != nil {
		return err
	}
	if _, err := bufio.NewReader(ready).ReadString('\n'); err != nil { // SIGTERM is ignored from now on
		return err
	}
	away := exec.Command("sleep", "600")
	away.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := away.Start(); err != nil {
		return err
	}
	log.Info(fmt.Sprintf("leftovers: %d %s %d %d", plain.Process.Pid, strings.TrimSpace(string(orphan)), stubborn.Process.Pid, away.Process.Pid))
	return nil
}

// leaveAndIgnoreStop starts a process, logs its pid, and never returns, whatever its context says.
func leaveAndIgnoreStop(log *slog.Logger) error {
	child := exec.Command("sleep", "600")
	if err := child.Start(); err != nil {
		return err
	}
	log.Info(fmt.Sprintf("child: %d", child.Process.Pid))
	select {}
}

// restartTasks is how many tasks of restart_dag run side by side.
const restartTasks = 4

// callUntilRestarted reads a variable every 100 ms until the file the run's params name exists
// (the test writes it once the server it killed answers again), then once more, and returns the
// number of calls.
func callUntilRestarted(ctx context.Context, run sdk.RunContext, client sdk.VariableClient, log *slog.Logger) (int, error) {
	marker := fmt.Sprint(run.Params["marker"])
	for calls := 1; ; calls++ {
		_, restarted := os.Stat(marker)
		if _, err := client.GetVariable(ctx, "my_variable"); err != nil {
			return calls, err
		}
		if restarted == nil {
			log.Info("the API answered through the restart", "calls", calls)
			return calls, nil
		}
		select {
		case <-ctx.Done():
			return calls, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transform is the talk's task, as written there (with the logger it logs to).
func transform(ctx context.Context, client sdk.VariableClient, log *slog.Logger) error {
	val, err := client.GetVariable(ctx, "my_variable")
	if err != nil {
		return err
	}
	log.Info("Obtained variable", "my_variable", val)
	return nil
}

// waitForStop waits, on its first try, until its context is cancelled, and writes the time of
// that into the file the run's params name.
func waitForStop(ctx context.Context, run sdk.RunContext, log *slog.Logger) error {
	if run.TryNumber > 1 {
		return nil
	}
	log.Info("waiting to be stopped")
	<-ctx.Done()
	marker := fmt.Sprint(run.Params["marker"])
	return os.WriteFile(marker, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o600)
}

// logHostileLines logs what a task may: NUL, bytes that are not UTF-8, a field JSON has no value
// for, and lines whose fields together outgrow a request (5.4 MB).
func logHostileLines(log *slog.Logger) {
	log.Info("before\x00after")
	log.Info("not utf-8 \xff")
	log.Info("not a number", "ratio", math.NaN(), "kept", 1)
	payload := strings.Repeat("x", 90_000)
	for i := range 60 {
		log.Info(fmt.Sprintf("big %d", i), "payload", payload)
	}
	log.Info("done")
}

func explode(run sdk.RunContext) {
	panic("boom in " + run.TaskID)
}

// hang blocks on its first try (its process is killed under it); later tries succeed.
func hang(ctx context.Context, run sdk.RunContext) (string, error) {
	if run.TryNumber == 1 {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return "survived", nil
}

func main() {
	bundle.Serve(&scenarios{}, bundle.WithName("scenarios"))
}
