package baton_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	baton "github.com/baton-org/baton/clients/go"
	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/testserver"
	"github.com/google/uuid"
)

var live *testserver.Server

func TestMain(m *testing.M) {
	server, err := testserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the live server:", err)
		os.Exit(1)
	}
	live = server
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

var fast = baton.WithRetry(baton.RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})

func newClient(t *testing.T, baseURL, token string, opts ...baton.Option) *baton.Client {
	t.Helper()
	client, err := baton.NewClient(baseURL, token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// recorder is a real transport that keeps the requests it sent.
type recorder struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestHealth_EachAPI_AnswersOK(t *testing.T) {
	client := newClient(t, live.BaseURL, "")
	for _, which := range []baton.APIName{baton.ExecutionAPI, baton.WorkersAPI, baton.AdminAPI} {
		status, err := client.Health(context.Background(), which)
		if err != nil {
			t.Fatalf("%s: %v", which, err)
		}
		if status.Status != "ok" || status.Database != "ok" {
			t.Fatalf("%s: %+v", which, status)
		}
	}
}

func TestEveryRequest_SendsPinnedVersionTokenAndRequestID(t *testing.T) {
	rec := &recorder{}
	client := newClient(t, live.BaseURL, "tok", baton.WithTransport(rec))
	resp, err := client.Generated().CheckExecutionHealthWithResponse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.requests[0]
	if got := sent.Header.Get(baton.VersionHeader); got != baton.APIVersion {
		t.Fatalf("version header %q, want %q", got, baton.APIVersion)
	}
	if got := sent.Header.Get("Authorization"); got != "Bearer tok" {
		t.Fatalf("authorization %q", got)
	}
	if got := resp.HTTPResponse.Header.Get(baton.VersionHeader); got != baton.APIVersion {
		t.Fatalf("served version %q, want %q", got, baton.APIVersion)
	}
	if sent.Header.Get(baton.RequestIDHeader) != resp.HTTPResponse.Header.Get(baton.RequestIDHeader) {
		t.Fatal("the server did not echo the request id")
	}
}

func do(t *testing.T, client *baton.Client, method, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return baton.CheckResponse(resp, body)
}

func TestUnknownRoute_NotFoundErrorWithRequestID(t *testing.T) {
	client := newClient(t, live.BaseURL, "")
	err := do(t, client, http.MethodGet, live.BaseURL+"/execution/no-such-route")
	var apiErr *baton.APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, baton.ErrNotFound) {
		t.Fatalf("want a not-found *APIError, got %T %v", err, err)
	}
	if apiErr.Reason != "not_found" || len(apiErr.RequestID) != 32 || !strings.Contains(err.Error(), apiErr.RequestID) {
		t.Fatalf("%+v", apiErr)
	}
}

func TestClientNewerThanServer_ServerTooOldError(t *testing.T) {
	client := newClient(t, live.BaseURL, "", baton.WithVersionForTest("2999-01-01"))
	_, err := client.Health(context.Background(), baton.ExecutionAPI)
	if !errors.Is(err, baton.ErrServerTooOld) || !errors.Is(err, baton.ErrVersionMismatch) {
		t.Fatalf("want ErrServerTooOld, got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "upgrade the Baton server") || !strings.Contains(err.Error(), baton.APIVersion) {
		t.Fatalf("unclear message: %v", err)
	}
}

// refusedAddr is a loopback address where nothing listens: connections to it are refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func TestServerUnreachable_TransportErrorAfterRetries(t *testing.T) {
	addr := refusedAddr(t)
	rec := &recorder{}
	client := newClient(t, "http://"+addr, "", fast, baton.WithTransport(rec))
	_, err := client.Health(context.Background(), baton.ExecutionAPI)
	var transportErr *baton.TransportError
	if !errors.As(err, &transportErr) {
		t.Fatalf("want a *TransportError, got %T %v", err, err)
	}
	if len(rec.requests) != 3 {
		t.Fatalf("%d tries, want 3", len(rec.requests))
	}
}

func TestNewClient_URLNoRequestCanReach_RefusedAtOnce(t *testing.T) {
	for _, url := range []string{"", "notaurl", "127.0.0.1:8080", "ftp://host", "http://", "http://%zz"} {
		if _, err := baton.NewClient(url, "token"); err == nil || !strings.Contains(err.Error(), "is not an http:// or https:// URL with a host") {
			t.Errorf("NewClient(%q): want the URL refused, got %v", url, err)
		}
	}
	for _, url := range []string{"http://127.0.0.1:8080", "https://baton.example/", "http://[::1]:8080/base"} {
		if _, err := baton.NewClient(url, "token"); err != nil {
			t.Errorf("NewClient(%q): %v", url, err)
		}
	}
}

// scripted is a loopback HTTP server answering each request with the next scripted answer.
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *[]*http.Request) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []*http.Request
	)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
		if len(answers) == 0 {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		answer := answers[0]
		answers = answers[1:]
		answer(w)
	}))
	t.Cleanup(server.Close)
	return server, &seen
}

