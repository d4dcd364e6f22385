package bundleplugin

import (
	"encoding/json"
	"time"

	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

func now() time.Time { return time.Now().UTC() }

// ToProto is a log record on the wire, made as the server takes it. A protobuf string must be
// valid UTF-8: a message with invalid bytes cannot be marshalled, and gRPC ends the whole stream on
// it (the attempt would fail for a log line); and a field that is not JSON is left out by name,
// not every field of the line with it.
func ToProto(r taskrun.Record) *bundlepb.LogRecord {
	r, _ = r.Shippable()
	out := &bundlepb.LogRecord{TimeUnixNano: r.Time.UnixNano(), Level: r.Level, Message: r.Message}
	if len(r.Fields) > 0 {
		if raw, err := json.Marshal(r.Fields); err == nil {
			out.FieldsJson = raw
		}
	}
	return out
}

// FromProto is a log record off the wire, tolerating what a misbehaving bundle might send.
func FromProto(p *bundlepb.LogRecord) taskrun.Record {
	r := taskrun.Record{Time: time.Unix(0, p.TimeUnixNano).UTC(), Level: p.Level, Message: p.Message}
	if p.TimeUnixNano == 0 {
		r.Time = now()
	}
	switch r.Level {
	case "debug", "info", "warning", "error", "critical":
	default:
		r.Level = "info"
	}
	if len(p.FieldsJson) > 0 {
		var fields map[string]any
		if json.Unmarshal(p.FieldsJson, &fields) == nil {
			r.Fields = fields
		}
	}
	return r
}

func stateToProto(state string) bundlepb.State {
	switch state {
	case taskrun.Success:
		return bundlepb.State_STATE_SUCCESS
	case taskrun.Skipped:
		return bundlepb.State_STATE_SKIPPED
	}
	return bundlepb.State_STATE_FAILED
}

func stateFromProto(state bundlepb.State) string {
	switch state {
	case bundlepb.State_STATE_SUCCESS:
		return taskrun.Success
	case bundlepb.State_STATE_SKIPPED:
		return taskrun.Skipped
	}
	return taskrun.Failed
}
