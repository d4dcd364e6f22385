package baton

import "time"

// WithVersionForTest lets tests play a client generated for another API version.
var WithVersionForTest = withVersion

// DelayAfterForTest exposes the wait before a retry that got a Retry-After header.
func DelayAfterForTest(p RetryPolicy, retry int, retryAfter string) time.Duration {
	return p.delayAfter(retry, retryAfter)
}