func answer(status int, body string, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

const healthy = `{"status":"ok","database":"ok"}`

func TestRefreshedToken_UsedFromTheNextRequestOn(t *testing.T) {
	server, seen := scripted(t,
		answer(200, healthy, baton.RefreshedTokenHeader, "fresh"),
		answer(200, healthy),
	)
	client := newClient(t, server.URL, "stale")
	for range 2 {
		if _, err := client.Health(context.Background(), baton.ExecutionAPI); err != nil {
			t.Fatal(err)
		}
	}
	if got := []string{(*seen)[0].Header.Get("Authorization"), (*seen)[1].Header.Get("Authorization")}; got[0] != "Bearer stale" || got[1] != "Bearer fresh" {
		t.Fatalf("authorization headers %v", got)
	}
	if client.Token() != "fresh" {
		t.Fatalf("token %q", client.Token())
	}
}

func TestGet5xxThenOK_RetriedWithTheSameRequestID(t *testing.T) {
	server, seen := scripted(t,
		answer(503, `{"reason":"unavailable","message":"busy"}`),
		answer(200, healthy),
	)
	client := newClient(t, server.URL, "", fast)
	if _, err := client.Health(context.Background(), baton.ExecutionAPI); err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 2 {
		t.Fatalf("%d tries, want 2", len(*seen))
	}
	if (*seen)[0].Header.Get(baton.RequestIDHeader) != (*seen)[1].Header.Get(baton.RequestIDHeader) {
		t.Fatal("retries must share one request id")
	}
}

func TestGet5xxEveryTime_ServerErrorAfterAllAttempts(t *testing.T) {
	boom := answer(500, `{"reason":"internal_error","message":"logged"}`, baton.RequestIDHeader, "r1")
	server, seen := scripted(t, boom, boom, boom)
	client := newClient(t, server.URL, "", fast)
	_, err := client.Health(context.Background(), baton.ExecutionAPI)
	var apiErr *baton.APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, baton.ErrServer) {
		t.Fatalf("want a server *APIError, got %T %v", err, err)
	}
	if apiErr.Status != 500 || apiErr.Reason != "internal_error" || apiErr.RequestID != "r1" {
		t.Fatalf("%+v", apiErr)
	}
	if len(*seen) != 3 {
		t.Fatalf("%d tries, want 3", len(*seen))
	}
}

func TestPost5xx_NotRetried(t *testing.T) {
	server, seen := scripted(t, answer(502, `{"reason":"bad_gateway","message":"m"}`))
	client := newClient(t, server.URL, "", fast)
	if err := do(t, client, http.MethodPost, server.URL+"/execution/things"); !errors.Is(err, baton.ErrServer) {
		t.Fatalf("want ErrServer, got %v", err)
	}
	if len(*seen) != 1 {
		t.Fatalf("%d tries, want 1", len(*seen))
	}
}

