package main

import "testing"

func TestRun_DurationNotAboveZero_RefusedBeforeStarting(t *testing.T) {
	for _, flag := range []string{"-heartbeat-interval", "-claim-wait", "-grace-period"} {
		for _, value := range []string{"0s", "-1s"} {
			args := []string{"-bundles", t.TempDir(), "-server", "http://127.0.0.1:1", "-token", "t", flag, value}
			if status := run(args); status != 2 {
				t.Errorf("%s %s: exit status %d, want 2", flag, value, status)
			}
		}
	}
}
