package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/custodian-project/custodian/synth"
)

// runSynth writes the synthetic registries and labelled query files the
// accuracy and scale figures in docs/BENCHMARKS.md are measured on, so
// anyone can make the same files again.
func runSynth(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("synth", args, "registry", "queries")
	if err != nil {
		return err
	}
	fs := flags("synth "+s, io)
	out := fs.String("out", "-", "the CSV to write (- for standard output)")
	seed := fs.Int64("seed", 1, "the same seed writes the same bytes")
	var people, queries *int
	var registry *string
	switch s {
	case "registry":
		people = fs.Int("people", 100_000, "people to write")
	case "queries":
		registry = fs.String("registry", "", "a registry CSV written by custodian synth registry")
		queries = fs.Int("queries", 100_000, "queries to write; half are about registered people")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("custodian synth %s takes no arguments, only flags", s)}
	}
	var in *os.File
	if s == "queries" {
		if *registry == "" {
			return usageError{"custodian synth queries needs --registry FILE.csv"}
		}
		if in, err = os.Open(*registry); err != nil {
			return err
		}
		defer in.Close()
	}
	w := io.out
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	var summary string
	switch s {
	case "registry":
		var sum synth.Summary
		sum, err = synth.Registry(synth.Options{People: *people, Seed: *seed}, w)
		summary = fmt.Sprintf("wrote %d people: %d twin pairs, %d Jr./Sr. pairs, %d namesake pairs, %d pairs with the same name and dob",
			sum.People, sum.Twins, sum.JrSr, sum.Namesakes, sum.Collisions)
	case "queries":
		var sum synth.QuerySummary
		sum, err = synth.Queries(in, synth.QueryOptions{Queries: *queries, Seed: *seed}, w)
		kinds := make([]string, 0, len(sum.ByKind))
		for k, n := range sum.ByKind {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		summary = fmt.Sprintf("wrote %d queries, %d about registered people (%s)", sum.Queries, sum.Registered, strings.Join(kinds, ", "))
	}
	if err == nil && f != nil {
		err = f.Close()
	}
	if err != nil {
		if f != nil {
			os.Remove(*out) // no half-written file
		}
		return err
	}
	// The summary goes where it cannot mix with CSV on standard output.
	msg := io.out
	if *out == "-" {
		msg = io.err
	}
	fmt.Fprintln(msg, summary)
	return nil
}
