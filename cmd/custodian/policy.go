package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

func runPolicy(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("policy", args, "apply", "check", "explain", "test", "history", "show")
	if err != nil {
		return err
	}
	fs := flags("policy "+s, io)
	data := dataFlag(fs)
	purpose := fs.String("purpose", "", "the purpose to explain (explain)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if s == "check" {
		// check needs no deployment: it validates a file.
		if fs.NArg() != 1 {
			return usageError{"usage: custodian policy check FILE.cedar"}
		}
		text, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		eng, err := policy.Parse(text)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "%s: valid (version %s)\n", fs.Arg(0), eng.Hash())
		return nil
	}
	d, err := open(ctx, *data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	switch s {
	case "apply":
		if fs.NArg() != 1 {
			return usageError{"usage: custodian policy apply --data DIR FILE.cedar"}
		}
		text, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		pv, err := d.Service.ApplyPolicy(ctx, text)
		if err != nil {
			return err
		}
		if _, err := d.Log.Integrate(ctx); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "applied policy version %s (log index %d)\n", pv.Hash, pv.LogIndex)
	case "explain":
		if *purpose == "" {
			return usageError{"usage: custodian policy explain --data DIR --purpose PURPOSE"}
		}
		m, err := d.Service.Explain(ctx, *purpose)
		if err != nil {
			return err
		}
		return m.WriteText(io.out)
	case "test":
		if fs.NArg() != 1 {
			return usageError{"usage: custodian policy test --data DIR CASES.json"}
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		cases, err := policy.ParseCases(f)
		if err != nil {
			return err
		}
		eng, err := d.Service.Policy(ctx)
		if err != nil {
			return err
		}
		failed := 0
		for _, r := range eng.Test(cases) {
			fmt.Fprintln(io.out, r.String())
			if !r.Pass {
				failed++
			}
		}
		fmt.Fprintf(io.out, "%d passed, %d failed\n", len(cases)-failed, failed)
		if failed > 0 {
			return custodian.Errorf(custodian.EConflict, "%d policy case(s) failed", failed)
		}
	case "history":
		hist, err := d.Store.PolicyHistory(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tINSTALLED\tLOG INDEX")
		for i, pv := range hist {
			cur := ""
			if i == 0 {
				cur = "  (current)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%s\n", pv.Hash, pv.CreatedAt.Format("2006-01-02 15:04:05Z"), pv.LogIndex, cur)
		}
		return tw.Flush()
	case "show":
		eng, err := d.Service.Policy(ctx)
		if err != nil {
			return err
		}
		io.out.Write(eng.Text())
	}
	return nil
}
