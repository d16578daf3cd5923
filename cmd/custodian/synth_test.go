package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The synth verb writes the same files for the same seeds, so the figures
// in docs/BENCHMARKS.md can be measured again; its queries import-check
// against the registry it wrote.
func TestSynthWritesTheSameFilesAgain(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg.csv")
	q := filepath.Join(dir, "q.csv")
	out := mustCLI(t, "synth", "registry", "--people", "300", "--seed", "5", "--out", reg)
	if !strings.HasPrefix(out, "wrote 300 people") {
		t.Errorf("registry summary = %q", out)
	}
	out = mustCLI(t, "synth", "queries", "--registry", reg, "--queries", "40", "--seed", "6", "--out", q)
	if !strings.HasPrefix(out, "wrote 40 queries, 20 about registered people") {
		t.Errorf("queries summary = %q", out)
	}
	// To standard output, the CSV alone: the summary goes to standard error.
	again := mustCLI(t, "synth", "queries", "--registry", reg, "--queries", "40", "--seed", "6")
	want, _ := os.ReadFile(q)
	if again != string(want) {
		t.Error("the same registry and seed wrote other queries")
	}
	if lines := strings.Count(again, "\n"); lines != 41 {
		t.Errorf("%d lines, want a header and 40 rows", lines)
	}
}

func TestSynthErrors(t *testing.T) {
	dir := t.TempDir()
	notCSV := filepath.Join(dir, "bad.csv")
	os.WriteFile(notCSV, []byte("name,age\n\"unterminated\n"), 0o600)
	for name, args := range map[string][]string{
		"no sub":            {"synth"},
		"unknown sub":       {"synth", "people"},
		"negative people":   {"synth", "registry", "--people", "-1"},
		"too many people":   {"synth", "registry", "--people", "100000001"},
		"stray argument":    {"synth", "registry", "x.csv"},
		"no registry":       {"synth", "queries"},
		"missing registry":  {"synth", "queries", "--registry", filepath.Join(dir, "none.csv")},
		"not a registry":    {"synth", "queries", "--registry", notCSV},
		"unwritable output": {"synth", "registry", "--people", "5", "--out", filepath.Join(dir, "no", "such", "dir.csv")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := cli(t, args...); err == nil {
				t.Error("no error")
			}
		})
	}
	// A failed run leaves no half-written file behind.
	out := filepath.Join(dir, "q.csv")
	if _, err := cli(t, "synth", "queries", "--registry", notCSV, "--out", out); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s: %v", out, err)
	}
}
