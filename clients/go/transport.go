package baton

import (
	"bytes"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/baton-org/baton/clients/go/api"
)

// Header names of the Baton API.
const (
	VersionHeader        = "Baton-API-Version"
	RefreshedTokenHeader = "Refreshed-API-Token"
	RequestIDHeader      = "X-Request-ID"
)

// RetryPolicy says how often and how patiently idempotent requests are retried.
type RetryPolicy struct {
	// Attempts is the number of tries in all, the first included; 1 turns retries off.
	Attempts int
	// Backoff is the wait before the first retry; it doubles for each further one, up to MaxBackoff.
	Backoff time.Duration
	// MaxBackoff caps the wait between two tries; 0 for no cap.
	MaxBackoff time.Duration
	// GiveUpAfter is how long after the first try a retry may still start; 0: only Attempts bounds them.
	GiveUpAfter time.Duration
}

// DefaultRetryPolicy is used when no WithRetry option is given.
var DefaultRetryPolicy = RetryPolicy{Attempts: 4, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}

// TaskRetryPolicy is the policy of the client a task's own code calls the API through (variables,
// connections, XComs; WithTaskPatience): it rides out a server that is away for up to a minute — a
// restart, an upgrade, a replica replaced — where DefaultRetryPolicy gives up after about a second,
// failing the task.
var TaskRetryPolicy = RetryPolicy{Attempts: 1000, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, GiveUpAfter: time.Minute}

// allows reports whether retry number retry may start after waiting d, the first try having
// started at started.
func (p RetryPolicy) allows(retry int, started time.Time, d time.Duration) bool {
	if retry >= p.Attempts {
		return false
	}
	return p.GiveUpAfter <= 0 || time.Since(started)+d <= p.GiveUpAfter
}

func (p RetryPolicy) delay(retry int) time.Duration {
	d := p.Backoff << min(retry-1, 20)
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) // jitter, not cryptography
}

// delayAfter is the wait before retry number retry: at least the server's Retry-After (in seconds,
// as a 503 sends it while the server's database is unreachable), but never more than MaxBackoff.
func (p RetryPolicy) delayAfter(retry int, retryAfter string) time.Duration {
	d := p.delay(retry)
	seconds, err := strconv.ParseFloat(retryAfter, 64)
	if err != nil || seconds <= 0 {
		return d // absent, or an HTTP date: the backoff applies
	}
	asked := time.Duration(seconds * float64(time.Second))
	if p.MaxBackoff > 0 && asked > p.MaxBackoff {
		asked = p.MaxBackoff
	}
	return max(d, asked)
}

type credentials struct {
	mu    sync.Mutex
	token string
}

func (c *credentials) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

func (c *credentials) set(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// transport adds the version, token and request id headers, swaps in refreshed tokens and
// retries transport errors and 5xx answers (honouring Retry-After) of requests that are safe to repeat.
type transport struct {
	inner   http.RoundTripper
	creds   *credentials
	retry   RetryPolicy
	version string
}

// idempotent reports whether a request may be sent again. Every PATCH of the Baton API is
// idempotent by contract (run replays its answer for the same host and pid, state repeats
// harmlessly, a DAG update sets fields); the server's tests hold it to that.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// retryablePost matches the POST routes whose repeat is harmless: worker and DAG registrations
// (upserts) and claims (a claim from a worker that lost an answer gets its workloads back once the
// claim timeout passes, or at once when it lists what it holds).
var retryablePost = regexp.MustCompile(`/workers/(registrations|dags|[^/]+/claims)$`)

// repeatableKey marks a request's context when the request is safe to repeat although its route
// is not: a log batch that carries a batch id (Client.UploadLogs).
type repeatableKey struct{}

// safeToRepeat reports whether the request may be sent again after its answer was lost.
func safeToRepeat(req *http.Request) bool {
	if idempotent(req.Method) || req.Context().Value(repeatableKey{}) != nil {
		return true
	}
	return req.Method == http.MethodPost && retryablePost.MatchString(req.URL.Path)
}

// neverSent reports whether the error means the request did not reach the server.
func neverSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func newRequestID() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	requestID := req.Header.Get(RequestIDHeader)
	if requestID == "" {
		// One id for every try of this request: the server's logs tie the retries together.
		requestID = newRequestID()
	}
	started := time.Now()
	for attempt := 1; ; attempt++ {
		last := attempt >= t.retry.Attempts
		try := req.Clone(req.Context())
		if attempt > 1 && req.Body != nil {
			if req.GetBody == nil {
				last = true
			} else {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		try.Header.Set(VersionHeader, t.version)
		try.Header.Set(RequestIDHeader, requestID)
		if token := t.creds.get(); token != "" {
			try.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := t.inner.RoundTrip(try)
		if err != nil {
			if last || !(safeToRepeat(req) || neverSent(err)) || !t.waited(req, started, attempt, t.retry.delay(attempt)) {
				return nil, &TransportError{Method: req.Method, URL: req.URL.Redacted(), Err: err}
			}
			continue
		}
		// Read here, not by the caller: a body cut short (a server killed after its headers) is a
		// transport error that the rules above retry.
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			if last || !safeToRepeat(req) || !t.waited(req, started, attempt, t.retry.delay(attempt)) {
				return nil, &TransportError{Method: req.Method, URL: req.URL.Redacted(), Err: err}
			}
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if refreshed := resp.Header.Get(RefreshedTokenHeader); refreshed != "" {
			t.creds.set(refreshed)
		}
		if resp.StatusCode >= 500 && !last && safeToRepeat(req) {
			d := t.retry.delayAfter(attempt, resp.Header.Get("Retry-After"))
			if !t.retry.allows(attempt, started, d) {
				return resp, nil
			}
			if t.wait(req, d) != nil {
				return nil, &TransportError{Method: req.Method, URL: req.URL.Redacted(), Err: req.Context().Err()}
			}
			continue
		}
		return resp, nil
	}
}

// waited waits d before retry number attempt, if the policy allows it; false if it does not or the
// request's context ended while waiting.
func (t *transport) waited(req *http.Request, started time.Time, attempt int, d time.Duration) bool {
	return t.retry.allows(attempt, started, d) && t.wait(req, d) == nil
}

func (t *transport) wait(req *http.Request, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-req.Context().Done():
		return req.Context().Err()
	case <-timer.C:
		return nil
	}
}

var _ http.RoundTripper = (*transport)(nil)

// APIVersion is the Baton API version this client was generated for and sends on every request.
const APIVersion = api.APIVersion
