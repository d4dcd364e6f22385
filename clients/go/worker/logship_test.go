package worker

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// unreachable is the URL of a port nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	_ = listener.Close()
	return "http://" + addr
}

func TestShipper_ServerUnreachable_HoldsAtMostTheByteLimit(t *testing.T) {
	client, err := baton.NewClient(unreachable(t), "token", baton.WithRetry(baton.RetryPolicy{Attempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	s := newShipper(client, uuid.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second, nil, nil)
	defer s.close()
	// 1,000 lines of 100 KB: well under the line limit, 100 MB in all.
	message := strings.Repeat("x", 100_000)
	for i := range 1000 {
		s.add(taskrun.Record{Time: time.Now().UTC(), Level: "info", Message: fmt.Sprintf("%d %s", i, message)})
	}
	s.mu.Lock()
	held, lines := 0, len(s.pending)
	newest := ""
	for _, line := range s.pending {
		held += line.size
		newest = line.record.Message
	}
	s.mu.Unlock()
	if held > 64<<20 { // the 64 MiB of docs/go-sdk.md
		t.Fatalf("%d lines (%d bytes) held while the server is unreachable; at most 64 MiB expected", lines, held)
	}
	if lines >= 1000 || !strings.HasPrefix(newest, "999 ") {
		t.Fatalf("the oldest lines should be dropped and the newest kept: %d held, the last %.10q", lines, newest)
	}
}
