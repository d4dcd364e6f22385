package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
	"github.com/google/uuid"
)

// Limits of log shipping, as the Python worker has them.
const (
	maxBatchLines   = 1000
	maxBatchBytes   = 2_000_000 // most bytes of a batch's lines (as JSON): well under the server's request limit
	maxBufferedLogs = 20_000    // lines kept while the server cannot be reached; older ones are dropped
	// maxBufferedBytes bounds the same lines by their size as JSON: 20,000 lines of up to 200 KB
	// each (a message and its fields at their limits) would hold 4 GB of the worker's memory.
	maxBufferedBytes = 64 << 20
	shipInterval     = time.Second
)

// shipper buffers one attempt's log lines and uploads them in ordered batches, every second
// (sooner when a batch fills up) and once more before the final state is reported. While the
// server cannot be reached it holds up to maxBufferedLogs lines and maxBufferedBytes, dropping the
// oldest beyond either, and says how many it dropped.
//
// Each batch carries a batch id and is sent again, unchanged and with the same id, until the
// server answers it: a batch whose answer was lost is stored once, and no line is lost or doubled.
type shipper struct {
	client   *baton.Client
	ti       uuid.UUID
	log      *slog.Logger
	patience time.Duration   // how long close retries what the server could not yet take
	hurry    <-chan struct{} // closed when the worker hurries (a second signal): the next upload is the last try
	renew    func(stale string, err error) bool

	mu       sync.Mutex
	pending  []queued
	held     int    // the bytes of pending, as JSON
	inFlight *batch // sent (or being sent) and not yet answered; nil when none
	dropped  int
	closed   bool
	wake     chan struct{}
	flushMu  sync.Mutex
	stop     chan struct{}
	stopped  chan struct{}
}

// batch is one upload: its lines and the id that makes sending it again harmless.
type batch struct {
	id      uuid.UUID
	records []taskrun.Record
}

