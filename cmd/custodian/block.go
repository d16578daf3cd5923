package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func runBlock(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("block", args, "add", "lift", "list")
	if err != nil {
		return err
	}
	fs := flags("block "+s, io)
	data := dataFlag(fs)
	var kind, target, id *string
	order := fs.String("order", "", "the reference of the court or executive order")
	all := fs.Bool("all", false, "list lifted blocks too (list)")
	switch s {
	case "add":
		kind = fs.String("kind", "", "agency, group, purpose or field")
		target = fs.String("target", "", "the agency id, group, purpose or field to block")
	case "lift":
		id = fs.String("id", "", "the block to lift")
	}
	d, err := parseOpen(ctx, fs, args, data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	switch s {
	case "add":
		b, err := d.Service.AddBlock(ctx, *kind, *target, *order)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "block %s in force: %s %s (order %s)\n", b.ID, b.Kind, b.Target, b.Order)
	case "lift":
		if err := d.Service.LiftBlock(ctx, *id, *order); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "block %s lifted (order %s)\n", *id, *order)
	case "list":
		bs, err := d.Service.Blocks(ctx, !*all)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tTARGET\tORDER\tSINCE\tLIFTED")
		for _, b := range bs {
			lifted := ""
			if b.LiftedAt != nil {
				lifted = b.LiftedAt.Format("2006-01-02") + " (" + b.LiftOrder + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Kind, b.Target, b.Order, b.CreatedAt.Format("2006-01-02 15:04Z"), lifted)
		}
		return tw.Flush()
	}
	_, err = d.Log.Integrate(ctx)
	return err
}
