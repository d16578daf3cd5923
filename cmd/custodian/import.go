package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func runImport(ctx context.Context, args []string, env func(string) string, io stdio) error {
	fs := flags("import", io)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: custodian import --data DIR FILE.csv   (- for standard input)"}
	}
	d, err := open(ctx, *data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	in := io.in
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	start := time.Now()
	n, err := d.Service.Import(ctx, in)
	if err != nil {
		return fmt.Errorf("nothing was imported: %w", err)
	}
	if _, err := d.Log.Integrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "imported %d records in %s\n", n, time.Since(start).Round(time.Millisecond))
	if tm, err := d.Service.MatchModel(ctx); err == nil {
		// The weights stand, but the name frequencies and the prior are the
		// registry's as it was.
		fmt.Fprintf(io.out, "the match model (version %d) was trained on %d records: run custodian match train to bring it up to date\n",
			tm.Version, tm.Model.Training.Records)
	}
	return nil
}
