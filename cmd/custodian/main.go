// Command custodian is the disclosure gateway: one binary for the server,
// the demo and every staff verb. main calls run, which tests call too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/custodian-project/custodian"
)

// stdio is the process's standard streams, injected so tests can run verbs.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile, err := startProfile(os.Getenv("CUSTODIAN_CPUPROFILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "custodian:", err)
		os.Exit(1)
	}
	err = run(ctx, os.Args[1:], os.Getenv, stdio{os.Stdin, os.Stdout, os.Stderr})
	stopProfile()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "custodian:", message(err))
		os.Exit(exitCode(err))
	}
}

// message is an error as a person should read it.
func message(err error) string {
	if ce, ok := err.(*custodian.Error); ok {
		if ce.Field != "" {
			return ce.Field + ": " + ce.Message
		}
		return ce.Message
	}
	return err.Error()
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

type verb struct {
	summary string
	run     func(ctx context.Context, args []string, env func(string) string, io stdio) error
}

func verbs() map[string]verb {
	return map[string]verb{
		"init":   {"create a deployment folder", runInit},
		"import": {"import registry records from CSV", runImport},
		"agency": {"add, revoke or list requesting agencies", runAgency},
		"staff":  {"add reviewers and administrators", runStaff},
		"policy": {"apply, check, explain or test the Cedar policy", runPolicy},
		"review": {"list, show, approve or deny held fields", runReview},
		"block":  {"add, lift or list blocks (court or executive orders)", runBlock},
		"audit":  {"verify the log, print checkpoints and proofs", runAudit},
		"match":  {"train the match model, print it, or dry-run it over a file", runMatch},
		"bulk":   {"an agency's client: submit a bulk verification file, follow it, fetch its result", runBulk},
		"serve":  {"serve the API over a deployment", runServe},
		"demo":   {"create a demo deployment and serve it", runDemo},
		"bench":  {"measure governed lookups against a bare handler", runBench},
		"synth":  {"write a synthetic registry or a labelled query file (tests, benchmarks)", runSynth},
	}
}

func run(ctx context.Context, args []string, env func(string) string, io stdio) error {
	vs := verbs()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(io.out, vs)
		if len(args) == 0 {
			return usageError{"no verb given"}
		}
		return nil
	}
	v, ok := vs[args[0]]
	if !ok {
		usage(io.err, vs)
		return usageError{fmt.Sprintf("unknown verb %q", args[0])}
	}
	return v.run(ctx, args[1:], env, io)
}

func usage(w io.Writer, vs map[string]verb) {
	fmt.Fprintln(w, "usage: custodian <verb> [flags]   (custodian <verb> -h for a verb's flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(vs))
	for n := range vs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, vs[n].summary)
	}
}

// flags returns a FlagSet that writes its usage to io.err.
func flags(name string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("custodian "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// sub splits "verb sub args..." for verbs with subcommands.
func sub(name string, args []string, subs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usageError{fmt.Sprintf("custodian %s needs one of: %s", name, strings.Join(subs, ", "))}
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usageError{fmt.Sprintf("custodian %s: unknown %q; one of: %s", name, args[0], strings.Join(subs, ", "))}
}

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error { *s = append(*s, v); return nil }
