// Package storetest is the behavioural suite every custodian store must
// pass: what the gateway and the audit log rely on, checked through the
// store's own methods. A store's tests call Run with a function that opens a
// fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
	"github.com/custodian-project/custodian/gateway"
)

// Store is everything a custodian store provides.
type Store interface {
	gateway.Store
	audit.Store
}

// Run runs the suite; open returns a new empty store, closed by the test.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"ImportIsAllOrNothing", testImportAllOrNothing},
		{"ImportUpdatesInPlace", testImportUpdates},
		{"LookupRoundTrip", testLookupRoundTrip},
		{"ReviewIsDecidedOnce", testReviewOnce},
		{"BlocksAndGenerations", testBlocksAndGenerations},
		{"AgenciesAndKeys", testAgencies},
		{"LogIsContiguous", testLogContiguous},
		{"IntegrateRefusesStaleSize", testIntegrateConflict},
		{"StaleDecisionIsNotRecorded", testStaleDecision},
		{"MatchModelsAreVersioned", testMatchModels},
		{"RekeyReplacesEveryKey", testRekey},
		{"CandidatesLeaveOutWideKeys", testCandidatesMaxBlock},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// Caches derived from a registry name its store: two stores never
	// share an id, and a store keeps its own through imports.
	t.Run("StoreIDIsItsOwn", func(t *testing.T) {
		a, b := open(t), open(t)
		ida, err := a.StoreID(ctx)
		if err != nil || len(ida) < 16 {
			t.Fatalf("store id %q, %v", ida, err)
		}
		mustImport(t, a, rec("R1", "Ann", "Lee"))
		if again, _ := a.StoreID(ctx); again != ida {
			t.Errorf("the id changed on import: %q, then %q", ida, again)
		}
		if idb, _ := b.StoreID(ctx); idb == ida {
			t.Errorf("two stores share the id %q", ida)
		}
	})
}

var ctx = context.Background()

func records(recs ...custodian.Record) func() (custodian.Record, error) {
	return func() (custodian.Record, error) {
		if len(recs) == 0 {
			return custodian.Record{}, io.EOF
		}
		r := recs[0]
		recs = recs[1:]
		return r, nil
	}
}

func rec(id, first, last string) custodian.Record {
	return custodian.Record{ID: id, Values: map[string]string{"record_id": id, "first_name": first, "last_name": last}}
}

// keyOf is a blocking key: the last name.
func keyOf(r custodian.Record) []string { return []string{"k:" + r.Values["last_name"]} }

func entry(n int) any { return map[string]int{"records": n} }

func mustImport(t *testing.T, s Store, recs ...custodian.Record) {
	t.Helper()
	if _, _, err := s.ImportRecords(ctx, []string{"record_id", "first_name", "last_name"}, records(recs...), keyOf, entry); err != nil {
		t.Fatal(err)
	}
}

func testImportAllOrNothing(t *testing.T, s Store) {
	mustImport(t, s, rec("R1", "Ann", "Lee"))
	size, _ := s.SequencedSize(ctx)
	boom := errors.New("line 3: malformed")
	next := records(rec("R2", "Bo", "Ray"))
	calls := 0
	_, _, err := s.ImportRecords(ctx, []string{"record_id", "first_name", "last_name", "zip"}, func() (custodian.Record, error) {
		if calls++; calls == 2 {
			return custodian.Record{}, boom
		}
		return next()
	}, keyOf, entry)
	if !errors.Is(err, boom) {
		t.Fatalf("import error = %v", err)
	}
	if n := count(t, s); n != 1 {
		t.Errorf("%d records after a failed import", n)
	}
	if fields, _ := s.RegistryFields(ctx); len(fields) != 3 {
		t.Errorf("columns of a failed import kept: %v", fields)
	}
	if after, _ := s.SequencedSize(ctx); after != size {
		t.Errorf("a failed import was logged")
	}
}

func testImportUpdates(t *testing.T, s Store) {
	mustImport(t, s, rec("R1", "Ann", "Lee"), rec("R2", "Bo", "Lee"))
	_, regBefore, _ := s.Generations(ctx)
	mustImport(t, s, custodian.Record{ID: "R1", Values: map[string]string{"record_id": "R1", "last_name": "Park"}})
	if _, reg, _ := s.Generations(ctx); reg == regBefore {
		t.Error("an import did not move the registry generation")
	}
	lee, _ := s.Candidates(ctx, []string{"k:Lee"}, 0)
	park, _ := s.Candidates(ctx, []string{"k:Park"}, 0)
	if len(lee) != 1 || lee[0].ID != "R2" || len(park) != 1 || park[0].Values["first_name"] != "Ann" {
		t.Fatalf("after update: Lee %v, Park %v", lee, park)
	}
	if n := count(t, s); n != 2 {
		t.Errorf("scan: %d records", n)
	}
	if n, err := s.RegistrySizeHint(ctx); err != nil || n < 2 {
		t.Errorf("size hint: %d, %v; want at least 2", n, err)
	}
}

