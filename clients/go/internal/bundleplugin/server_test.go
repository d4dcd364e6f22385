package bundleplugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// oneTask is a catalog of one task, served under the entry point "b:d/t".
type oneTask struct{ task *taskrun.Task }

func (oneTask) Name() string               { return "b" }
func (oneTask) Version() string            { return "test" }
func (oneTask) Dags() []api.DagDescription { return nil }
func (oneTask) EntryPoints() []string      { return []string{"b:d/t"} }
func (c oneTask) Task(entryPoint string) (*taskrun.Task, bool) {
	return c.task, entryPoint == "b:d/t"
}

// serveOverGRPC serves the catalog's task through the bundle's gRPC service, in memory, and runs it
// as the worker does: the records it logged and its outcome, as they crossed the wire.
func serveOverGRPC(t *testing.T, fn any) ([]taskrun.Record, taskrun.Outcome) {
	t.Helper()
	f, err := taskrun.Analyze(fn)
	if err != nil {
		t.Fatal(err)
	}
	listener := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	bundlepb.RegisterBundleServer(s, newServer(oneTask{task: &taskrun.Task{TaskID: "t", Func: f}}))
	go func() { _ = s.Serve(listener) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bundle", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return listener.Dial() }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := bundlepb.NewBundleClient(conn).Execute(context.Background(), &bundlepb.ExecuteRequest{
		ServerUrl: "http://127.0.0.1:1", Token: "token", EntryPoint: "b:d/t",
		RunContextJson: []byte(`{"task_instance":{"id":"00000000-0000-0000-0000-000000000001","task_id":"t","try_number":1},"max_tries":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var records []taskrun.Record
	for {
		event, err := stream.Recv()
		if err != nil {
			t.Fatalf("the stream broke before the outcome (after %d records): %v", len(records), err)
		}
		switch e := event.Event.(type) {
		case *bundlepb.ExecuteEvent_Log:
			records = append(records, FromProto(e.Log))
		case *bundlepb.ExecuteEvent_Outcome:
			return records, taskrun.Outcome{State: stateFromProto(e.Outcome.State), Message: e.Outcome.Message}
		}
	}
}

// A log line or an error message with bytes that are not UTF-8 (a task logging raw bytes from a
// file, say) crosses to the worker with those bytes as U+FFFD: protobuf strings must be UTF-8, and
// a record that cannot be marshalled ended the whole stream, failing the attempt with
// "the bundle process stopped answering" and losing its later lines and its outcome.
func TestExecute_TextNotUTF8_CrossesTheWireAsReplacementCharacters(t *testing.T) {
	raw := string([]byte{'r', 'a', 'w', ' ', 0xff, 0xfe, '!'})
	records, outcome := serveOverGRPC(t, func(log *slog.Logger) error {
		log.Info("before")
		log.Info(raw, "field", raw)
		log.Info("after")
		return errors.New("failed on " + raw)
	})
	var messages []string
	for _, r := range records {
		messages = append(messages, r.Message)
	}
	got := strings.Join(messages, " | ")
	if !strings.Contains(got, "before | raw \uFFFD! | after") {
		t.Errorf("the task's lines crossed as %q", got)
	}
	if outcome.State != taskrun.Failed || outcome.Message != "failed on raw \uFFFD!" {
		t.Errorf("outcome %+v", outcome)
	}
}

// A field name is cut as a message is: a task logging a huge one (a key built from data) sent it
// whole, kept or listed in fields_left_out, past the connection's message limit (4 MiB here) and
// past the server's request limit, which refused the whole batch of lines around it.
func TestExecute_HugeFieldName_CrossesTheWireCut(t *testing.T) {
	huge := strings.Repeat("k", 5<<20)
	records, outcome := serveOverGRPC(t, func(log *slog.Logger) error {
		log.Info("huge", huge, 1)
		var many []any // 6 MB of names, past the line's fields budget
		for i := range 60 {
			many = append(many, strings.Repeat("n", 100_000)+fmt.Sprint(i), strings.Repeat("v", 100_000))
		}
		log.Info("many", many...)
		log.Info("after")
		return nil
	})
	if outcome.State != taskrun.Success || len(records) != 3 || records[2].Message != "after" {
		t.Fatalf("outcome %+v after %d records", outcome, len(records))
	}
	for name, value := range records[0].Fields {
		if name != "logger" && (len(name) > 1_000 || !strings.HasPrefix(name, "kkk") || value != 1.0) {
			t.Fatalf("the huge name crossed as %d bytes (value %v)", len(name), value)
		}
	}
	leftOut, _ := records[1].Fields["fields_left_out"].([]any)
	if len(leftOut) == 0 || len(fmt.Sprint(leftOut)) > 200_000 {
		t.Fatalf("fields_left_out of %d names, %d bytes", len(leftOut), len(fmt.Sprint(leftOut)))
	}
}
