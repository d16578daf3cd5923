package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/custodian-project/custodian/deployment"
)

func runInit(ctx context.Context, args []string, env func(string) string, io stdio) error {
	fs := flags("init", io)
	origin := fs.String("origin", "custodian.local/log", "the log's origin line in checkpoints")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: custodian init [--origin ORIGIN] DIR"}
	}
	dir := fs.Arg(0)
	if err := deployment.Init(ctx, dir, *origin); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "created deployment in %s (config %s, log key %s)\n", dir, deployment.ConfigFile, deployment.SignerFile)
	return nil
}

// dataFlag adds the common --data flag.
func dataFlag(fs interface {
	String(string, string, string) *string
}) *string {
	return fs.String("data", ".", "the deployment folder")
}

// parseOpen parses a verb's flags, then opens the deployment named by --data.
func parseOpen(ctx context.Context, fs *flag.FlagSet, args []string, data *string, io stdio) (*deployment.Deployment, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return open(ctx, *data, io) // read after parsing: the flag's value
}

// open opens the deployment named by --data, logging to stderr as text.
func open(ctx context.Context, dir string, io stdio) (*deployment.Deployment, error) {
	return deployment.Open(ctx, dir, slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
}
