package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/deployment"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
)

// runMatch is the custodian's own view of its match standard: train the
// model, print its weights, or dry-run the standard over a file of queries
// (nothing is released, no agency is involved, nothing is logged).
func runMatch(ctx context.Context, args []string, env func(string) string, io stdio) error {
	if len(args) > 0 {
		switch args[0] {
		case "train":
			return runMatchTrain(ctx, args[1:], io)
		case "model":
			return runMatchModel(ctx, args[1:], io)
		}
	}
	return runMatchDry(ctx, args, io)
}

func runMatchTrain(ctx context.Context, args []string, io stdio) error {
	fs := flags("match train", io)
	data := dataFlag(fs)
	queries := fs.String("queries", "", "a CSV file of sample queries (e.g. a past bulk file), used unlabelled as candidate pairs")
	maps := mapFlag(fs)
	pairs := fs.Int("random-pairs", 0, "random registry pairs sampled for the u probabilities (default 50 per record, 100,000 to 1,000,000)")
	seed := fs.Uint64("seed", 1, "seed of the random sample")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: custodian match train --data DIR [--queries FILE.csv [--map ...]]"}
	}
	d, err := open(ctx, *data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	var sample []map[string]string
	if *queries != "" {
		err := readQueries(*queries, *maps, "", func(row gateway.QueryRow, rowErr error) error {
			if rowErr == nil {
				sample = append(sample, row.Subject)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	tm, err := d.Service.TrainMatchModel(ctx, sample, match.TrainOptions{RandomPairs: *pairs, Seed: *seed})
	if err != nil {
		return err
	}
	if _, err := d.Log.Integrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "trained match model version %d from %d records and %d sample queries (%d candidate pairs) in %s\nmodel hash %s, log entry %d\n",
		tm.Version, tm.Model.Training.Records, len(sample), tm.Model.Training.CandidatePairs, time.Since(start).Round(time.Millisecond), tm.Hash, tm.LogIndex)
	return nil
}

func runMatchModel(ctx context.Context, args []string, io stdio) error {
	fs := flags("match model", io)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d, tm, err := openModel(ctx, *data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	m := tm.Model
	fmt.Fprintf(io.out, "match model version %d (hash %s)\ntrained on %d records, %d random pairs, %d candidate pairs; prior 1 in %.0f\n\n",
		tm.Version, tm.Hash, m.Training.Records, m.Training.RandomPairs, m.Training.CandidatePairs, 1/m.Prior)
	fmt.Fprintln(io.out, "m: how often the level occurs when query and record are the same person; u: when they are not.")
	fmt.Fprintln(io.out, "Weight = log2(m/u) in bits, at most the weight of a better level: positive is evidence for")
	fmt.Fprintln(io.out, "the same person, negative against. A missing identifier weighs 0.")
	fmt.Fprintln(io.out)
	tw := tabwriter.NewWriter(io.out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "identifier\tlevel\tm\tu\tweight\t")
	weights := match.Weights(m)
	for i, c := range m.Comparisons {
		for j, l := range c.Levels {
			name := c.Name
			if j > 0 {
				name = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.6f\t%+.1f\t\n", name, l.Name, l.M, l.U, weights[i][j])
		}
	}
	tw.Flush()
	if len(m.Training.MFromPrior) > 0 {
		fmt.Fprintf(io.out, "\nm is the stated prior, not an estimate, for: %s (never seen in candidate pairs, or EM's estimate was implausible; train with --queries from a real file to estimate it)\n",
			strings.Join(m.Training.MFromPrior, ", "))
	}
	for name, tf := range m.TF {
		fmt.Fprintf(io.out, "\n%s: exact agreement weighs by the value's frequency (%d distinct values in the registry)\n", name, len(tf))
	}
	return nil
}

func runMatchDry(ctx context.Context, args []string, io stdio) error {
	fs := flags("match", io)
	data := dataFlag(fs)
	queries := fs.String("queries", "", "CSV file of queries (header row; standard column names, or --map)")
	out := fs.String("out", "", "CSV file to write, one row per query (- for standard output)")
	explain := fs.Bool("explain", false, "add each identifier's comparison level and weight")
	maps := mapFlag(fs)
	idCol := fs.String("id", "", "column that identifies a row in the output (default row_id when present, else the line number)")
	var require strs
	fs.Var(&require, "require", "an identifier that must agree (repeatable; default first_name, last_name, dob; 'none' for none)")
	minP := fs.Float64("min-probability", 0, "least match probability to verify (default 0.999)")
	margin := fs.Float64("margin", 0, "bits of weight the best candidate must lead the second by (default 10)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *queries == "" || *out == "" || fs.NArg() != 0 {
		return usageError{"usage: custodian match --data DIR --queries FILE.csv --out OUT.csv [--explain] [--map a=b,...]   (or: match train, match model)"}
	}
	rule := match.Rule{MinProbability: *minP, Margin: *margin}
	for _, r := range require {
		for _, id := range strings.Split(r, ",") {
			if id = strings.TrimSpace(id); id != "none" && id != "" {
				rule.Require = append(rule.Require, id)
			} else if id == "none" {
				rule.Require = []string{}
			}
		}
	}
	d, tm, err := openModel(ctx, *data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	std, err := match.NewFS(tm.Model, rule)
	if err != nil {
		return err
	}
	start := time.Now()
	g, cached, err := d.Service.MatchRegistry(ctx)
	if err != nil {
		return err
	}
	how := "read and prepared"
	if cached {
		how = "read the prepared copy of"
	}
	fmt.Fprintf(io.err, "%s %d registry records in %s\n", how, g.Len(), time.Since(start).Round(time.Millisecond))
	w := io.out
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	cw := csv.NewWriter(w)
	header := []string{"row_id", "line", "outcome", "record_id", "match_probability", "candidates"}
	if *explain {
		for _, c := range match.ComparisonNames() {
			header = append(header, c+"_level", c+"_weight")
		}
	}
	header = append(header, "error")
	cw.Write(header)
	counts := map[string]int{}
	blank := make([]string, 2*len(match.ComparisonNames()))
	type item struct {
		row gateway.QueryRow
		err error
	}
	batch := make([]item, 0, dryBatch)
	// flush decides a batch of rows (in parallel, in match.FS.MatchAll) and
	// writes them in file order.
	flush := func() error {
		var subjects []map[string]string
		for i, it := range batch {
			if it.err == nil {
				batch[i].err = std.CheckQuery(it.row.Subject)
			}
			if batch[i].err == nil {
				subjects = append(subjects, it.row.Subject)
			}
		}
		decisions := std.MatchAll(g, subjects)
		for _, it := range batch {
			rec := []string{it.row.ID, strconv.Itoa(it.row.Line)}
			if it.err != nil {
				counts["malformed"]++
				rec = append(rec, "malformed", "", "", "")
				if *explain {
					rec = append(rec, blank...)
				}
				rec = append(rec, message(it.err))
			} else {
				dec := decisions[0]
				decisions = decisions[1:]
				counts[string(dec.Outcome)]++
				rec = append(rec, string(dec.Outcome), dec.RecordID, strconv.FormatFloat(dec.Probability, 'f', 6, 64), strconv.Itoa(dec.Candidates))
				if *explain {
					for _, ev := range dec.Evidence {
						rec = append(rec, ev.Level, strconv.FormatFloat(ev.Weight, 'f', 2, 64))
					}
					if len(dec.Evidence) == 0 {
						rec = append(rec, blank...)
					}
				}
				rec = append(rec, "")
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	err = readQueries(*queries, *maps, *idCol, func(row gateway.QueryRow, rowErr error) error {
		batch = append(batch, item{row: row, err: rowErr})
		if len(batch) == dryBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		return err
	}
	total := counts["verified"] + counts["ambiguous"] + counts["no_match"] + counts["malformed"]
	fmt.Fprintf(io.err, "dry run of match model %d (%s): %d rows in %s: %d verified, %d ambiguous, %d no match, %d malformed; nothing was released\n",
		tm.Version, std.Version(), total, time.Since(start).Round(time.Millisecond), counts["verified"], counts["ambiguous"], counts["no_match"], counts["malformed"])
	return nil
}

// mapFlag is the --map flag of the verbs that read query files.
func mapFlag(fs *flag.FlagSet) *strs {
	var maps strs
	fs.Var(&maps, "map", "map query columns to identifiers: source=target or a+b=target, comma-separated (repeatable)")
	return &maps
}

// openModel opens a deployment with its current match model.
func openModel(ctx context.Context, dir string, io stdio) (*deployment.Deployment, gateway.TrainedModel, error) {
	d, err := open(ctx, dir, io)
	if err != nil {
		return nil, gateway.TrainedModel{}, err
	}
	tm, err := d.Service.MatchModel(ctx)
	if err != nil {
		d.Close()
		return nil, tm, err
	}
	return d, tm, nil
}

// dryBatch is how many rows the dry run decides in parallel at a time.
const dryBatch = 4096

// readQueries calls fn for every row of a query file, with the row's
// error when it is malformed (the file goes on).
func readQueries(path string, maps strs, idCol string, fn func(gateway.QueryRow, error) error) error {
	mapping, err := gateway.ParseQueryMap(maps)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	qr, err := gateway.NewQueryReader(f, mapping, idCol)
	if err != nil {
		return err
	}
	for {
		row, err := qr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var ce *custodian.Error
		if err != nil && !errors.As(err, &ce) {
			return err
		}
		if err := fn(row, err); err != nil {
			return err
		}
	}
}
