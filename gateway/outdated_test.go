package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// A match model from an earlier version of the standard (other levels)
// makes lookups unavailable, saying to train again, until it is: nothing
// is decided with weights that do not fit the comparisons.
func TestOutdatedMatchModel(t *testing.T) {
	ctx := context.Background()
	svc, st := openService(t, &MatchRules{})
	const registry = "record_id,first_name,last_name,dob,street\nR1,Ann,Lee,1990-01-01,1 Main St\n"
	reg := registry + "R2,Bo,Park,1980-02-02,2 Oak St\nR3,Cy,Kim,1970-03-03,3 Elm St\nR4,Di,Lee,1961-05-05,1 Main St\nR5,Ed,Park,1985-06-06,2 Oak St\n"
	if _, err := svc.Import(ctx, strings.NewReader(reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPolicy(ctx, []byte(`@id("all") permit (principal, action == Action::"disclose", resource);`)); err != nil {
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
	ann := custodian.LookupRequest{Purpose: "dppa-1", Subject: map[string]string{"first_name": "Ann", "last_name": "Lee", "dob": "1990-01-01"}, Fields: []string{"first_name", "street"}}
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
