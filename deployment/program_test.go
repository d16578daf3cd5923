package deployment

import (
	"os"
	"sync"
	"testing"
)

// The program is named by the code that runs, not by the file at its path:
// an upgrade that renames a new build over the binary before the old
// process first prepares a registry must not let the old code stamp its
// copy with the new build's name.
func TestProgramHashNamesTheRunningCode(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	program := sync.OnceValues(programHash) // as Open sets it
	running, err := programHash()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe+".new", []byte("the next release"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(exe+".new", exe); err != nil {
		t.Fatal(err)
	}
	got, err := program()
	if err != nil {
		t.Fatal(err)
	}
	if got != running {
		t.Errorf("the program is named %s, the file now at its path, not %s, the code that runs", got[:12], running[:12])
	}
}
