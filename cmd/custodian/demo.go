package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/deployment"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/synth"
)

//go:embed demo.cedar
var demoPolicy []byte

// demoFile lists what scripts need to drive the demo: its base URL and
// every sample credential. Demo keys only: a real deployment never writes
// keys to disk.
const demoFile = "demo.json"

type demoInfo struct {
	BaseURL  string            `json:"base_url"`
	Agencies []demoAgency      `json:"agencies"`
	Staff    []demoStaff       `json:"staff"`
	Subject  map[string]string `json:"sample_subject"`
	BlockID  string            `json:"block_id"`
}

type demoAgency struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
	Key    string   `json:"key"`
}

type demoStaff struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Key  string `json:"key"`
}

var demoAgencies = []custodian.Agency{
	{ID: "DS0010000", Name: "Demo State Police", Jurisdiction: "Demo State", Groups: []string{"in-state-police"}},
	{ID: "DS0020000", Name: "Demo County Circuit Court", Jurisdiction: "Demo County", Groups: []string{"courts"}},
	{ID: "FED-IMM-01", Name: "Federal Immigration Agency (demo)", Jurisdiction: "Federal", Groups: []string{"federal-immigration"}},
	{ID: "INS-0001", Name: "Acme Mutual Insurance (demo)", Jurisdiction: "Demo State", Groups: []string{"insurers"}},
}

const demoOrder = "Demo County Circuit Court, order 2026-CV-0142: no disclosures to federal immigration enforcement"

func runDemo(ctx context.Context, args []string, env func(string) string, io stdio) error {
	fl := flags("demo", io)
	dir := fl.String("dir", "custodian-demo", "the demo deployment folder (created if absent)")
	addr := fl.String("addr", "127.0.0.1:8080", "listen address")
	people := fl.Int("people", 100_000, "people in the synthetic registry (first run only)")
	if err := parse(fl, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(io.err, nil))
	if _, err := os.Stat(filepath.Join(*dir, deployment.ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(io.out, "creating a demo deployment in %s with %d synthetic people…\n", *dir, *people)
		if err := setupDemo(ctx, *dir, *people); err != nil {
			return fmt.Errorf("demo setup: %w", err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(*dir, demoFile))
	if err != nil {
		return fmt.Errorf("%s is not a demo deployment: %w", *dir, err)
	}
	var info demoInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("%s: %w", demoFile, err)
	}
	d, err := deployment.Open(ctx, *dir, logger, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	// A demo folder from an earlier version keeps its registry; a match
	// model that does not fit this version's standard is trained again.
	if tm, err := d.Service.MatchModel(ctx); err == nil {
		if _, err := match.NewFS(tm.Model, match.Rule{}); errors.Is(err, match.ErrModelOutdated) {
			fmt.Fprintln(io.out, "the demo's match model is from an earlier version of the standard; training it again…")
			if _, err := d.Service.TrainMatchModel(ctx, nil, match.TrainOptions{Seed: 1}); err != nil {
				return err
			}
		}
	}
	return serve(ctx, d, *addr, logger, func(base string) {
		info.BaseURL = base
		if js, err := json.MarshalIndent(info, "", "  "); err == nil {
			os.WriteFile(filepath.Join(*dir, demoFile), append(js, '\n'), 0o600)
		}
		printBanner(io.out, info)
	})
}

func setupDemo(ctx context.Context, dir string, people int) error {
	if err := deployment.Init(ctx, dir, "custodian-demo.local/log"); err != nil {
		return err
	}
	d, err := deployment.Open(ctx, dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	defer d.Close()
	pr, pw := io.Pipe()
	var sum synth.Summary
	go func() {
		var err error
		sum, err = synth.Registry(synth.Options{People: people, Seed: 1}, pw)
		pw.CloseWithError(err)
	}()
	if _, err := d.Service.Import(ctx, pr); err != nil {
		return err
	}
	// The match model from the registry alone, as `custodian match train`.
	if _, err := d.Service.TrainMatchModel(ctx, nil, match.TrainOptions{Seed: 1}); err != nil {
		return err
	}
	if _, err := d.Service.ApplyPolicy(ctx, demoPolicy); err != nil {
		return err
	}
	info := demoInfo{}
	for _, a := range demoAgencies {
		key, err := d.Service.AddAgency(ctx, a)
		if err != nil {
			return err
		}
		info.Agencies = append(info.Agencies, demoAgency{ID: a.ID, Name: a.Name, Groups: a.Groups, Key: key})
	}
	for _, s := range []demoStaff{{Name: "reviewer", Role: "reviewer"}, {Name: "admin", Role: "admin"}} {
		key, err := d.Service.AddStaff(ctx, s.Name, s.Role)
		if err != nil {
			return err
		}
		s.Key = key
		info.Staff = append(info.Staff, s)
	}
	b, err := d.Service.AddBlock(ctx, custodian.BlockGroup, "federal-immigration", demoOrder)
	if err != nil {
		return err
	}
	info.BlockID = b.ID
	if len(sum.Sample) > 0 {
		r := sum.Sample[0]
		info.Subject = map[string]string{"first_name": r.Values["first_name"], "last_name": r.Values["last_name"], "dob": r.Values["dob"]}
	}
	if _, err := d.Log.Integrate(ctx); err != nil {
		return err
	}
	js, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoFile), append(js, '\n'), 0o600)
}

func printBanner(w io.Writer, info demoInfo) {
	fmt.Fprintf(w, "\ncustodian demo is serving on %s\n\n", info.BaseURL)
	fmt.Fprintln(w, "Sample agencies and their API keys:")
	for _, a := range info.Agencies {
		fmt.Fprintf(w, "  %-11s %-38s %-20s %s\n", a.ID, a.Name, strings.Join(a.Groups, ","), a.Key)
	}
	fmt.Fprintln(w, "Staff keys (admin API, custodian review):")
	for _, s := range info.Staff {
		fmt.Fprintf(w, "  %-9s %-9s %s\n", s.Name, s.Role, s.Key)
	}
	fmt.Fprintf(w, "Block in force: group federal-immigration (%s)\n\n", demoOrder)
	if len(info.Agencies) > 0 && info.Subject != nil {
		subj, _ := json.Marshal(info.Subject)
		fmt.Fprintln(w, "Try a lookup as the state police (identity released, address held for review, photo denied):")
		fmt.Fprintf(w, "  curl -s %s/v1/lookups -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n    -d '{\"purpose\":\"dppa-1\",\"subject\":%s,\"fields\":[\"first_name\",\"last_name\",\"dob\",\"license_number\",\"street\",\"city\",\"photo\"]}'\n\n",
			info.BaseURL, info.Agencies[0].Key, subj)
	}
	fmt.Fprintln(w, "Everything above is also in demo.json. Press Ctrl-C to stop.")
}
