package worker_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/bundle"
	"github.com/baton-org/baton/clients/go/worker"
)

type oneTask struct{}

func (oneTask) RegisterDags(r bundle.Registry) error {
	r.AddDag("d").AddTask(noop)
	return nil
}

func noop() {}

// answering is a server that answers every request with one error.
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(server.Close)
	return server.URL
}

func start(t *testing.T, url string) error {
	t.Helper()
	catalog, err := bundle.Load(oneTask{}, bundle.WithName("unit"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{ServerURL: url, Token: "credential", InProcess: []*bundle.Catalog{catalog}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return w.Start(ctx)
}

func TestStart_ServerOlderThanTheWorker_SaysUpgradeTheServer(t *testing.T) {
	url := answering(t, http.StatusBadRequest, `{"reason": "client_version_too_new", "message": "this server serves API versions up to 2026-11-24"}`)
	err := start(t, url)
	if !errors.Is(err, baton.ErrServerTooOld) || !strings.Contains(err.Error(), "upgrade the Baton server") {
		t.Fatalf("want an 'upgrade the server' error, got %v", err)
	}
}

func TestStart_CredentialRefused_StopsWithOneLine(t *testing.T) {
	err := start(t, answering(t, http.StatusUnauthorized, `{"reason": "invalid_token", "message": "unknown credential"}`))
	if !errors.Is(err, baton.ErrUnauthorized) || !strings.Contains(err.Error(), "refused the worker credential") {
		t.Fatalf("want a refused-credential error, got %v", err)
	}
}

func TestNew_BadConfiguration_Refused(t *testing.T) {
	catalog, err := bundle.Load(oneTask{}, bundle.WithName("unit"))
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]worker.Config{
		"no credential":     {ServerURL: "http://127.0.0.1:1", InProcess: []*bundle.Catalog{catalog}},
		"no tasks":          {ServerURL: "http://127.0.0.1:1", Token: "t"},
		"both task sources": {ServerURL: "http://127.0.0.1:1", Token: "t", BundleDir: ".", InProcess: []*bundle.Catalog{catalog}},
		"no slots":          {ServerURL: "http://127.0.0.1:1", Token: "t", InProcess: []*bundle.Catalog{catalog}, Concurrency: -1},
	} {
		if _, err := worker.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
