package bundleplugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// server runs the catalog's tasks for the worker, several attempts at a time.
type server struct {
	bundlepb.UnimplementedBundleServer
	catalog Catalog
	mu      sync.Mutex
	clients map[string]*baton.Client // by task instance id: the running attempts' API clients
}

func newServer(catalog Catalog) *server {
	return &server{catalog: catalog, clients: map[string]*baton.Client{}}
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
	return taskrun.Execute(ctx, taskrun.Attempt{Task: task, Run: run, API: client, Sink: sink})
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
