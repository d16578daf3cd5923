package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/custodian-project/custodian"
)

func runAgency(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("agency", args, "add", "revoke", "list")
	if err != nil {
		return err
	}
	fs := flags("agency "+s, io)
	data := dataFlag(fs)
	var id, name, jur, reason *string
	var groups strs
	switch s {
	case "add":
		id = fs.String("id", "", "the agency's identifier (like an originating-agency identifier)")
		name = fs.String("name", "", "the agency's name")
		jur = fs.String("jurisdiction", "", "the agency's jurisdiction")
		fs.Var(&groups, "group", "a group the agency belongs to (repeat for several)")
	case "revoke":
		id = fs.String("id", "", "the agency whose key to revoke")
		reason = fs.String("reason", "", "why (logged)")
	}
	d, err := parseOpen(ctx, fs, args, data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	switch s {
	case "add":
		key, err := d.Service.AddAgency(ctx, custodian.Agency{ID: *id, Name: *name, Jurisdiction: *jur, Groups: groups})
		if err != nil {
			return err
		}
		if _, err := d.Log.Integrate(ctx); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "added agency %s in %s; its API key is shown once, below:\n%s\n", *id, strings.Join(groups, ", "), key)
	case "revoke":
		if err := d.Service.RevokeAgency(ctx, *id, *reason); err != nil {
			return err
		}
		if _, err := d.Log.Integrate(ctx); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "revoked the key of agency %s\n", *id)
	case "list":
		as, err := d.Service.Agencies(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tJURISDICTION\tGROUPS\tSTATE")
		for _, a := range as {
			state := "active"
			if a.Revoked {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Jurisdiction, strings.Join(a.Groups, ","), state)
		}
		return tw.Flush()
	}
	return nil
}

func runStaff(ctx context.Context, args []string, env func(string) string, io stdio) error {
	if _, a, err := sub("staff", args, "add"); err != nil {
		return err
	} else {
		args = a
	}
	fs := flags("staff add", io)
	data := dataFlag(fs)
	name := fs.String("name", "", "the staff member's name")
	role := fs.String("role", "reviewer", "reviewer or admin")
	d, err := parseOpen(ctx, fs, args, data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	key, err := d.Service.AddStaff(ctx, *name, *role)
	if err != nil {
		return err
	}
	if _, err := d.Log.Integrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "added %s %s; the key is shown once, below:\n%s\n", *role, *name, key)
	return nil
}
