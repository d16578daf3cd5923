package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/custodian-project/custodian/audit"
)

func runAudit(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("audit", args, "verify", "checkpoint", "proof", "integrate")
	if err != nil {
		return err
	}
	fs := flags("audit "+s, io)
	data := dataFlag(fs)
	index := fs.String("index", "", "the entry to prove (proof)")
	size := fs.Uint64("size", 0, "the tree size to prove against (proof; default the latest checkpoint)")
	d, err := parseOpen(ctx, fs, args, data, io)
	if err != nil {
		return err
	}
	defer d.Close()
	switch s {
	case "verify":
		rep, err := audit.Verify(ctx, d.Store, d.Verifier, d.Config.Origin)
		if err != nil {
			return fmt.Errorf("audit log verification FAILED: %w", err)
		}
		fmt.Fprintf(io.out, "audit log OK: %d entries re-derived; checkpoint of size %d signed by %s verifies; root %s\n",
			rep.Size, rep.CheckpointSize, d.Verifier.Name(), base64.StdEncoding.EncodeToString(rep.RootHash))
	case "integrate":
		n, err := d.Log.Integrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "log integrated to size %d\n", n)
	case "checkpoint":
		if _, err := d.Log.Integrate(ctx); err != nil {
			return err
		}
		cp, err := d.Log.Checkpoint(ctx)
		if err != nil {
			return err
		}
		io.out.Write(cp)
	case "proof":
		i, err := strconv.ParseUint(*index, 10, 64)
		if err != nil {
			return usageError{"usage: custodian audit proof --data DIR --index N [--size S]"}
		}
		if _, err := d.Log.Integrate(ctx); err != nil {
			return err
		}
		if *size == 0 {
			if *size, _, err = d.Store.IntegratedState(ctx); err != nil {
				return err
			}
		}
		p, err := d.Log.InclusionProof(ctx, i, *size)
		if err != nil {
			return err
		}
		entries, err := d.Store.Entries(ctx, i, 1)
		if err != nil || len(entries) == 0 || entries[0].Index != i {
			return fmt.Errorf("entry %d not found", i)
		}
		fmt.Fprintf(io.out, "inclusion proof of entry %d in the tree of size %d\nleaf hash: %s\n", i, *size, base64.StdEncoding.EncodeToString(entries[0].LeafHash))
		for k, h := range p {
			fmt.Fprintf(io.out, "proof[%d]: %s\n", k, base64.StdEncoding.EncodeToString(h))
		}
	}
	return nil
}
