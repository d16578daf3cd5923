package gateway

import (
	"bytes"
	"context"
	"encoding/csv"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
	"github.com/custodian-project/custodian/synth"
)

// openService opens a service on a new SQLite store, with the
// Fellegi-Sunter standard when rules is not nil (the exact one otherwise).
func openService(t *testing.T, rules *MatchRules) (*Service, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	std, _ := match.NewExact(nil)
	svc := New(st, std, Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(),
		DigestSecret: []byte("0123456789abcdef"), Match: rules}, nil, nil, nil)
	if err := svc.EnsureKeys(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// The in-memory index gives exactly the store's candidates, values
// included, for every registered person's keys and for keys nobody has.
func TestIndexMatchesStore(t *testing.T) {
	ctx := context.Background()
	svc, st := openService(t, nil)
	var reg bytes.Buffer
	if _, err := synth.Registry(synth.Options{People: 3000, Seed: 3}, &reg); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, bytes.NewReader(reg.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	idx := svc.index.Load()
	rows, err := csv.NewReader(bytes.NewReader(reg.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(rs []custodian.Record) []custodian.Record {
		return slices.SortedFunc(slices.Values(rs), func(a, b custodian.Record) int { return strings.Compare(a.ID, b.ID) })
	}
	queries := 0
	for _, row := range rows[1:] {
		q := map[string]string{}
		for i, h := range rows[0] {
			q[h] = row[i]
		}
		keys, err := svc.std.QueryKeys(q)
		if err != nil {
			continue // lacks a required identifier
		}
		keys = append(keys, "no such key "+row[0])
		fromIndex, err := svc.candidates(ctx, keys, idx.gen)
		if err != nil {
			t.Fatal(err)
		}
		fromStore, err := st.Candidates(ctx, keys, match.DefaultMaxBlock)
		if err != nil {
			t.Fatal(err)
		}
		a, b := sorted(fromIndex), sorted(fromStore)
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("record %s: %d candidates from the index, %d from the store", row[0], len(a), len(b))
		}
		for i := range a {
			// The index keeps non-empty values only; an absent value reads as "".
			maps.DeleteFunc(b[i].Values, func(_, v string) bool { return v == "" })
			if a[i].ID != b[i].ID || !maps.Equal(a[i].Values, b[i].Values) {
				t.Fatalf("record %s: index gives %+v, store %+v", row[0], a[i], b[i])
			}
		}
		queries++
	}
	if queries < 2500 {
		t.Fatalf("only %d queries checked", queries)
	}
}

// With the Fellegi-Sunter standard, deciding against the index's prepared
// records gives the same result, and the same record, as deciding against
// the store's candidates.
func TestIndexedDecisionsMatchStore(t *testing.T) {
	ctx := context.Background()
	svc, st := openService(t, &MatchRules{})
	var reg bytes.Buffer
	if _, err := synth.Registry(synth.Options{People: 3000, Seed: 4}, &reg); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, bytes.NewReader(reg.Bytes())); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TrainMatchModel(ctx, nil, match.TrainOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := svc.current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := svc.standard(rs, "dppa-1")
	if err != nil {
		t.Fatal(err)
	}
	f := s.(*match.FS)
	rows, _ := csv.NewReader(bytes.NewReader(reg.Bytes())).ReadAll()
	verified := 0
	for i, row := range rows[1:] {
		q := map[string]string{}
		for j, h := range rows[0] {
			q[h] = row[j]
		}
		if i%2 == 1 {
			delete(q, "street") // a weaker query: more are ambiguous
		}
		keys, err := f.QueryKeys(q)
		if err != nil {
			continue
		}
		got, rec, ok := svc.decideIndexed(f, q, keys, rs.regGen)
		if !ok {
			t.Fatal("the index is not at the registry's generation")
		}
		cands, err := st.Candidates(ctx, keys, match.DefaultMaxBlock)
		if err != nil {
			t.Fatal(err)
		}
		want := f.Decide(q, cands)
		if got.Outcome != want.Outcome || got.RecordID != want.RecordID || got.Candidates != want.Candidates || rec.ID != want.RecordID {
			t.Fatalf("record %s: indexed %+v (record %q), store %+v", row[0], got, rec.ID, want)
		}
		if got.Outcome == custodian.Verified {
			verified++
			if rec.Values["last_name"] != q["last_name"] {
				t.Fatalf("record %s: the verified record's values are not its own", row[0])
			}
		}
	}
	if verified < 2000 {
		t.Errorf("only %d of 3000 verified", verified)
	}
}
