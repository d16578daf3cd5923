package main

import (
	"strings"
	"testing"
)

// The bench verb runs end to end on a tiny registry (figures are not
// checked: benchmarks are not timed tests).
func TestBenchRuns(t *testing.T) {
	out := mustCLI(t, "bench", "--duration", "200ms", "--clients", "1,4", "--people", "500", "--repeat", "2")
	for _, want := range []string{"bare", "governed", "closed loop nearest half load (clients: 1)", "open loop", "all integrated and signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
	if _, err := cli(t, "bench", "--clients", "0"); err == nil {
		t.Error("--clients 0 accepted")
	}
}
