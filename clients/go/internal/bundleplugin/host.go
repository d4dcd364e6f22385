package bundleplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// Process is a bundle binary running as a plugin of this worker.
type Process struct {
	Path        string
	Pid         int
	Name        string
	Version     string
	APIVersion  string
	Dags        []api.DagDescription
	EntryPoints []string

	cmd    *exec.Cmd
	client *plugin.Client
	rpc    bundlepb.BundleClient
	// socketDir holds the plugin's Unix socket; removed when the process is killed, so that a socket
	// left by a process that died (killed, crashed) does not stay behind in the temporary directory.
	socketDir string
}

// Start starts the bundle binary at path with the environment env, and asks it to describe itself.
// Its stdout and stderr (what its code prints outside a task's logger) go to log. Its Unix socket
// is made in a folder of its own, removed by Kill.
func Start(path string, env []string, log *slog.Logger) (*Process, error) {
	socketDir, err := socketFolder()
	if err != nil {
		return nil, fmt.Errorf("bundle %s: a folder for its socket: %w", path, err)
	}
	cmd := exec.Command(path)
	cmd.Env = append(append([]string{}, env...), plugin.EnvUnixSocketDir+"="+socketDir)
	setProcessAttributes(cmd)
	label := filepath.Base(path)
	output := &lineLogger{log: log, bundle: label}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          plugin.PluginSet{PluginName: &grpcPlugin{}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     2 * time.Minute,
		Stderr:           output,
		SyncStdout:       output,
		SyncStderr:       output,
		Logger: stderrOnce{
			Logger: hclog.New(&hclog.LoggerOptions{Name: "bundle." + label, Level: hclog.Error, Output: output}),
			stderr: label,
		},
	})
	p := &Process{Path: path, cmd: cmd, client: client, socketDir: socketDir}
	if err := p.connect(); err != nil {
		ended := p.endedEarly(err, output)
		p.Kill()
		if ended != "" {
			return nil, fmt.Errorf("bundle %s: %s", path, ended)
		}
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return p, nil
}

// endedEarly says how a process that exited by itself before it answered as a bundle ended, ""
// when it did not. go-plugin's own error blamed the binary's architecture, libraries or permissions, and a
// bundle whose RegisterDags panicked was refused so, its panic only among the worker's other lines.
func (p *Process) endedEarly(err error, output *lineLogger) string {
	// The handshake fails as the process's stdout closes, a little before it is seen to exit.
	for deadline := time.Now().Add(2 * time.Second); !p.Exited() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !p.Exited() || p.cmd.ProcessState == nil || !p.cmd.ProcessState.Exited() {
		return "" // still running, or killed (go-plugin kills what answers no handshake)
	}
	said, _, _ := strings.Cut(err.Error(), "\n")
	if crash := output.crashLine(); crash != "" {
		said = crash
	}
	return fmt.Sprintf("the process ended (%s) before it answered as a bundle: %s (its output is in the worker's log, as \"bundle output\")",
		p.ExitDescription(), strings.TrimSpace(said))
}

func (p *Process) connect() error {
	protocol, err := p.client.Client()
	if err != nil {
		return err
	}
	raw, err := protocol.Dispense(PluginName)
	if err != nil {
		return err
	}
	p.rpc = raw.(bundlepb.BundleClient)
	p.Pid = p.client.ReattachConfig().Pid
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	described, err := p.rpc.Describe(ctx, &bundlepb.DescribeRequest{})
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	p.Name, p.Version, p.APIVersion = described.Name, described.Version, described.ApiVersion
	p.EntryPoints = described.EntryPoints
	if err := json.Unmarshal(described.DagsJson, &p.Dags); err != nil {
		return fmt.Errorf("its DAG descriptions are not readable: %w", err)
	}
	return nil
}

// Exited reports whether the bundle process has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// ExitDescription says how the process ended ("signal: killed", "exit status 2"), once it has.
func (p *Process) ExitDescription() string {
	if !p.client.Exited() || p.cmd.ProcessState == nil {
		return "ended"
	}
	return p.cmd.ProcessState.String()
}

// Kill ends the bundle process (gracefully first, forcibly after two seconds), kills what its tasks
// still running then had started in its process group, and removes its socket's folder; it is
// harmless on a process that has ended, and repeated.
func (p *Process) Kill() {
	var left []int
	if p.Pid > 0 {
		left = groupOfBundle(p.Pid) // found first: once the process has ended, its pid may be reused
	}
	p.client.Kill()
	killGroupOf(p.Pid, left)
	_ = os.RemoveAll(p.socketDir)
}

// Request is one attempt to run in the bundle.
type Request struct {
	ServerURL      string
	Token          string
	EntryPoint     string
	RunContextJSON []byte
}

