package integration_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// The example service of docs/go-sdk.md, run as its users run it: its own DAG's tasks change
// the stock its HTTP handler shows.
func TestExampleInventoryService_ServesItsDagsTasks_SharingItsState(t *testing.T) {
	s := startStack(t)
	binary := filepath.Join(t.TempDir(), "inventory")
	goBuild(t, filepath.Join(moduleRoot(t), "..", "..", "examples", "go"), "./inventory", binary)
	s.setVariable(t, "stock_target", 12)

	service := &workerProcess{exited: make(chan struct{})}
	service.cmd = exec.Command(binary)
	service.cmd.Env = append(os.Environ(), "BATON_SERVER_URL="+s.server.BaseURL, "BATON_WORKER_TOKEN="+s.workerToken, "INVENTORY_ADDR=127.0.0.1:0")
	service.cmd.Stdout, service.cmd.Stderr = service, service
	if err := service.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = service.cmd.Wait()
		close(service.exited)
	}()
	t.Cleanup(func() {
		_ = service.cmd.Process.Kill()
		<-service.exited
		if t.Failed() {
			t.Logf("the service's output:\n%s", service.Output())
		}
	})
	serving := regexp.MustCompile(`serving the stock on (http://\S+/stock)`)
	var url string
	waitFor(t, "the service to serve", 2*time.Minute, func() bool {
		if m := serving.FindStringSubmatch(service.Output()); m != nil {
			url = m[1]
		}
		return url != ""
	})
	stock := func() map[string]int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]int
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := stock()["widgets"]; got != 3 {
		t.Fatalf("the service starts with %d widgets, want 3", got)
	}

	run := s.waitRun(t, "go_restock", s.trigger(t, "go_restock", nil))
	if string(run.State) != "success" {
		t.Fatalf("go_restock: %s", run.State)
	}
	if got := stock()["widgets"]; got != 12 {
		t.Fatalf("after the run the service has %d widgets, want 12 (stock_target)", got)
	}
	_ = service.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-service.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("the service did not stop on SIGTERM")
	}
	if code := service.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the service exited with %d", code)
	}
}
