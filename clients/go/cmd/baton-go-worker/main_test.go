package main

import "testing"

func TestRun_ValueNotAboveZero_RefusedBeforeStarting(t *testing.T) {
	for flag, values := range map[string][]string{
		"-heartbeat-interval": {"0s", "-1s"}, "-claim-wait": {"0s", "-1s"}, "-grace-period": {"0s", "-1s"},
		"-concurrency": {"0", "-1"},
	} {
		for _, value := range values {
			args := []string{"-bundles", t.TempDir(), "-server", "http://127.0.0.1:1", "-token", "t", flag, value}
			if status := run(args); status != 2 {
				t.Errorf("%s %s: exit status %d, want 2", flag, value, status)
			}
		}
	}
}