func TestFinish5xxThenOK_RetriedBecauseEveryPatchIsIdempotent(t *testing.T) {
	server, seen := scripted(t,
		answer(502, `{"reason":"bad_gateway","message":"m"}`),
		answer(200, `{"state":"success","try_number":1}`),
	)
	client := newClient(t, server.URL, "t", fast)
	done, err := client.Finish(context.Background(), uuid.New(), api.TIStatePayload{State: api.TIStatePayloadStateSuccess, EndDate: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if done.State != api.TIStateResponseStateSuccess || len(*seen) != 2 || (*seen)[1].Method != http.MethodPatch {
		t.Fatalf("state %v after %d tries", done.State, len(*seen))
	}
	if (*seen)[0].Header.Get(baton.RequestIDHeader) != (*seen)[1].Header.Get(baton.RequestIDHeader) {
		t.Fatal("retries must share one request id")
	}
}

// cutShort answers with headers promising a body, then closes the connection: a server killed
// after sending its headers.
func cutShort(t *testing.T) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		conn, buffered, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = buffered.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 607\r\n\r\n{")
		_ = buffered.Flush()
		_ = conn.Close()
	}
}

func TestFinishAnswerCutShort_RetriedAsATransportError(t *testing.T) {
	server, seen := scripted(t, cutShort(t), answer(200, `{"state":"success","try_number":1}`))
	client := newClient(t, server.URL, "t", fast)
	done, err := client.Finish(context.Background(), uuid.New(), api.TIStatePayload{State: api.TIStatePayloadStateSuccess, EndDate: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if done.State != api.TIStateResponseStateSuccess || len(*seen) != 2 {
		t.Fatalf("state %v after %d tries", done.State, len(*seen))
	}
}

func TestPostAnswerCutShort_NotRetriedButATransportError(t *testing.T) {
	server, seen := scripted(t, cutShort(t))
	client := newClient(t, server.URL, "", fast)
	err := do(t, client, http.MethodPost, server.URL+"/execution/things")
	var transportErr *baton.TransportError
	if !errors.As(err, &transportErr) {
		t.Fatalf("want a *TransportError, got %T %v", err, err)
	}
	if len(*seen) != 1 {
		t.Fatalf("%d tries, want 1", len(*seen))
	}
}

func TestClaim503_RetriedBecauseAClaimIsSafeToRepeat(t *testing.T) {
	server, seen := scripted(t,
		answer(503, `{"reason":"database_unavailable","message":"m"}`, "Retry-After", "0"),
		answer(200, `{"workloads":[]}`),
	)
	client := newClient(t, server.URL, "", fast)
	if err := do(t, client, http.MethodPost, server.URL+"/workers/"+uuid.NewString()+"/claims"); err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 2 {
		t.Fatalf("%d tries, want 2", len(*seen))
	}
}

func TestUploadLogs5xxThenOK_RetriedUnderOneBatchID(t *testing.T) {
	var (
		mu       sync.Mutex
		batchIDs []string
	)
	answers := []int{502, 200}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			BatchID string `json:"batch_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		status := answers[min(len(batchIDs), len(answers)-1)]
		batchIDs = append(batchIDs, body.BatchID)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"accepted":1,"reason":"bad_gateway","message":"m"}`))
	}))
	t.Cleanup(server.Close)
	client := newClient(t, server.URL, "t", fast)
	line := api.LogLine{Timestamp: time.Now().UTC(), Level: api.LogLineLevelInfo, Message: "m"}
	if _, err := client.UploadLogs(context.Background(), uuid.New(), api.LogBatch{Lines: []api.LogLine{line}}); err != nil {
		t.Fatal(err)
	}
	if len(batchIDs) != 2 || batchIDs[0] == "" || batchIDs[0] != batchIDs[1] {
		t.Fatalf("batch ids sent %q, want one new id sent twice", batchIDs)
	}
	given := uuid.New()
	if _, err := client.UploadLogs(context.Background(), uuid.New(), api.LogBatch{BatchId: &given, Lines: []api.LogLine{line}}); err != nil {
		t.Fatal(err)
	}
	if batchIDs[2] != given.String() {
		t.Fatalf("a given batch id was replaced: sent %s, gave %s", batchIDs[2], given)
	}
}

func TestLogsPostWithoutBatchID5xx_NotRetried(t *testing.T) {
	server, seen := scripted(t, answer(502, `{"reason":"bad_gateway","message":"m"}`))
	client := newClient(t, server.URL, "t", fast)
	if err := do(t, client, http.MethodPost, server.URL+"/execution/task-instances/"+uuid.NewString()+"/logs"); !errors.Is(err, baton.ErrServer) {
		t.Fatalf("want ErrServer, got %v", err)
	}
	if len(*seen) != 1 {
		t.Fatalf("%d tries, want 1: without a batch id a repeat could store the lines twice", len(*seen))
	}
}

