//go:build !linux

package bundleplugin

import "time"

// leftProcesses finds none where there is no /proc to find them in.
func leftProcesses() []int { return nil }

// stopProcesses has nothing to stop there.
func stopProcesses([]int, time.Duration) {}

// groupOfBundle finds none there.
func groupOfBundle(int) []int { return nil }

// killGroupOf has nothing to kill there.
func killGroupOf(int, []int) {}
