package bundleplugin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// lines collects the "line" attribute of every record logged.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (c *lines) Enabled(context.Context, slog.Level) bool { return true }
func (c *lines) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *lines) WithGroup(string) slog.Handler            { return c }
func (c *lines) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "line" {
			c.mu.Lock()
			c.got = append(c.got, a.Value.String())
			c.mu.Unlock()
		}
		return true
	})
	return nil
}

func TestLineLogger_OutputWithoutANewline_IsLoggedInPiecesAsItComes(t *testing.T) {
	// Output without a newline was kept in the worker's memory until one came (a bundle printing
	// megabytes without one), then logged as one line however long.
	collected := &lines{}
	logger := &lineLogger{log: slog.New(collected), bundle: "b"}
	// A two-byte character straddles the first piece's end: the piece ends before it.
	first := strings.Repeat("x", maxOutputLine-1) + "é"
	for _, chunk := range []string{first, strings.Repeat("y", 2*maxOutputLine), "tail\n"} {
		if _, err := logger.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if len(logger.buf) > maxOutputLine {
			t.Fatalf("%d bytes kept after a write", len(logger.buf))
		}
	}
	joined := strings.Join(collected.got, "")
	if joined != first+strings.Repeat("y", 2*maxOutputLine)+"tail" {
		t.Fatalf("the pieces do not make the output back (%d bytes)", len(joined))
	}
	for i, line := range collected.got {
		if len(line) > maxOutputLine || !utf8.ValidString(line) {
			t.Fatalf("piece %d: %d bytes, valid UTF-8 %v", i, len(line), utf8.ValidString(line))
		}
	}
	if got := collected.got[0]; got != strings.Repeat("x", maxOutputLine-1) {
		t.Fatalf("the first piece is %d bytes, ending %q", len(got), got[len(got)-3:])
	}
	if last := collected.got[len(collected.got)-1]; !strings.HasSuffix(last, "tail") || bytes.ContainsRune([]byte(last), '\n') {
		t.Fatalf("the last piece: %q", last[len(last)-10:])
	}
}

func TestLineLogger_ShortLines_AreLoggedOneByOne(t *testing.T) {
	collected := &lines{}
	logger := &lineLogger{log: slog.New(collected), bundle: "b"}
	for _, chunk := range []string{"one\r\ntw", "o\n", "\n", "three"} {
		if _, err := logger.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(collected.got, "|") != "one|two" || string(logger.buf) != "three" {
		t.Fatalf("logged %q, kept %q", collected.got, logger.buf)
	}
}

func TestStart_BundleCrashingAtLoad_SaysHowItEnded(t *testing.T) {
	// go-plugin's error blamed the binary's architecture, libraries or permissions ("Unrecognized
	// remote plugin message"); the panic was only among the worker's other lines.
	binary := filepath.Join(t.TempDir(), "crashing")
	build := exec.Command("go", "build", "-o", binary, "./testdata/crashing")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, output)
	}
	proc, err := Start(binary, os.Environ(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		proc.Kill()
		t.Fatal("a bundle that panics at load was started")
	}
	for _, want := range []string{"the process ended (exit status 2) before it answered as a bundle", "panic: assignment to entry in nil map"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "architecture") {
		t.Errorf("the error blames the architecture:\n%v", err)
	}
}

// records collects every record logged, its message and attributes as one text.
type records struct {
	mu  sync.Mutex
	got []string
}

func (c *records) Enabled(context.Context, slog.Level) bool { return true }
func (c *records) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *records) WithGroup(string) slog.Handler            { return c }
func (c *records) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.Key + "=" + a.Value.String()
		return true
	})
	c.mu.Lock()
	c.got = append(c.got, text)
	c.mu.Unlock()
	return nil
}

func TestStart_BundleStderr_IsLoggedOnce(t *testing.T) {
	// go-plugin writes a bundle's stderr raw and logs its panics and errors again through its own
	// logger: the worker logged each such line twice.
	binary := filepath.Join(t.TempDir(), "crashing")
	build := exec.Command("go", "build", "-o", binary, "./testdata/crashing")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, output)
	}
	logged := &records{}
	proc, err := Start(binary, os.Environ(), slog.New(logged))
	if err == nil {
		proc.Kill()
		t.Fatal("a bundle that panics at load was started")
	}
	logged.mu.Lock()
	defer logged.mu.Unlock()
	panics := 0
	for _, record := range logged.got {
		if strings.Contains(record, "panic: assignment to entry in nil map") {
			panics++
		}
	}
	if panics != 1 {
		t.Fatalf("the panic's line was logged %d times, once expected:\n%s", panics, strings.Join(logged.got, "\n"))
	}
}
