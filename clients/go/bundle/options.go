package bundle

import (
	"fmt"
	"time"
)

// TriggerRule says when a task may start, given how its upstream tasks ended.
type TriggerRule string

// The trigger rules.
const (
	AllSuccess TriggerRule = "all_success" // every upstream task succeeded (the default)
	AllDone    TriggerRule = "all_done"    // every upstream task finished, however
	NoneFailed TriggerRule = "none_failed" // no upstream task failed (skipped ones are fine)
)

// settings are how a task runs; nil means: the DAG's default, else the server's.
type settings struct {
	retries          *int
	retryDelay       *time.Duration
	executionTimeout *time.Duration
	queue            *string
	triggerRule      *TriggerRule
}

func (s settings) over(defaults settings) settings {
	if s.retries == nil {
		s.retries = defaults.retries
	}
	if s.retryDelay == nil {
		s.retryDelay = defaults.retryDelay
	}
	if s.executionTimeout == nil {
		s.executionTimeout = defaults.executionTimeout
	}
	if s.queue == nil {
		s.queue = defaults.queue
	}
	if s.triggerRule == nil {
		s.triggerRule = defaults.triggerRule
	}
	return s
}

func (s settings) empty() bool {
	return s.retries == nil && s.retryDelay == nil && s.executionTimeout == nil && s.queue == nil && s.triggerRule == nil
}

func (s settings) check() error {
	if s.retries != nil && (*s.retries < 0 || *s.retries > 100) {
		return fmt.Errorf("retries must be from 0 to 100, not %d", *s.retries)
	}
	if s.retryDelay != nil && *s.retryDelay < 0 {
		return fmt.Errorf("the retry delay must not be negative, not %s", *s.retryDelay)
	}
	if s.executionTimeout != nil && *s.executionTimeout < time.Second {
		return fmt.Errorf("the execution timeout must be at least 1s, not %s", *s.executionTimeout)
	}
	if s.queue != nil {
		if err := checkID("queue", *s.queue); err != nil {
			return err
		}
	}
	if s.triggerRule != nil {
		switch *s.triggerRule {
		case AllSuccess, AllDone, NoneFailed:
		default:
			return fmt.Errorf("trigger rule %q is not one of %s, %s, %s", *s.triggerRule, AllSuccess, AllDone, NoneFailed)
		}
	}
	return nil
}

// TaskOption configures a task (AddTask).
type TaskOption interface{ applyTask(*Task) }

// DagOption configures a DAG (AddDag).
type DagOption interface{ applyDag(*Dag) }

// Setting is a task setting. Given to AddTask it sets the task's; given to AddDag it is the
// default of every task of the DAG that does not set its own.
type Setting func(*settings)

func (s Setting) applyTask(t *Task) { s(&t.settings) }
func (s Setting) applyDag(d *Dag)   { s(&d.defaults) }

// Retries is the number of attempts after the first (default 0): a failed attempt is retried
// while attempts remain.
func Retries(n int) Setting { return func(s *settings) { s.retries = &n } }

// RetryDelay is the wait before a retry (default 5 minutes; whole seconds, rounded up).
func RetryDelay(d time.Duration) Setting { return func(s *settings) { s.retryDelay = &d } }

// ExecutionTimeout stops and fails an attempt that runs longer (default: no limit).
func ExecutionTimeout(d time.Duration) Setting {
	return func(s *settings) { s.executionTimeout = &d }
}

// Queue is the queue of the task: only workers serving it run it (default "default").
func Queue(name string) Setting { return func(s *settings) { s.queue = &name } }

// Trigger sets when the task may start (default AllSuccess).
func Trigger(rule TriggerRule) Setting { return func(s *settings) { s.triggerRule = &rule } }

type taskOption func(*Task)

func (o taskOption) applyTask(t *Task) { o(t) }

// TaskID names the task (default: the function's name).
func TaskID(id string) TaskOption { return taskOption(func(t *Task) { t.id = id; t.idGiven = true }) }

// Upstream makes the task wait for these tasks of its DAG. The task's data parameters (those
// that are neither injected nor a context) receive, in order, the return values of its upstream
// tasks, in the order given.
func Upstream(tasks ...*Task) TaskOption {
	return taskOption(func(t *Task) {
		for _, u := range tasks {
			t.upstream = append(t.upstream, upstreamRef{task: u})
		}
	})
}

// UpstreamIDs is Upstream by task id: for tasks added later, or, in a DAG another bundle
// describes (ImplementDag), for tasks this bundle does not have.
func UpstreamIDs(ids ...string) TaskOption {
	return taskOption(func(t *Task) {
		for _, id := range ids {
			t.upstream = append(t.upstream, upstreamRef{id: id})
		}
	})
}

type dagOption func(*Dag)

func (o dagOption) applyDag(d *Dag) { o(d) }

// Description describes the DAG (shown by `baton dags list`).
func Description(text string) DagOption { return dagOption(func(d *Dag) { d.description = &text }) }

// Schedule runs the DAG on a cron schedule (UTC), e.g. "0 6 * * *".
func Schedule(cron string) DagOption { return dagOption(func(d *Dag) { d.cron = &cron }) }

// Every runs the DAG at a fixed interval (whole seconds, at least one).
func Every(interval time.Duration) DagOption {
	return dagOption(func(d *Dag) { d.interval = &interval })
}

// StartAt holds back scheduled runs until this time (needs Schedule or Every).
func StartAt(t time.Time) DagOption { return dagOption(func(d *Dag) { d.startAt = &t }) }
