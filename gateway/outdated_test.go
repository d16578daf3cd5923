package gateway_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
)

// A match model from an earlier version of the standard (other levels)
// makes lookups unavailable, saying to train again, until it is: nothing
// is decided with weights that do not fit the comparisons.
func TestOutdatedMatchModel(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	std, _ := match.NewExact(nil)
	svc := gateway.New(st, std, gateway.Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(),
		DigestSecret: []byte("0123456789abcdef"), Match: &gateway.MatchRules{}}, nil, nil, nil)
	if err := svc.EnsureKeys(ctx); err != nil {
		t.Fatal(err)
	}
	reg := registry + "R2,Bo,Park,1980-02-02,2 Oak St\nR3,Cy,Kim,1970-03-03,3 Elm St\nR4,Di,Lee,1961-05-05,1 Main St\nR5,Ed,Park,1985-06-06,2 Oak St\n"
	if _, err := svc.Import(ctx, strings.NewReader(reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPolicy(ctx, []byte(permitAll)); err != nil {
		t.Fatal(err)
	}
	a := custodian.Agency{ID: "ag-1", Name: "Agency", Groups: []string{"in-state-police"}}
	if _, err := svc.AddAgency(ctx, a); err != nil {
		t.Fatal(err)
	}
	tm, err := svc.TrainMatchModel(ctx, nil, match.TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The same model with one level fewer, as an earlier version wrote it.
	old := *tm.Model
	old.Comparisons = append([]match.ComparisonParams(nil), old.Comparisons...)
	old.Comparisons[0].Levels = old.Comparisons[0].Levels[1:]
	raw, _ := json.Marshal(&old)
	if _, _, err := st.SaveMatchModel(ctx, old.Hash(), raw, func(v int64) any { return map[string]int64{"model_version": v} }); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Lookup(ctx, a, ann)
	if custodian.ErrorCode(err) != custodian.EUnavailable || !strings.Contains(err.Error(), "trained again") {
		t.Fatalf("lookup with an outdated model: %v, want unavailable and a word on training again", err)
	}
	if _, err := svc.TrainMatchModel(ctx, nil, match.TrainOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Lookup(ctx, a, ann)
	if err != nil || l.Outcome != custodian.Verified {
		t.Fatalf("after training again: %+v, %v", l, err)
	}
}
