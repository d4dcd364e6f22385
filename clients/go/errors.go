package baton

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// Sentinel errors to test an error's kind with errors.Is. Every error an API call returns
// because the server answered with an error status is an *APIError, which matches the
// sentinel of its status (and, for version problems, its reason):
//
//	ErrBadRequest        400
//	  ErrVersionMismatch   the server does not serve this client's API version
//	    ErrServerTooOld      ... because the client is newer: upgrade the server
//	ErrUnauthorized      401
//	ErrForbidden         403
//	ErrNotFound          404
//	ErrConflict          409
//	ErrPayloadTooLarge   413
//	ErrInvalidRequest    422
//	ErrServer            5xx
//
// A request that got no HTTP answer at all (after the retries) fails with a *TransportError. A
// variable key, connection id or XCom address the API cannot take (empty, past 250 characters, or
// with a character it does not allow, "/" among them) is refused before anything is sent with an
// error matching ErrInvalidKey: the server would answer some of them 404, which reads as "not set".
var (
	ErrInvalidKey      = errors.New("baton: invalid key")
	ErrBadRequest      = errors.New("baton: bad request")
	ErrVersionMismatch = errors.New("baton: API version not served")
	ErrServerTooOld    = errors.New("baton: the server is older than this client; upgrade the server")
	ErrUnauthorized    = errors.New("baton: unauthorized")
	ErrForbidden       = errors.New("baton: forbidden")
	ErrNotFound        = errors.New("baton: not found")
	ErrConflict        = errors.New("baton: conflict")
	ErrPayloadTooLarge = errors.New("baton: payload too large")
	ErrInvalidRequest  = errors.New("baton: invalid request")
	ErrServer          = errors.New("baton: server error")
)

// idPattern and runIDPattern are the spec's patterns of ids and keys, and of run ids.
var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$`)
	runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}$`)
)

// checkKey returns an error matching ErrInvalidKey, naming kind, when the API cannot take value.
func checkKey(kind, value string) error {
	if kind == "run id" {
		if !runIDPattern.MatchString(value) {
			return fmt.Errorf("%w: %s %q is not valid: use 1 to 250 letters, digits, '_', '.', ':' or '-', not starting with '.', ':' or '-'",
				ErrInvalidKey, kind, value)
		}
		return nil
	}
	if !idPattern.MatchString(value) {
		return fmt.Errorf("%w: %s %q is not valid: use 1 to 250 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
			ErrInvalidKey, kind, value)
	}
	return nil
}

const (
	reasonClientVersionTooNew = "client_version_too_new"
	reasonUnsupportedVersion  = "unsupported_api_version"
)

// APIError is an error answer of the Baton API: its status, the server's reason and message,
// and the request id to quote when reporting a problem.
type APIError struct {
	Status    int
	Reason    string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("baton: %d %s: %s", e.Status, e.Reason, e.Message)
	if e.Reason == reasonClientVersionTooNew {
		msg = fmt.Sprintf("baton: upgrade the Baton server: %s", e.Message)
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// Is reports whether the error is of the kind of the given sentinel (errors.Is).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrServerTooOld:
		return e.Status == http.StatusBadRequest && e.Reason == reasonClientVersionTooNew
	case ErrVersionMismatch:
		return e.Status == http.StatusBadRequest &&
			(e.Reason == reasonClientVersionTooNew || e.Reason == reasonUnsupportedVersion)
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrPayloadTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrInvalidRequest:
		return e.Status == http.StatusUnprocessableEntity
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// TransportError is a request that got no HTTP answer (refused, reset, timed out), after retries.
type TransportError struct {
	Method string
	URL    string
	Err    error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("baton: %s %s: %v", e.Method, e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// CheckResponse returns nil for a success status, else the *APIError the answer describes.
// Use it on the responses of calls made through Client.Generated().
func CheckResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode < 400 {
		return nil
	}
	apiErr := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get(RequestIDHeader)}
	var parsed struct {
		Reason  *string `json:"reason"`
		Message string  `json:"message"`
	}
	if err := json.Unmarshal(body, &parsed); err == nil && parsed.Reason != nil {
		apiErr.Reason, apiErr.Message = *parsed.Reason, parsed.Message
	} else {
		apiErr.Reason = fmt.Sprintf("http_%d", resp.StatusCode)
		apiErr.Message = truncate(string(body), 500)
		if apiErr.Message == "" {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
	}
	return apiErr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