// newShipper starts shipping an attempt's lines; hurry is closed when the worker hurries (a second
// signal); renew (may be nil) says whether the token, stale when an upload was refused with err, was
// expired and is now renewed (the batch is then sent again).
func newShipper(client *baton.Client, ti uuid.UUID, log *slog.Logger, patience time.Duration, hurry <-chan struct{}, renew func(stale string, err error) bool) *shipper {
	s := &shipper{client: client, ti: ti, log: log, patience: patience, hurry: hurry, renew: renew, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.pump()
	return s
}

// queued is a line made shippable, with its size as JSON.
type queued struct {
	record taskrun.Record
	size   int
}

// add queues a line (lines after close are only logged locally).
func (s *shipper) add(r taskrun.Record) {
	line := shippable(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pending = append(s.pending, line)
	s.held += line.size
	for len(s.pending) > 1 && (len(s.pending) > maxBufferedLogs || s.held > maxBufferedBytes) {
		s.held -= s.pending[0].size
		s.pending[0] = queued{} // the slice's backing array no longer keeps the dropped line alive
		s.pending = s.pending[1:]
		s.dropped++
	}
	if len(s.pending) >= maxBatchLines {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// workerLine adds a line the worker itself writes into the task's log.
func (s *shipper) workerLine(level, message string) {
	s.add(taskrun.Record{Time: time.Now().UTC(), Level: level, Message: message, Fields: map[string]any{"source": "worker"}})
}

func (s *shipper) pump() {
	defer close(s.stopped)
	ticker := time.NewTicker(shipInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		case <-s.wake:
		}
		s.flush()
	}
}

func (s *shipper) nextBatch() []queued {
	total := 0
	for i, line := range s.pending {
		if i > 0 && (i >= maxBatchLines || total+line.size > maxBatchBytes) {
			return s.pending[:i]
		}
		total += line.size
	}
	return s.pending
}

// batchToSend is the batch in flight, or a new one cut from the pending lines (nil when none).
// Call with mu held.
func (s *shipper) batchToSend() *batch {
	if s.inFlight == nil && len(s.pending) > 0 {
		next := s.nextBatch()
		records := make([]taskrun.Record, len(next))
		for i, line := range next {
			records[i] = line.record
			s.held -= line.size
		}
		s.pending = s.pending[len(records):]
		s.inFlight = &batch{id: uuid.New(), records: records}
	}
	return s.inFlight
}

// flush uploads everything queued; false if some lines could not be shipped (they stay queued).
func (s *shipper) flush() bool {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	for {
		s.mu.Lock()
		if s.dropped > 0 {
			note := taskrun.Record{Time: time.Now().UTC(), Level: "warning", Fields: map[string]any{"source": "worker"},
				Message: fmt.Sprintf("%d log lines were dropped while the server was unreachable", s.dropped)}
			line := shippable(note)
			s.pending = append([]queued{line}, s.pending...)
			s.held += line.size
			s.dropped = 0
		}
		b := s.batchToSend()
		s.mu.Unlock()
		if b == nil {
			return true
		}
		ctx, cancel := callContext(30*time.Second, s.hurry)
		stale := s.client.Token()
		_, err := s.client.UploadLogs(ctx, s.ti, logBatch(b))
		cancel()
		var apiErr *baton.APIError
		switch {
		case err == nil:
		case errors.Is(err, baton.ErrUnauthorized) && s.renew != nil && s.renew(stale, err):
			continue // the same batch again, with the fresh token
		case errors.Is(err, baton.ErrConflict) || errors.Is(err, baton.ErrNotFound) ||
			errors.Is(err, baton.ErrUnauthorized) || errors.Is(err, baton.ErrForbidden):
			// The attempt is over (or not ours): these lines can never be stored.
			s.mu.Lock()
			s.log.Warn("log lines not stored", "task_instance", s.ti, "lines", len(s.pending)+len(b.records), "error", err)
			s.pending, s.inFlight, s.held = nil, nil, 0
			s.mu.Unlock()
			return false
		case errors.As(err, &apiErr) && apiErr.Reason == "log_limit_exceeded":
			// The attempt's logs are full on the server: later lines stay in the worker's log only.
			s.mu.Lock()
			s.log.Warn("the attempt reached the server's log limit; later lines are not stored",
				"task_instance", s.ti, "lines", len(s.pending)+len(b.records), "error", err)
			s.pending, s.inFlight, s.held, s.closed = nil, nil, 0, true
			s.mu.Unlock()
			return false
		case errors.As(err, &apiErr) && apiErr.Status < 500:
			s.log.Warn("a log batch was refused and dropped", "task_instance", s.ti, "error", err)
		default:
			s.log.Warn("log upload failed (will retry)", "task_instance", s.ti, "error", err)
			return false
		}
		s.mu.Lock()
		s.inFlight = nil
		s.mu.Unlock()
	}
}

// holding reports whether lines wait to be shipped (pending or in flight).
func (s *shipper) holding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight != nil || len(s.pending) > 0
}

// close uploads what is left, retrying for up to the shipper's patience while the server cannot
// be reached (once the worker hurries, one last try), and stops the pump; later lines are not accepted. False if some were not shipped.
func (s *shipper) close() bool {
	close(s.stop)
	<-s.stopped
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	deadline := time.Now().Add(s.patience)
	delay := 500 * time.Millisecond
	last := hurried(s.hurry)
	shipped := s.flush()
	// Lines still held could yet be stored; none held after a failure means they were refused for good.
	// Once the worker hurries, the next upload is the last try.
	for !shipped && !last && s.holding() && time.Now().Add(delay).Before(deadline) {
		select {
		case <-time.After(delay):
		case <-s.hurry:
		}
		last = hurried(s.hurry)
		delay = min(delay*2, 15*time.Second)
		shipped = s.flush()
	}
	return shipped
}

// logBatch is the body of one upload, named by the batch's id. The id is set through JSON: the
// generated model of an API version before 2026-12-02 has no batch_id (and the client of such a
// version sends none), and the same code builds against every version's model.
func logBatch(b *batch) api.LogBatch {
	body := api.LogBatch{Lines: lines(b.records)}
	_ = json.Unmarshal(fmt.Appendf(nil, `{"batch_id":%q}`, b.id), &body)
	return body
}

func lines(batch []taskrun.Record) []api.LogLine {
	out := make([]api.LogLine, len(batch))
	for i, r := range batch {
		line := api.LogLine{Timestamp: r.Time, Level: api.LogLineLevel(r.Level), Message: r.Message}
		if len(r.Fields) > 0 {
			fields := make(map[string]api.JsonValue, len(r.Fields))
			for k, v := range r.Fields {
				fields[k] = v
			}
			line.Fields = &fields
		}
		out[i] = line
	}
	return out
}

// shippable is a line made as the server takes it (taskrun.Record.Shippable), with its size.
func shippable(r taskrun.Record) queued {
	record, size := r.Shippable()
	return queued{record: record, size: size}
}
