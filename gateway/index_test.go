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

// The in-memory index gives exactly the store's candidates, values
// included, for every registered person's keys and for keys nobody has.
func TestIndexMatchesStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	std, _ := match.NewExact(nil)
	svc := New(st, std, Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(), DigestSecret: []byte("0123456789abcdef")}, nil, nil, nil)
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
		keys, err := std.QueryKeys(q)
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
