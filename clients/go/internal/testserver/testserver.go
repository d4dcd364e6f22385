// Package testserver runs a real `baton-server serve` on 127.0.0.1, for tests against a live
// server: over a temporary SQLite folder, or over a fresh database of the PostgreSQL server
// named by BATON_TEST_POSTGRES_URL when it is set (created with psql, dropped at Stop).
package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is a running baton-server.
type Server struct {
	BaseURL string
	command string
	env     []string
	dir     string
	proc    *exec.Cmd
	log     *bytes.Buffer
	exited  chan struct{}
	waitErr error
	dropDB  func()
	// Database says where the server keeps its data: "sqlite" or "postgresql".
	Database string
}

// command finds baton-server: $BATON_SERVER, then PATH, then the workspace's .venv above here.
func command() (string, error) {
	if explicit := os.Getenv("BATON_SERVER"); explicit != "" {
		return explicit, nil
	}
	if found, err := exec.LookPath("baton-server"); err == nil {
		return found, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, ".venv", "bin", "baton-server")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("baton-server not found: set BATON_SERVER or install the workspace (uv sync --all-packages)")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// Start runs a server and waits until it answers its health check. Each setting is a
// NAME=VALUE environment variable of the server (BATON_HEARTBEAT_TIMEOUT=4, say).
func Start(settings ...string) (*Server, error) {
	cmd, err := command()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "baton-go-test-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	database, dropDB := "sqlite", func() {}
	if admin := os.Getenv("BATON_TEST_POSTGRES_URL"); admin != "" {
		url, drop, err := createDatabase(admin)
		if err != nil {
			return nil, err
		}
		env = append(env, "BATON_DATABASE_URL="+url)
		database, dropDB = "postgresql", drop
	}
	env = append(env,
		"BATON_DATA_DIR="+dir,
		"BATON_HOST=127.0.0.1",
		"BATON_PORT="+strconv.Itoa(port),
		"BATON_LOG_LEVEL=warning",
		// Every response of a running attempt carries a fresh token: the token swap is exercised.
		"BATON_TOKEN_REFRESH_BEFORE=3600",
	)
	env = append(env, settings...)
	s := &Server{
		BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port),
		command: cmd, env: env, dir: dir, log: &bytes.Buffer{}, dropDB: dropDB, Database: database,
	}
	if err := s.launch(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// launch starts `baton-server serve` and waits until it answers its health check.
func (s *Server) launch() error {
	s.proc = exec.Command(s.command, "serve")
	s.proc.Env = s.env
	s.proc.Stdout, s.proc.Stderr = s.log, s.log
	if err := s.proc.Start(); err != nil {
		s.proc = nil
		return err
	}
	exited := make(chan struct{})
	s.exited = exited
	proc := s.proc
	go func() {
		s.waitErr = proc.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(300 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("baton-server exited (%v):\n%s", s.waitErr, s.log.String())
		default:
		}
		resp, err := http.Get(s.BaseURL + "/execution/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("baton-server did not answer within 300 s:\n%s", s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Restart kills the server with SIGKILL (no shutdown: what a crash or an OOM kill leaves) and starts
// it again on the same port and data, waiting until it answers.
func (s *Server) Restart() error {
	if s.proc != nil {
		_ = s.proc.Process.Kill()
		<-s.exited
	}
	return s.launch()
}

// Down stops the server as an upgrade does (SIGINT, SIGKILL after 15 s) and keeps its port and data;
// Up starts it there again.
func (s *Server) Down() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.proc.Process.Kill()
		<-s.exited
	}
	s.proc = nil
}

// Up starts a server that is Down again, on the same port and data, waiting until it answers.
func (s *Server) Up() error { return s.launch() }

// CLI runs `baton-server ARGS` against this server's database and returns its standard output.
func (s *Server) CLI(args ...string) (string, error) {
	cmd := exec.Command(s.command, args...)
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("baton-server %v: %w: %s", args, err, stderr.String())
	}
	return string(out), nil
}

// Stop ends the server and removes its data folder.
func (s *Server) Stop() {
	if s.proc != nil && s.proc.Process != nil {
		_ = s.proc.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.proc.Process.Kill()
			<-s.exited
		}
	}
	_ = os.RemoveAll(s.dir)
	s.dropDB()
}

// Log is what the server has printed so far.
func (s *Server) Log() string { return s.log.String() }
