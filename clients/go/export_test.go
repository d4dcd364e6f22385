package baton

import "time"

// WithVersionForTest lets tests play a client generated for another API version.
var WithVersionForTest = withVersion

// DelayAfterForTest exposes the wait before a retry that got a Retry-After header.
func DelayAfterForTest(p RetryPolicy, retry int, retryAfter string) time.Duration {
	return p.delayAfter(retry, retryAfter)
}

// AllowsForTest exposes whether a policy lets retry number retry start after waiting d.
func AllowsForTest(p RetryPolicy, retry int, started time.Time, d time.Duration) bool {
	return p.allows(retry, started, d)
}
