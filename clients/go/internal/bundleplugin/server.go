package bundleplugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// leftProcessesGrace is how long the processes tasks left running have after SIGTERM, before SIGKILL.
const leftProcessesGrace = 5 * time.Second

// server runs the catalog's tasks for the worker, several attempts at a time.
type server struct {
	bundlepb.UnimplementedBundleServer
	catalog Catalog
	mu      sync.Mutex
	clients map[string]*baton.Client // by task instance id: the running attempts' API clients

	tasksMu  sync.Mutex
	idle     *sync.Cond // signalled when a sweep of left processes ends
	tasks    int        // task functions running
	sweeping bool       // the last task to return is stopping the processes left running
}

func newServer(catalog Catalog) *server {
	s := &server{catalog: catalog, clients: map[string]*baton.Client{}}
	s.idle = sync.NewCond(&s.tasksMu)
	return s
}

// runTask runs one attempt's task function; the last of the running ones to return stops the
// processes left running in the bundle process's group, before its outcome is sent (as the Python
// worker does when a task's code returns). A task beginning meanwhile waits for that: what it starts
// is never taken for a leftover.
func (s *server) runTask(ctx context.Context, attempt taskrun.Attempt) taskrun.Outcome {
	s.tasksMu.Lock()
	for s.sweeping {
		s.idle.Wait()
	}
	s.tasks++
	s.tasksMu.Unlock()
	outcome := taskrun.Execute(ctx, attempt)
	s.tasksMu.Lock()
	s.tasks--
	last := s.tasks == 0
	s.sweeping = last
	s.tasksMu.Unlock()
	if !last {
		return outcome
	}
	defer func() {
		s.tasksMu.Lock()
		s.sweeping = false
		s.idle.Broadcast()
		s.tasksMu.Unlock()
	}()
	if left := leftProcesses(); len(left) > 0 {
		pids := make([]string, len(left))
		for i, pid := range left {
			pids[i] = strconv.Itoa(pid)
		}
		attempt.Sink(taskrun.Record{Time: now(), Level: "warning", Fields: map[string]any{"logger": taskrun.SDKLogger},
			Message: fmt.Sprintf("the task left %d process(es) running (pid %s): stopping them (SIGTERM, then SIGKILL after %s)",
				len(left), strings.Join(pids, ", "), leftProcessesGrace)})
		stopProcesses(left, leftProcessesGrace)
	}
	return outcome
}

func (s *server) Describe(context.Context, *bundlepb.DescribeRequest) (*bundlepb.DescribeResponse, error) {
	dags := s.catalog.Dags()
	if dags == nil {
		dags = []api.DagDescription{}
	}
	raw, err := json.Marshal(dags)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "the DAG descriptions are not JSON: %v", err)
	}
	return &bundlepb.DescribeResponse{
		Name: s.catalog.Name(), Version: s.catalog.Version(), ApiVersion: api.APIVersion,
		DagsJson: raw, EntryPoints: s.catalog.EntryPoints(),
	}, nil
}

func (s *server) Execute(req *bundlepb.ExecuteRequest, stream bundlepb.Bundle_ExecuteServer) error {
	var sendMu sync.Mutex
	send := func(event *bundlepb.ExecuteEvent) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = stream.Send(event) // fails only once the worker has gone: nothing left to tell
	}
	sink := func(r taskrun.Record) {
		send(&bundlepb.ExecuteEvent{Event: &bundlepb.ExecuteEvent_Log{Log: ToProto(r)}})
	}
	outcome := s.execute(stream.Context(), req, sink)
	send(&bundlepb.ExecuteEvent{Event: &bundlepb.ExecuteEvent_Outcome{Outcome: &bundlepb.Outcome{
		State: stateToProto(outcome.State), Message: taskrun.WireText(outcome.Message), // a protobuf string is UTF-8
	}}})
	return nil
}

func (s *server) execute(ctx context.Context, req *bundlepb.ExecuteRequest, sink taskrun.Sink) taskrun.Outcome {
	task, ok := s.catalog.Task(req.EntryPoint)
	if !ok {
		message := fmt.Sprintf("bundle %s has no task with the entry point %q (has the bundle changed since this DAG version was registered?)", s.catalog.Name(), req.EntryPoint)
		sink(taskrun.Record{Time: now(), Level: "error", Message: message, Fields: map[string]any{"logger": taskrun.SDKLogger}})
		return taskrun.Outcome{State: taskrun.Failed, Message: message}
	}
	run, err := taskrun.ParseRunContext(req.RunContextJson)
	if err != nil {
		return taskrun.Outcome{State: taskrun.Failed, Message: err.Error()}
	}
	// The task's own calls ride out a server that restarts under them.
	client, err := baton.NewClient(req.ServerUrl, req.Token, baton.WithTaskPatience())
	if err != nil {
		return taskrun.Outcome{State: taskrun.Failed, Message: err.Error()}
	}
	s.mu.Lock()
	s.clients[run.TaskInstanceID] = client
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, run.TaskInstanceID)
		s.mu.Unlock()
	}()
	return s.runTask(ctx, taskrun.Attempt{Task: task, Run: run, API: client, Sink: sink})
}

func (s *server) UpdateToken(_ context.Context, req *bundlepb.UpdateTokenRequest) (*bundlepb.UpdateTokenResponse, error) {
	s.mu.Lock()
	client := s.clients[req.TaskInstanceId]
	s.mu.Unlock()
	if client != nil {
		client.SetToken(req.Token)
	}
	return &bundlepb.UpdateTokenResponse{}, nil
}
