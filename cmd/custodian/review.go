package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

func runReview(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("review", args, "list", "show", "approve", "deny")
	if err != nil {
		return err
	}
	fs := flags("review "+s, io)
	data := dataFlag(fs)
	state := fs.String("state", "pending", "pending, approved, denied or all (list)")
	lookup := fs.String("lookup", "", "the lookup id")
	job := fs.String("job", "", "a bulk job awaiting review (approve or deny it whole; two different reviewers must approve)")
	var fields strs
	fs.Var(&fields, "field", "the held field to decide (repeat for several)")
	reviewer := fs.String("reviewer", "", "your name, as recorded in the log")
	reason := fs.String("reason", "", "why you approve or deny (recorded; shown to the agency on denial)")
	d, err := parseOpen(ctx, fs, args, data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	switch s {
	case "list":
		st := custodian.ReviewState(*state)
		if *state == "all" {
			st = ""
		}
		items, err := d.Service.Reviews(ctx, st)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOOKUP\tFIELD\tAGENCY\tPURPOSE\tSTATE\tRULES\tSINCE")
		for _, it := range items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.LookupID, it.Field, it.AgencyID, it.Purpose, it.State,
				strings.Join(it.Rules, ","), it.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		jobs, err := d.Service.BulkJobsAwaitingReview(ctx)
		if err != nil || len(jobs) == 0 {
			return err
		}
		fmt.Fprintln(io.out, "\nBulk jobs awaiting review (approve or deny with --job ID):")
		tw = tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tAGENCY\tPURPOSE\tFIELDS\tROWS\tVERIFIED\tHELD ROWS")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", j.ID, j.AgencyID, j.Purpose, strings.Join(j.Fields, ","), j.Total,
				j.Summary.Verified, j.Summary.HeldForReview)
		}
		return tw.Flush()
	case "show":
		if *lookup == "" {
			return usageError{"usage: custodian review show --data DIR --lookup ID"}
		}
		l, err := d.Service.LookupForReview(ctx, *lookup)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"id": l.ID, "agency": l.AgencyID, "request": l.Request, "outcome": l.Outcome,
			"record_id": l.RecordID, "decisions": l.Decisions, "pending": l.Pending, "status": l.Status, "policy_version": l.PolicyVersion})
	default:
		if *job != "" {
			if *lookup != "" || len(fields) > 0 || *reviewer == "" || *reason == "" {
				return usageError{fmt.Sprintf("usage: custodian review %s --data DIR --job ID --reviewer NAME --reason TEXT", s)}
			}
			j, err := d.Service.DecideBulk(ctx, gateway.Staff{Name: *reviewer, Role: gateway.RoleReviewer}, *job, s == "approve", *reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "%s: %sd by %s; the job is now %s\n", j.ID, s, *reviewer, j.State)
			_, err = d.Log.Integrate(ctx)
			return err
		}
		if *lookup == "" || len(fields) == 0 || *reviewer == "" || *reason == "" {
			return usageError{fmt.Sprintf("usage: custodian review %s --data DIR --lookup ID --field F [--field F2] --reviewer NAME --reason TEXT", s)}
		}
		for _, f := range fields {
			l, err := d.Service.DecideReview(ctx, gateway.Staff{Name: *reviewer, Role: gateway.RoleReviewer}, *lookup, f, s == "approve", *reason)
			if err != nil {
				return fmt.Errorf("field %s: %w", f, err)
			}
			fmt.Fprintf(io.out, "%s: %s %sd; lookup is now %s\n", l.ID, f, s, l.Status)
		}
		_, err := d.Log.Integrate(ctx)
		return err
	}
}
