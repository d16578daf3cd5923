package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for custodian where a verb runs
// this binary again (bench's server process).
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
