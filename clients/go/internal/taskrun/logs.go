package taskrun

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Record is one structured line of an attempt's log.
type Record struct {
	Time    time.Time
	Level   string // debug, info, warning, error, critical
	Message string
	Fields  map[string]any
}

// Sink receives an attempt's log records, in order, from any goroutine.
type Sink func(Record)

// Logger names in a record's fields: the task's own slog records, and this SDK's lines about
// the task (its failure, its panic).
const (
	TaskLogger = "task"
	SDKLogger  = "baton.task"
)

// Level names a slog level the way the Baton API does.
func Level(level slog.Level) string {
	switch {
	case level >= slog.LevelError+4:
		return "critical"
	case level >= slog.LevelError:
		return "error"
	case level >= slog.LevelWarn:
		return "warning"
	case level >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// handler turns slog records into log records of the attempt, attributes as fields (groups as
// dotted names), values that are not JSON as their text.
type handler struct {
	sink   Sink
	logger string
	attrs  []slog.Attr
	groups []string
}

// NewLogger is the *slog.Logger a task receives: its records go to sink.
func NewLogger(sink Sink) *slog.Logger {
	return slog.New(&handler{sink: sink, logger: TaskLogger})
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]any{"logger": h.logger}
	for _, a := range h.attrs {
		addAttr(fields, "", a)
	}
	prefix := ""
	for _, g := range h.groups {
		prefix += g + "."
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(fields, prefix, a)
		return true
	})
	at := r.Time
	if at.IsZero() {
		at = time.Now()
	}
	h.sink(Record{Time: at.UTC(), Level: Level(r.Level), Message: r.Message, Fields: fields})
	return nil
}

func addAttr(fields map[string]any, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		inner := prefix
		if a.Key != "" {
			inner += a.Key + "."
		}
		for _, member := range a.Value.Group() {
			addAttr(fields, inner, member)
		}
		return
	}
	fields[prefix+a.Key] = jsonValue(a.Value)
}

func jsonValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	}
	value := v.Any()
	if err, ok := value.(error); ok {
		return err.Error()
	}
	if _, err := json.Marshal(value); err != nil {
		return fmt.Sprint(value)
	}
	return value
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clone := *h
	prefix := ""
	for _, g := range h.groups {
		prefix += g + "."
	}
	clone.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if prefix != "" {
			a = slog.Attr{Key: prefix + a.Key, Value: a.Value}
		}
		clone.attrs = append(clone.attrs, a)
	}
	return &clone
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	clone := *h
	clone.groups = append(append([]string(nil), h.groups...), name)
	return &clone
}
