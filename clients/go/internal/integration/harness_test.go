package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/testserver"
)

// waitFor polls probe until it reports done, failing the test after timeout. Deadlines are
// generous: a busy machine is slow, never wrong.
func waitFor(t *testing.T, what string, timeout time.Duration, probe func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !probe() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// moduleRoot is the clients/go folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// goBuild builds the main package in dir (of the module in moduleDir) into out.
func goBuild(t *testing.T, moduleDir, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, moduleDir, err, output)
	}
}

// stack is a live server, an admin client and the credentials a worker needs.
type stack struct {
	server      *testserver.Server
	admin       *baton.Client
	workerToken string
}

func issue(t *testing.T, server *testserver.Server, kind string) string {
	t.Helper()
	out, err := server.CLI(kind, "go-integration-"+uuid.NewString()[:8], "--json")
	if err != nil {
		t.Fatal(err)
	}
	var issued struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &issued); err != nil {
		t.Fatal(err)
	}
	return issued.Token
}

// The server fails a running attempt whose heartbeat is older than this (seconds).
const serverHeartbeatTimeout = 4

var (
	shared    *testserver.Server
	sharedErr error
	startOnce sync.Once
)

// TestMain stops the server the tests shared.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// startStack is the package's one live server (started by the first test that needs it), with
// a short heartbeat timeout and a fast scheduler, and fresh credentials.
func startStack(t *testing.T) *stack {
	t.Helper()
	startOnce.Do(func() {
		shared, sharedErr = testserver.Start(
			"BATON_HEARTBEAT_TIMEOUT="+strconv.Itoa(serverHeartbeatTimeout),
			"BATON_SCHEDULER_INTERVAL=0.2",
			"BATON_CLAIM_MAX_WAIT=2",
		)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return newStack(t, shared)
}

// startOwnStack is a stack on a server of its own, stopped when the test ends: for a test that
// kills and restarts it.
func startOwnStack(t *testing.T, settings ...string) *stack {
	t.Helper()
	server, err := testserver.Start(settings...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Stop)
	return newStack(t, server)
}

func newStack(t *testing.T, server *testserver.Server) *stack {
	t.Helper()
	t.Logf("server on %s (%s)", server.BaseURL, server.Database)
	admin, err := baton.NewClient(server.BaseURL, issue(t, server, "create-admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return &stack{server: server, admin: admin, workerToken: issue(t, server, "create-worker-credential")}
}

func (s *stack) setVariable(t *testing.T, key string, value any) {
	t.Helper()
	r, err := s.admin.Generated().AdminSetVariableWithResponse(context.Background(), key, api.VariablePutBody{Value: value})
	if err == nil {
		err = baton.CheckResponse(r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (s *stack) trigger(t *testing.T, dagID string, conf map[string]any) string {
	t.Helper()
	runID := fmt.Sprintf("%s__%s", dagID, uuid.NewString()[:8])
	body := api.TriggerDagRunPayload{RunId: &runID}
	if conf != nil {
		body.Conf = &conf
	}
	var err error
	waitFor(t, "DAG "+dagID+" to be registered", 2*time.Minute, func() bool {
		_, err = s.admin.TriggerDagRun(context.Background(), dagID, body)
		return err == nil || !strings.Contains(err.Error(), "not_found")
	})
	if err != nil {
		t.Fatalf("trigger %s: %v", dagID, err)
	}
	return runID
}

func (s *stack) run(t *testing.T, dagID, runID string) *api.DagRunDetail {
	t.Helper()
	r, err := s.admin.Generated().GetDagRunWithResponse(context.Background(), dagID, runID)
	if err != nil {
		t.Fatal(err)
	}
	if err := baton.CheckResponse(r.HTTPResponse, r.Body); err != nil {
		t.Fatal(err)
	}
	return r.JSON200
}

// waitRun waits for a run to finish and returns it.
func (s *stack) waitRun(t *testing.T, dagID, runID string) *api.DagRunDetail {
	t.Helper()
	var run *api.DagRunDetail
	waitFor(t, "run "+runID+" to finish", 3*time.Minute, func() bool {
		run = s.run(t, dagID, runID)
		return run.State == api.DagRunStateSuccess || run.State == api.DagRunStateFailed
	})
	return run
}

func findTask(run *api.DagRunDetail, taskID string) (api.TaskInstanceSummary, bool) {
	for _, ti := range run.TaskInstances {
		if ti.TaskId == taskID {
			return ti, true
		}
	}
	return api.TaskInstanceSummary{}, false
}

func taskOf(t *testing.T, run *api.DagRunDetail, taskID string) api.TaskInstanceSummary {
	t.Helper()
	ti, ok := findTask(run, taskID)
	if !ok {
		t.Fatalf("run %s has no task %s", run.RunId, taskID)
	}
	return ti
}

func state(ti api.TaskInstanceSummary) string {
	if ti.State == nil {
		return "none"
	}
	return string(*ti.State)
}

func (s *stack) taskInstance(t *testing.T, id uuid.UUID) *api.TaskInstanceDetail {
	t.Helper()
	r, err := s.admin.Generated().GetTaskInstanceWithResponse(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := baton.CheckResponse(r.HTTPResponse, r.Body); err != nil {
		t.Fatal(err)
	}
	return r.JSON200
}

// logs is one try's log of a task instance, a line per record.
func (s *stack) logs(t *testing.T, id uuid.UUID, try int) string {
	t.Helper()
	r, err := s.admin.Generated().GetTaskInstanceLogsWithResponse(context.Background(), id, &api.GetTaskInstanceLogsParams{TryNumber: &try})
	if err != nil {
		t.Fatal(err)
	}
	if err := baton.CheckResponse(r.HTTPResponse, r.Body); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range r.JSON200.Lines {
		fmt.Fprintf(&out, "%s %s\n", line.Level, line.Message)
	}
	return out.String()
}

// workerProcess is a running baton-go-worker and its output.
type workerProcess struct {
	cmd    *exec.Cmd
	tmp    string // the worker's temporary directory (TMPDIR), its own
	mu     sync.Mutex
	output bytes.Buffer
	exited chan struct{}
}

func (w *workerProcess) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.Write(p)
}

func (w *workerProcess) Output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.String()
}

func (s *stack) startWorker(t *testing.T, binary, bundles string, args ...string) *workerProcess {
	t.Helper()
	return s.startWorkerIn(t, workerTemp(t), binary, bundles, args...)
}

// workerTemp is a temporary directory for a worker, short enough for a Unix socket's address in it
// (t.TempDir's is not): what the worker and its bundles leave there is checked.
func workerTemp(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "worker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	return tmp
}

// startWorkerIn starts a worker whose temporary directory (TMPDIR) is tmp.
func (s *stack) startWorkerIn(t *testing.T, tmp, binary, bundles string, args ...string) *workerProcess {
	t.Helper()
	return s.launchWorker(t, tmp, false, binary, bundles, args...)
}

// startWorkerInItsGroup starts a worker in a process group of its own (the test is not in it), so
// that a signal sent to the group reaches the worker and its bundle processes, as systemd's stop does.
func (s *stack) startWorkerInItsGroup(t *testing.T, binary, bundles string, args ...string) *workerProcess {
	t.Helper()
	return s.launchWorker(t, workerTemp(t), true, binary, bundles, args...)
}

// launchWorker starts a worker (in a process group of its own with ownGroup, which is killed whole at
// the end) and waits until it registered.
func (s *stack) launchWorker(t *testing.T, tmp string, ownGroup bool, binary, bundles string, args ...string) *workerProcess {
	t.Helper()
	w := &workerProcess{exited: make(chan struct{}), tmp: tmp}
	w.cmd = exec.Command(binary, append([]string{"--bundles", bundles}, args...)...)
	w.cmd.Env = append(os.Environ(), "BATON_SERVER_URL="+s.server.BaseURL, "BATON_WORKER_TOKEN="+s.workerToken, "TMPDIR="+w.tmp)
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: ownGroup}
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		if ownGroup {
			_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			<-w.exited
		} else {
			select {
			case <-w.exited:
			default:
				_ = w.cmd.Process.Kill()
				<-w.exited
			}
		}
		if t.Failed() {
			t.Logf("worker %v output:\n%s", args, w.Output())
		}
	})
	waitFor(t, "the worker to register", 2*time.Minute, func() bool {
		select {
		case <-w.exited:
			t.Fatalf("the worker exited:\n%s", w.Output())
		default:
		}
		return strings.Contains(w.Output(), "registered worker")
	})
	return w
}

// stop sends SIGTERM and waits for the worker to exit; its exit code.
func (w *workerProcess) stop(t *testing.T) int {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the worker did not stop within 2 minutes of SIGTERM:\n%s", w.Output())
	}
	return w.cmd.ProcessState.ExitCode()
}

// running lists the pids of processes running one of these executables.
func running(executables ...string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		for _, want := range executables {
			if exe == want {
				if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !zombie(stat) {
					pids = append(pids, pid)
				}
			}
		}
	}
	return pids
}

func zombie(stat []byte) bool {
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}
