// Package baton is the Go client of the Baton API, pinned to the API version it was generated for.
//
// The generated client lives in the api package; this package wires it for real use: the
// version header, the token (swapped transparently when the server refreshes it), retries of
// idempotent requests, and typed errors (see APIError and the Err* sentinels).
//
//	client, err := baton.NewClient("http://127.0.0.1:8080", token)
//	status, err := client.Health(ctx, baton.ExecutionAPI)
package baton

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baton-org/baton/clients/go/api"
)

// Client talks to one Baton server with one token.
type Client struct {
	creds     *credentials
	http      *http.Client
	generated *api.ClientWithResponses
}

type config struct {
	inner   http.RoundTripper
	retry   RetryPolicy
	timeout time.Duration
	version string
}

// Option configures a Client.
type Option func(*config)

// WithRetry replaces DefaultRetryPolicy.
func WithRetry(policy RetryPolicy) Option {
	return func(c *config) { c.retry = policy }
}

// WithTaskPatience sets TaskRetryPolicy, and a timeout that leaves its retries room, for the client a
// task's own code calls the API through.
func WithTaskPatience() Option {
	return func(c *config) {
		c.retry = TaskRetryPolicy
		c.timeout = TaskRetryPolicy.GiveUpAfter + 30*time.Second
	}
}

// WithTimeout bounds each request (every retry included); the default is 30 seconds.
func WithTimeout(timeout time.Duration) Option {
	return func(c *config) { c.timeout = timeout }
}

// WithTransport sets the round tripper under the client's own (default: http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) { c.inner = rt }
}

// withVersion overrides the pinned version; tests use it to play a client newer than the server.
func withVersion(version string) Option {
	return func(c *config) { c.version = version }
}

// NewClient returns a client of the server at baseURL using token ("" for none).
func NewClient(baseURL, token string, opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy, timeout: 30 * time.Second, version: APIVersion}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.retry.Attempts < 1 {
		return nil, fmt.Errorf("baton: RetryPolicy.Attempts must be at least 1, got %d", cfg.retry.Attempts)
	}
	if cfg.retry.Backoff < 0 || cfg.retry.MaxBackoff < 0 || cfg.retry.GiveUpAfter < 0 {
		return nil, fmt.Errorf("baton: RetryPolicy durations must not be negative, got %+v", cfg.retry)
	}
	// A URL no request can reach is refused here, once, rather than retried as if the server were down.
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("baton: the server URL %q is not an http:// or https:// URL with a host", baseURL)
	}
	inner := cfg.inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	creds := &credentials{token: token}
	httpClient := &http.Client{
		Timeout:   cfg.timeout,
		Transport: &transport{inner: inner, creds: creds, retry: cfg.retry, version: cfg.version},
	}
	generated, err := api.NewClientWithResponses(strings.TrimRight(baseURL, "/"), api.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("baton: %w", err)
	}
	return &Client{creds: creds, http: httpClient, generated: generated}, nil
}

// Generated is the generated client, for any operation this package has no method for; check
// its responses with CheckResponse.
func (c *Client) Generated() *api.ClientWithResponses { return c.generated }

// HTTPClient is the client's configured *http.Client (version header, token, retries), for
// requests outside the generated operations; check their responses with CheckResponse.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Token is the token in use: the one given, or the latest the server refreshed it to.
func (c *Client) Token() string { return c.creds.get() }

// APIName names one of the three APIs a Baton server serves.
type APIName string

// The three APIs.
const (
	ExecutionAPI APIName = "execution"
	WorkersAPI   APIName = "workers"
	AdminAPI     APIName = "admin"
)

// Health checks that the server and its database answer, through one of the three APIs.
func (c *Client) Health(ctx context.Context, which APIName) (*api.HealthStatus, error) {
	switch which {
	case ExecutionAPI:
		r, err := c.generated.CheckExecutionHealthWithResponse(ctx)
		if err != nil {
			return nil, err
		}
		return result(r.HTTPResponse, r.Body, r.JSON200)
	case WorkersAPI:
		r, err := c.generated.CheckWorkersHealthWithResponse(ctx)
		if err != nil {
			return nil, err
		}
		return result(r.HTTPResponse, r.Body, r.JSON200)
	case AdminAPI:
		r, err := c.generated.CheckAdminHealthWithResponse(ctx)
		if err != nil {
			return nil, err
		}
		return result(r.HTTPResponse, r.Body, r.JSON200)
	}
	return nil, fmt.Errorf("baton: unknown API %q", which)
}

// result turns a generated response into its success payload or its error.
func result[T any](httpResp *http.Response, body []byte, parsed *T) (*T, error) {
	if err := CheckResponse(httpResp, body); err != nil {
		return nil, err
	}
	if parsed == nil {
		return nil, fmt.Errorf("baton: unexpected %d answer without the documented body", httpResp.StatusCode)
	}
	return parsed, nil
}

// SetToken replaces the token in use, for a token refreshed through another client of the same
// attempt (a task's process learns its supervisor's refreshed token this way).
func (c *Client) SetToken(token string) { c.creds.set(token) }