// count is the number of records in the registry.
func count(t *testing.T, s Store) int {
	t.Helper()
	n := 0
	if _, err := s.ScanRecords(ctx, func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func lookup(id string) *custodian.Lookup {
	return &custodian.Lookup{
		ID: id, AgencyID: "ag-1", Outcome: custodian.Verified, RecordID: "R1", PolicyVersion: "v1", Status: custodian.StatusPendingReview,
		Request: custodian.LookupRequest{Purpose: "dppa-1", Subject: map[string]string{"first_name": "Ann"}, Fields: []string{"first_name", "street"}},
		Decisions: []custodian.FieldDecision{
			{Field: "first_name", Effect: custodian.Release, Rules: []string{"id"}, Reason: "identity"},
			{Field: "last_name", Effect: custodian.Release, Rules: []string{"id"}, Reason: "identity"},
			{Field: "street", Effect: custodian.Review, Rules: []string{"r"}, Reason: "after review"},
			{Field: "photo", Effect: custodian.Deny, Rules: []string{"p"}, Reason: "never"},
			{Field: "dob", Effect: custodian.Deny},
		},
		Released: map[string]string{"first_name": "Ann", "last_name": "Lee"}, Pending: []string{"street"},
		Withheld:  map[string]custodian.Withheld{"photo": {Reason: "never", Rules: []string{"p"}}, "dob": {}},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// createLookup records a lookup decided at the store's current generations.
func createLookup(s Store, l *custodian.Lookup, reviews []custodian.ReviewItem, e any) error {
	rules, registry, err := s.Generations(ctx)
	if err != nil {
		return err
	}
	return s.CreateLookup(ctx, l, reviews, e, rules, registry)
}

func rulesGen(s Store) int64 {
	g, _, _ := s.Generations(ctx)
	return g
}

func addAgency(t *testing.T, s Store, id string) {
	t.Helper()
	if _, err := s.CreateAgency(ctx, custodian.Agency{ID: id, Name: id, Groups: []string{"g"}, CreatedAt: time.Now()}, "kid-"+id, []byte("hash"), entry(0)); err != nil {
		t.Fatal(err)
	}
}

func testLookupRoundTrip(t *testing.T, s Store) {
	addAgency(t, s, "ag-1")
	l := lookup("lk_1")
	review := custodian.ReviewItem{LookupID: "lk_1", Field: "street", Rules: []string{"r"}, Reason: "needs review", State: custodian.ReviewPending, CreatedAt: l.CreatedAt}
	if err := createLookup(s, l, []custodian.ReviewItem{review}, entry(1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Lookup(ctx, "lk_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.LogIndex != l.LogIndex || got.Released["first_name"] != "Ann" || got.Request.Subject["first_name"] != "Ann" || !got.CreatedAt.Equal(l.CreatedAt) {
		t.Errorf("round trip: %+v", got)
	}
	if !reflect.DeepEqual(got.Decisions, l.Decisions) || !reflect.DeepEqual(got.Withheld, l.Withheld) {
		t.Errorf("decisions or withheld changed on the way:\n got %+v %+v\nwant %+v %+v", got.Decisions, got.Withheld, l.Decisions, l.Withheld)
	}
	if _, err := s.Lookup(ctx, "lk_none"); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Errorf("missing lookup: %v", err)
	}
	if err := createLookup(s, lookup("lk_1"), nil, entry(1)); err == nil {
		t.Error("a second lookup with the same id was stored")
	}
	items, err := s.Reviews(ctx, custodian.ReviewPending, 10)
	if err != nil || len(items) != 1 || items[0].AgencyID != "ag-1" || items[0].Purpose != "dppa-1" {
		t.Errorf("queue: %+v %v", items, err)
	}
}

func testReviewOnce(t *testing.T, s Store) {
	addAgency(t, s, "ag-1")
	mustImport(t, s, custodian.Record{ID: "R1", Values: map[string]string{"record_id": "R1", "street": "1 Main St"}})
	l := lookup("lk_1")
	createLookup(s, l, []custodian.ReviewItem{{LookupID: "lk_1", Field: "street", State: custodian.ReviewPending, CreatedAt: l.CreatedAt}}, entry(1))
	approve := func(l *custodian.Lookup, it *custodian.ReviewItem, r custodian.Record) (any, error) {
		now := time.Now()
		it.State, it.Reviewer, it.DecidedAt = custodian.ReviewApproved, "rita", &now
		l.Released["street"], l.Pending, l.Status = r.Values["street"], []string{}, custodian.StatusReleased
		return entry(2), nil
	}
	deny := func(l *custodian.Lookup, it *custodian.ReviewItem, r custodian.Record) (any, error) {
		it.State = custodian.ReviewDenied
		l.Withheld["street"] = custodian.Withheld{Reason: "denied on review: no", Rules: []string{"r"}}
		return entry(3), nil
	}
	l2 := lookup("lk_2")
	createLookup(s, l2, []custodian.ReviewItem{{LookupID: "lk_2", Field: "street", State: custodian.ReviewPending, CreatedAt: l2.CreatedAt}}, entry(1))
	if _, err := s.DecideReview(ctx, "lk_2", "street", rulesGen(s), deny); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Lookup(ctx, "lk_2"); got.Withheld["street"].Reason != "denied on review: no" || got.Withheld["photo"].Reason != "never" {
		t.Errorf("after a denial: %+v", got.Withheld)
	}
	got, err := s.DecideReview(ctx, "lk_1", "street", rulesGen(s), approve)
	if err != nil || got.Released["street"] != "1 Main St" {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if _, err := s.DecideReview(ctx, "lk_1", "street", rulesGen(s), approve); custodian.ErrorCode(err) != custodian.EConflict {
		t.Errorf("second decision: %v", err)
	}
	failing := func(*custodian.Lookup, *custodian.ReviewItem, custodian.Record) (any, error) {
		return nil, fmt.Errorf("no")
	}
	if _, err := s.DecideReview(ctx, "lk_1", "photo", rulesGen(s), failing); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Errorf("unknown field: %v", err)
	}
	stored, _ := s.Lookup(ctx, "lk_1")
	if stored.Status != custodian.StatusReleased || stored.Released["street"] != "1 Main St" {
		t.Errorf("stored after approval: %+v", stored)
	}
}

func testBlocksAndGenerations(t *testing.T, s Store) {
	g0, _, _ := s.Generations(ctx)
	b := custodian.Block{ID: "blk_1", Kind: custodian.BlockGroup, Target: "g", Order: "O-1", CreatedAt: time.Now()}
	if _, err := s.CreateBlock(ctx, b, entry(0)); err != nil {
		t.Fatal(err)
	}
	g1, _, _ := s.Generations(ctx)
	if g1 == g0 {
		t.Error("a block did not move the generation")
	}
	if active, _ := s.Blocks(ctx, true); len(active) != 1 || active[0].Order != "O-1" {
		t.Errorf("active: %+v", active)
	}
	if _, err := s.LiftBlock(ctx, "blk_1", "O-2", entry(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LiftBlock(ctx, "blk_1", "O-3", entry(0)); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Errorf("lifting twice: %v", err)
	}
	if g2, _, _ := s.Generations(ctx); g2 == g1 {
		t.Error("lifting did not move the generation")
	}
	all, _ := s.Blocks(ctx, false)
	if active, _ := s.Blocks(ctx, true); len(active) != 0 || len(all) != 1 || all[0].LiftedAt == nil || all[0].LiftOrder != "O-2" {
		t.Errorf("after lift: active %v, all %+v", active, all)
	}
	if _, err := s.SavePolicy(ctx, "h1", "text", entry(0)); err != nil {
		t.Fatal(err)
	}
	if g3, _, _ := s.Generations(ctx); g3 == g1 {
		t.Error("a policy did not move the generation")
	}
	if pv, err := s.CurrentPolicy(ctx); err != nil || pv.Hash != "h1" {
		t.Errorf("current policy: %+v %v", pv, err)
	}
}

func testAgencies(t *testing.T, s Store) {
	addAgency(t, s, "ag-1")
	if _, err := s.CreateAgency(ctx, custodian.Agency{ID: "ag-1", Name: "x", Groups: []string{"g"}}, "kid-2", []byte("h"), entry(0)); custodian.ErrorCode(err) != custodian.EInvalid {
		t.Errorf("duplicate agency: %v", err)
	}
	keys, _ := s.AgencyKeys(ctx)
	if len(keys) != 1 || keys[0].KeyID != "kid-ag-1" || string(keys[0].Hash) != "hash" {
		t.Errorf("keys: %+v", keys)
	}
	if _, err := s.RevokeAgency(ctx, "ag-1", entry(0)); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.AgencyKeys(ctx); len(keys) != 0 {
		t.Errorf("a revoked agency's key is still active")
	}
	if a, _ := s.Agency(ctx, "ag-1"); !a.Revoked {
		t.Error("not marked revoked")
	}
}

func testLogContiguous(t *testing.T, s Store) {
	addAgency(t, s, "ag-1")
	done := make(chan error)
	for i := 0; i < 40; i++ {
		go func() { done <- createLookup(s, lookup(fmt.Sprintf("lk_%02d", i)), nil, entry(i)) }()
	}
	for i := 0; i < 40; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	size, _ := s.SequencedSize(ctx)
	rows, err := s.Entries(ctx, 0, int(size)+5)
	if err != nil || uint64(len(rows)) != size {
		t.Fatalf("%d rows of %d, %v", len(rows), size, err)
	}
	for i, r := range rows {
		e, err := audit.Decode(r.Body)
		if r.Index != uint64(i) || err != nil || e.Index != uint64(i) || string(audit.LeafHash(r.Body)) != string(r.LeafHash) {
			t.Fatalf("row %d: index %d, %v", i, r.Index, err)
		}
	}
}

func testIntegrateConflict(t *testing.T, s Store) {
	h := make([]byte, 32)
	if err := s.Integrate(ctx, 0, 0, nil, nil, []byte("cp0")); err != nil {
		t.Fatal(err)
	}
	if err := s.Integrate(ctx, 5, 6, [][]byte{h}, nil, []byte("cp")); custodian.ErrorCode(err) != custodian.EConflict {
		t.Errorf("stale integration: %v", err)
	}
	if cp, err := s.LatestCheckpoint(ctx); err != nil || string(cp) != "cp0" {
		t.Errorf("checkpoint: %q %v", cp, err)
	}
}

func testStaleDecision(t *testing.T, s Store) {
	addAgency(t, s, "ag-1")
	rules, registry, _ := s.Generations(ctx)
	size, _ := s.SequencedSize(ctx)
	// A block arrives between the decision and its record.
	if _, err := s.CreateBlock(ctx, custodian.Block{ID: "blk_1", Kind: custodian.BlockField, Target: "street", Order: "O", CreatedAt: time.Now()}, entry(0)); err != nil {
		t.Fatal(err)
	}
	err := s.CreateLookup(ctx, lookup("lk_1"), nil, entry(1), rules, registry)
	if !errors.Is(err, custodian.ErrStale) {
		t.Fatalf("stale rules: %v", err)
	}
	if _, err := s.Lookup(ctx, "lk_1"); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Errorf("a stale decision was stored: %v", err)
	}
	if after, _ := s.SequencedSize(ctx); after != size+1 {
		t.Errorf("log grew by %d, want 1 (the block only)", after-size)
	}
	// So does an import.
	rules, registry, _ = s.Generations(ctx)
	mustImport(t, s, rec("R1", "Ann", "Lee"))
	if err := s.CreateLookup(ctx, lookup("lk_2"), nil, entry(1), rules, registry); !errors.Is(err, custodian.ErrStale) {
		t.Errorf("stale registry: %v", err)
	}
	if err := createLookup(s, lookup("lk_3"), nil, entry(1)); err != nil {
		t.Errorf("current generations: %v", err)
	}
	// A review decided before a block arrived is not recorded either.
	if err := createLookup(s, lookup("lk_4"), []custodian.ReviewItem{{LookupID: "lk_4", Field: "street", State: custodian.ReviewPending, CreatedAt: time.Now()}}, entry(1)); err != nil {
		t.Fatal(err)
	}
	before := rulesGen(s)
	s.CreateBlock(ctx, custodian.Block{ID: "blk_2", Kind: custodian.BlockAgency, Target: "ag-1", Order: "O", CreatedAt: time.Now()}, entry(0))
	_, err = s.DecideReview(ctx, "lk_4", "street", before, func(l *custodian.Lookup, it *custodian.ReviewItem, r custodian.Record) (any, error) {
		it.State = custodian.ReviewApproved
		l.Released["street"] = "x"
		return entry(2), nil
	})
	if !errors.Is(err, custodian.ErrStale) {
		t.Errorf("stale review: %v", err)
	}
	if got, _ := s.Lookup(ctx, "lk_4"); got.Released["street"] != "" {
		t.Error("a stale approval was recorded")
	}
}

func testMatchModels(t *testing.T, s Store) {
	if v, err := s.MatchModelVersion(ctx); err != nil || v != 0 {
		t.Fatalf("version before training = %d, %v", v, err)
	}
	if _, _, _, err := s.CurrentMatchModel(ctx); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Fatalf("current model before training: %v, want not found", err)
	}
	for i, body := range []string{`{"a":1}`, `{"a":2}`} {
		v, idx, err := s.SaveMatchModel(ctx, fmt.Sprintf("hash%d", i), []byte(body), func(v int64) any { return map[string]int64{"version": v} })
		if err != nil {
			t.Fatal(err)
		}
		if v != int64(i+1) {
			t.Errorf("version %d, want %d", v, i+1)
		}
		rows, err := s.Entries(ctx, idx, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("log entry %d: %v", idx, err)
		}
	}
	v, hash, body, err := s.CurrentMatchModel(ctx)
	if err != nil || v != 2 || hash != "hash1" || string(body) != `{"a":2}` {
		t.Errorf("current = %d %s %s %v", v, hash, body, err)
	}
	if n, _ := s.MatchModelVersion(ctx); n != 2 {
		t.Errorf("version = %d, want 2", n)
	}
}

func testRekey(t *testing.T, s Store) {
	mustImport(t, s, rec("R1", "Ann", "Lee"), rec("R2", "Bo", "Park"))
	if v, err := s.KeyVersion(ctx); err != nil || v != "" {
		t.Fatalf("key version before any rekey = %q, %v", v, err)
	}
	_, reg0, _ := s.Generations(ctx)
	byFirst := func(r custodian.Record) []string { return []string{"f:" + r.Values["first_name"]} }
	n, _, err := s.RekeyRecords(ctx, "v2", byFirst, entry)
	if err != nil || n != 2 {
		t.Fatalf("rekey: %d, %v", n, err)
	}
	if v, _ := s.KeyVersion(ctx); v != "v2" {
		t.Errorf("key version = %q, want v2", v)
	}
	if got, _ := s.Candidates(ctx, []string{"k:Lee"}, 0); len(got) != 0 {
		t.Errorf("an old key still finds %d records", len(got))
	}
	if got, _ := s.Candidates(ctx, []string{"f:Bo"}, 0); len(got) != 1 || got[0].ID != "R2" {
		t.Errorf("new key finds %v", got)
	}
	if _, reg1, _ := s.Generations(ctx); reg1 == reg0 {
		t.Error("a rekey left the registry generation unchanged")
	}
	// A failing key function re-keys nothing.
	_, _, err = s.RekeyRecords(ctx, "v3", func(custodian.Record) []string { return []string{"has space"} }, func(int) any { return make(chan int) })
	if err == nil {
		t.Fatal("a rekey whose log entry cannot be written succeeded")
	}
	if v, _ := s.KeyVersion(ctx); v != "v2" {
		t.Errorf("after a failed rekey the key version is %q", v)
	}
	if got, _ := s.Candidates(ctx, []string{"f:Bo"}, 0); len(got) != 1 {
		t.Errorf("after a failed rekey the old keys are gone: %v", got)
	}
}

func testCandidatesMaxBlock(t *testing.T, s Store) {
	mustImport(t, s, rec("R1", "Ann", "Lee"), rec("R2", "Bo", "Lee"), rec("R3", "Cy", "Lee"), rec("R4", "Di", "Park"),
		rec("R5", "Ed", "Kim"), rec("R6", "Flo", "Kim"))
	ids := func(keys []string, maxBlock int) string {
		t.Helper()
		got, err := s.Candidates(ctx, keys, maxBlock)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range got {
			out = append(out, r.ID)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		keys     []string
		maxBlock int
		want     string
	}{
		{[]string{"k:Lee", "k:Park"}, 0, "R1,R2,R3,R4"},
		{[]string{"k:Lee", "k:Park"}, 3, "R1,R2,R3,R4"},
		{[]string{"k:Lee", "k:Park"}, 2, "R4"},             // Lee is too wide
		{[]string{"k:Lee", "k:Kim", "k:None"}, 1, "R5,R6"}, // nobody else: the narrowest wide key
		{[]string{"k:Lee", "k:None"}, 2, "R1,R2,R3"},
		{[]string{"k:None"}, 2, ""},
	} {
		if got := ids(tt.keys, tt.maxBlock); got != tt.want {
			t.Errorf("Candidates(%v, %d) = %s, want %s", tt.keys, tt.maxBlock, got, tt.want)
		}
	}
}