func TestRetryAfter_WaitedAtLeastThatLongButNeverPastMaxBackoff(t *testing.T) {
	policy := baton.RetryPolicy{Attempts: 3, Backoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
	if got := baton.DelayAfterForTest(policy, 1, "2"); got != 2*time.Second {
		t.Fatalf("Retry-After 2: waited %v", got)
	}
	if got := baton.DelayAfterForTest(policy, 1, "600"); got != 5*time.Second {
		t.Fatalf("Retry-After 600: waited %v, want the 5 s cap", got)
	}
	if got := baton.DelayAfterForTest(policy, 1, "Wed, 21 Oct 2026 07:28:00 GMT"); got > 100*time.Millisecond {
		t.Fatalf("Retry-After as a date: waited %v, want the backoff", got)
	}
}

func TestGiveUpAfter_NoRetryStartsPastItWhateverTheAttemptsLeft(t *testing.T) {
	policy := baton.RetryPolicy{Attempts: 1000, Backoff: time.Minute, GiveUpAfter: time.Minute}
	started := time.Now()
	if !baton.AllowsForTest(policy, 1, started, 30*time.Second) {
		t.Error("a retry within the minute was refused")
	}
	if baton.AllowsForTest(policy, 1, started.Add(-50*time.Second), 20*time.Second) {
		t.Error("a retry that would start after the minute was allowed")
	}
	if baton.AllowsForTest(policy, 1000, started, 0) {
		t.Error("a retry past the attempts was allowed")
	}
	if !baton.AllowsForTest(baton.RetryPolicy{Attempts: 4}, 3, started.Add(-time.Hour), time.Hour) {
		t.Error("without GiveUpAfter only the attempts bound the retries")
	}
}

func TestGiveUpAfter_ServerRefusingConnections_TriedUntilThenATransportError(t *testing.T) {
	addr := refusedAddr(t)
	rec := &recorder{}
	policy := baton.RetryPolicy{Attempts: 1000, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, GiveUpAfter: 500 * time.Millisecond}
	client := newClient(t, "http://"+addr, "", baton.WithRetry(policy), baton.WithTransport(rec))
	_, err := client.Health(context.Background(), baton.ExecutionAPI)
	var transportErr *baton.TransportError
	if !errors.As(err, &transportErr) {
		t.Fatalf("want a *TransportError, got %T %v", err, err)
	}
	if n := len(rec.requests); n <= 4 || n >= 1000 {
		t.Fatalf("%d tries: want more than the default's 4 (the time bounds them) and fewer than the attempts", n)
	}
}

func TestTaskRetryPolicy_ItsAttemptsOutlastItsMinuteEvenWithTheShortestJitter(t *testing.T) {
	p := baton.TaskRetryPolicy
	if p.GiveUpAfter < 55*time.Second {
		t.Fatalf("GiveUpAfter %v: a task's calls must ride out a restart of most of a minute", p.GiveUpAfter)
	}
	var waited time.Duration
	for retry := 1; retry < p.Attempts && waited < p.GiveUpAfter; retry++ {
		waited += min(p.Backoff<<min(retry-1, 20), p.MaxBackoff) / 2 // jitter waits at least half
	}
	if waited < p.GiveUpAfter {
		t.Fatalf("the attempts run out after %v, before GiveUpAfter %v", waited, p.GiveUpAfter)
	}
}

func TestNewClient_NegativeRetryDurations_Refused(t *testing.T) {
	for _, policy := range []baton.RetryPolicy{
		{Attempts: 2, Backoff: -time.Second},
		{Attempts: 2, MaxBackoff: -time.Second},
		{Attempts: 2, GiveUpAfter: -time.Second},
	} {
		if _, err := baton.NewClient("http://127.0.0.1:1", "", baton.WithRetry(policy)); err == nil {
			t.Errorf("%+v: want it refused", policy)
		}
	}
}

func TestPostConnectionRefused_RetriedBecauseNeverSent(t *testing.T) {
	addr := refusedAddr(t)
	rec := &recorder{}
	client := newClient(t, "http://"+addr, "", fast, baton.WithTransport(rec))
	var transportErr *baton.TransportError
	if err := do(t, client, http.MethodPost, "http://"+addr+"/execution/things"); !errors.As(err, &transportErr) {
		t.Fatalf("want a *TransportError, got %T %v", err, err)
	}
	if len(rec.requests) != 3 {
		t.Fatalf("%d tries, want 3: a refused connection never reached the server", len(rec.requests))
	}
}

func TestErrorStatus_TypedErrorWithReasonAndMessage(t *testing.T) {
	cases := []struct {
		status   int
		body     string
		sentinel error
		reason   string
	}{
		{401, `{"reason":"token_expired","message":"the token expired"}`, baton.ErrUnauthorized, "token_expired"},
		{409, `{"reason":"not_running","message":"not running"}`, baton.ErrConflict, "not_running"},
		{422, `{"reason":"validation_error","message":"pid: required"}`, baton.ErrInvalidRequest, "validation_error"},
		{409, `<html>proxy</html>`, baton.ErrConflict, "http_409"},
		{400, `{"reason":"client_version_too_new","message":"newer"}`, baton.ErrServerTooOld, "client_version_too_new"},
	}
	for _, tc := range cases {
		server, _ := scripted(t, answer(tc.status, tc.body))
		client := newClient(t, server.URL, "")
		_, err := client.Health(context.Background(), baton.ExecutionAPI)
		var apiErr *baton.APIError
		if !errors.As(err, &apiErr) || !errors.Is(err, tc.sentinel) || apiErr.Reason != tc.reason {
			t.Fatalf("%d %s: got %T %v", tc.status, tc.body, err, err)
		}
	}
}

func TestKeyTheAPICannotTake_ErrInvalidKey_NothingSent(t *testing.T) {
	// A key with "/" (or an empty one) reached no route: the server's 404 read as "not set".
	ctx := context.Background()
	rec := &recorder{}
	client := newClient(t, live.BaseURL, "tok", baton.WithTransport(rec), fast)
	for _, key := range []string{"", "a/b", "../x", "a b", ".hidden", strings.Repeat("k", 251)} {
		calls := map[string]func() error{
			"XCom key": func() error {
				_, err := client.PullXCom(ctx, baton.XComRef{DagID: "d", RunID: "r", TaskID: "t", Key: key, MapIndex: -1})
				return err
			},
			"XCom key ": func() error {
				return client.PushXCom(ctx, baton.XComRef{DagID: "d", RunID: "r", TaskID: "t", Key: key, MapIndex: -1}, 1)
			},
			"task id": func() error {
				_, err := client.PullXCom(ctx, baton.XComRef{DagID: "d", RunID: "r", TaskID: key, Key: "k", MapIndex: -1})
				return err
			},
			"variable key":  func() error { _, err := client.GetVariable(ctx, key); return err },
			"variable key ": func() error { return client.SetVariable(ctx, key, 1) },
			"connection id": func() error { _, err := client.GetConnection(ctx, key); return err },
		}
		for kind, call := range calls {
			err := call()
			if !errors.Is(err, baton.ErrInvalidKey) || errors.Is(err, baton.ErrNotFound) {
				t.Fatalf("%s %q: %v; want an error matching ErrInvalidKey", kind, key, err)
			}
			if want := strings.TrimSpace(kind) + fmt.Sprintf(" %q is not valid", key); !strings.Contains(err.Error(), want) {
				t.Fatalf("%s %q: %q does not say %q", kind, key, err, want)
			}
		}
	}
	if len(rec.requests) != 0 {
		t.Fatalf("%d requests sent for keys the API cannot take", len(rec.requests))
	}
	_, err := client.PullXCom(ctx, baton.XComRef{DagID: "d", RunID: "run:1", TaskID: "t", Key: "k", MapIndex: -1})
	if !errors.Is(err, baton.ErrUnauthorized) { // a valid address is sent (and this token refused)
		t.Fatalf("a valid XCom address: %v; want the server's 401", err)
	}
}