// Execute runs an attempt in the bundle process, passing its log records to sink as they come,
// until it ends or ctx is cancelled (which cancels the task's context in the bundle).
func (p *Process) Execute(ctx context.Context, req Request, sink taskrun.Sink) taskrun.Outcome {
	stream, err := p.rpc.Execute(ctx, &bundlepb.ExecuteRequest{
		ServerUrl: req.ServerURL, Token: req.Token, EntryPoint: req.EntryPoint, RunContextJson: req.RunContextJSON,
	})
	if err != nil {
		return p.lost(ctx, err)
	}
	for {
		event, err := stream.Recv()
		if err != nil {
			return p.lost(ctx, err)
		}
		switch e := event.Event.(type) {
		case *bundlepb.ExecuteEvent_Log:
			sink(FromProto(e.Log))
		case *bundlepb.ExecuteEvent_Outcome:
			return taskrun.Outcome{State: stateFromProto(e.Outcome.State), Message: e.Outcome.Message}
		}
	}
}

// lost is the outcome of an attempt whose stream broke before its outcome came.
func (p *Process) lost(ctx context.Context, err error) taskrun.Outcome {
	if ctx.Err() != nil {
		return taskrun.Outcome{State: taskrun.Failed, Message: "the task was stopped"}
	}
	// The stream breaks a little before the process is seen to exit: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); !p.Exited() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if p.Exited() {
		return taskrun.Outcome{State: taskrun.Failed, Message: fmt.Sprintf("the bundle process (pid %d) died during the attempt (%s)", p.Pid, p.ExitDescription())}
	}
	return taskrun.Outcome{State: taskrun.Failed, Message: fmt.Sprintf("the bundle process stopped answering: %v", err)}
}

// UpdateToken hands a running attempt its refreshed execution token.
func (p *Process) UpdateToken(ctx context.Context, taskInstanceID, token string) error {
	_, err := p.rpc.UpdateToken(ctx, &bundlepb.UpdateTokenRequest{TaskInstanceId: taskInstanceID, Token: token})
	return err
}

// stderrOnce is go-plugin's logger for its own messages. go-plugin writes the process's stderr to
// ClientConfig.Stderr and logs it again through the logger named after the binary (its panics and
// errors, with every line of a panic's trace): the worker logged those lines twice, once raw and
// once as go-plugin's. That logger discards them here; the raw lines are logged by lineLogger.
type stderrOnce struct {
	hclog.Logger
	stderr string // the name go-plugin gives the logger of the process's stderr: the binary's
}

// Named returns go-plugin's logger of the process's stderr as a logger that discards.
func (l stderrOnce) Named(name string) hclog.Logger {
	if name == l.stderr {
		return hclog.NewNullLogger()
	}
	return stderrOnce{Logger: l.Logger.Named(name), stderr: l.stderr}
}

// lineLogger logs what a bundle process writes outside task logs, a line at a time.
type lineLogger struct {
	log    *slog.Logger
	bundle string
	mu     sync.Mutex
	buf    []byte
	crash  string // the first line of a Go panic or fatal error the process printed
}

// crashLine is the first line of a Go panic or fatal error the process printed, if it did.
func (l *lineLogger) crashLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.crash
}

// maxOutputLine is the longest piece of a bundle's output logged as one line: output without a
// newline (a progress bar, a binary blob) was kept in the worker's memory until one came, and
// logged as one line however long.
const maxOutputLine = 64 << 10

func (l *lineLogger) Write(data []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, data...)
	for {
		end := bytes.IndexByte(l.buf, '\n')
		next := end + 1
		if end < 0 || end > maxOutputLine {
			if len(l.buf) <= maxOutputLine {
				break
			}
			end = runeStart(l.buf, maxOutputLine) // a piece of a long line: never half a character
			next = end
		}
		line := strings.TrimRight(string(l.buf[:end]), "\r")
		l.buf = l.buf[next:]
		l.logLine(line)
	}
	if len(l.buf) == 0 {
		l.buf = nil // the pieces logged are not kept alive by the slice
	}
	return len(data), nil
}

// runeStart is the largest index at most limit (and above 0) that begins a character of b.
func runeStart(b []byte, limit int) int {
	for i := limit; i > limit-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return limit
}

// logLine logs one line; go-plugin's own JSON lines in the bundle process are kept only from
// warnings up.
func (l *lineLogger) logLine(line string) {
	if line == "" {
		return
	}
	if l.crash == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		l.crash = line
		if len(line) > 1000 {
			l.crash = line[:runeStart([]byte(line), 1000)]
		}
	}
	var record struct {
		Level   string `json:"@level"`
		Message string `json:"@message"`
	}
	if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &record) == nil && record.Level != "" {
		if record.Level == "warn" || record.Level == "error" {
			l.log.Warn("bundle process", "bundle", l.bundle, "message", record.Message)
		}
		return
	}
	l.log.Warn("bundle output", "bundle", l.bundle, "line", line)
}

var _ io.Writer = (*lineLogger)(nil)
