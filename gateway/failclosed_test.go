package gateway_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
)

const registry = "record_id,first_name,last_name,dob,street\nR1,Ann,Lee,1990-01-01,1 Main St\n"

const permitAll = `@id("all") permit (principal, action == Action::"disclose", resource);`

// newService opens a real SQLite store with one record and one agency and
// returns a raw connection to the same file for sabotage.
func newService(t testing.TB, pol string) (*gateway.Service, custodian.Agency, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	std, _ := match.NewExact(nil)
	svc := gateway.New(st, std, gateway.Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(), DigestSecret: []byte("0123456789abcdef")}, nil, nil, nil)
	if _, err := svc.Import(ctx, strings.NewReader(registry)); err != nil {
		t.Fatal(err)
	}
	if pol != "" {
		if _, err := svc.ApplyPolicy(ctx, []byte(pol)); err != nil {
			t.Fatal(err)
		}
	}
	a := custodian.Agency{ID: "ag-1", Name: "Agency", Groups: []string{"in-state-police"}}
	if _, err := svc.AddAgency(ctx, a); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return svc, a, raw
}

var ann = custodian.LookupRequest{Purpose: "dppa-1", Subject: map[string]string{"first_name": "Ann", "last_name": "Lee", "dob": "1990-01-01"}, Fields: []string{"first_name", "street"}}

func count(t testing.TB, db *sql.DB, table string) int {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReleaseNeedsLogEntry(t *testing.T) {
	svc, a, raw := newService(t, permitAll)
	ctx := context.Background()
	l, err := svc.Lookup(ctx, a, ann)
	if err != nil || l.Released["street"] != "1 Main St" {
		t.Fatalf("baseline lookup: %v %v", l.Released, err)
	}
	// The log cannot be written: the lookup fails and nothing is stored.
	if _, err := raw.Exec(`CREATE TRIGGER no_log BEFORE INSERT ON log_entries BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	before := count(t, raw, "lookups")
	l, err = svc.Lookup(ctx, a, ann)
	if err == nil || len(l.Released) != 0 || l.ID != "" {
		t.Fatalf("lookup without a log entry: %+v, %v", l, err)
	}
	if custodian.ErrorCode(err) != custodian.EInternal {
		t.Errorf("code %s", custodian.ErrorCode(err))
	}
	if count(t, raw, "lookups") != before {
		t.Error("a lookup was stored without its log entry")
	}
}

func TestStoreErrorReleasesNothing(t *testing.T) {
	svc, a, raw := newService(t, permitAll)
	if _, err := raw.Exec(`CREATE TRIGGER no_lookup BEFORE INSERT ON lookups BEGIN SELECT RAISE(ABORT, 'broken'); END`); err != nil {
		t.Fatal(err)
	}
	entries := count(t, raw, "log_entries")
	l, err := svc.Lookup(context.Background(), a, ann)
	if err == nil || len(l.Released) != 0 {
		t.Fatalf("released on store error: %+v %v", l, err)
	}
	if count(t, raw, "log_entries") != entries {
		t.Error("a log entry was kept for a lookup that was not stored")
	}
}

func TestNoPolicyDeniesEverything(t *testing.T) {
	svc, a, _ := newService(t, "")
	l, err := svc.Lookup(context.Background(), a, ann)
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != custodian.StatusDenied || len(l.Released) != 0 || l.Withheld["street"].Reason != "no policy is installed" {
		t.Fatalf("no policy: %+v", l)
	}
}

// Concurrent lookups share transactions (group commit) and every one gets
// its own log index.
func TestConcurrentLookupsGetDistinctLogIndexes(t *testing.T) {
	svc, a, raw := newService(t, permitAll)
	const n = 64
	idx := make(chan uint64, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			l, err := svc.Lookup(context.Background(), a, ann)
			errs <- err
			idx <- l.LogIndex
		}()
	}
	seen := map[uint64]bool{}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-idx] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct log indexes for %d lookups", len(seen), n)
	}
	if got := count(t, raw, "lookups"); got != n {
		t.Errorf("%d lookups stored", got)
	}
}

// Re-import updates a record in place, and its blocking keys follow it.
func TestReimportUpdatesInPlace(t *testing.T) {
	svc, a, raw := newService(t, permitAll)
	ctx := context.Background()
	// Lookups read the in-memory index; a re-import must not leave them stale.
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := svc.Lookup(ctx, a, ann); err != nil || l.Released["street"] != "1 Main St" {
		t.Fatalf("before re-import: %v %v", l.Released, err)
	}
	if _, err := svc.Import(ctx, strings.NewReader("record_id,last_name,street\nR1,Lee-Park,2 Side St\n")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, raw, "records"); n != 1 {
		t.Fatalf("%d records after re-import", n)
	}
	old, err := svc.Lookup(ctx, a, ann)
	if err != nil || old.Outcome != custodian.NoMatch {
		t.Fatalf("old name still matches: %v %v", old.Outcome, err)
	}
	req := ann
	req.Subject = map[string]string{"first_name": "Ann", "last_name": "Lee-Park", "dob": "1990-01-01"}
	l, err := svc.Lookup(ctx, a, req)
	if err != nil || l.Outcome != custodian.Verified || l.Released["street"] != "2 Side St" || l.Released["first_name"] != "Ann" {
		t.Fatalf("updated record: %+v %v", l, err)
	}
	if n := count(t, raw, "record_keys"); n != 1 {
		t.Errorf("%d blocking keys for one record", n)
	}
	// Once the index has caught up, it gives the same answer.
	for i := 0; i < 100 && svc.Warm(ctx) != nil; i++ {
	}
	if l, err := svc.Lookup(ctx, a, req); err != nil || l.Released["street"] != "2 Side St" {
		t.Fatalf("from the rebuilt index: %v %v", l.Released, err)
	}
}

// An agency revoked after it authenticated gets nothing from its next
// lookup: the agency is re-checked at the generation the lookup decides in.
func TestRevocationHoldsFromNextLookup(t *testing.T) {
	svc, a, _ := newService(t, permitAll)
	ctx := context.Background()
	if _, err := svc.Lookup(ctx, a, ann); err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeAgency(ctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Lookup(ctx, a, ann)
	if custodian.ErrorCode(err) != custodian.EUnauthorized || len(l.Released) != 0 {
		t.Fatalf("revoked agency: %+v %v", l, err)
	}
}

// A column added by an import can be asked for on the next lookup: the
// import does not touch the service's loaded state, as if another process
// had made it.
func TestNewColumnIsKnownAtOnce(t *testing.T) {
	svc, a, _ := newService(t, permitAll)
	ctx := context.Background()
	if _, err := svc.Lookup(ctx, a, ann); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, strings.NewReader("record_id,zip\nR1,90210\n")); err != nil {
		t.Fatal(err)
	}
	req := ann
	req.Fields = []string{"zip"}
	l, err := svc.Lookup(ctx, a, req)
	if err != nil || l.Released["zip"] != "90210" {
		t.Fatalf("new column: %+v %v", l, err)
	}
	req.Fields = []string{"nope"}
	if _, err := svc.Lookup(ctx, a, req); custodian.ErrorCode(err) != custodian.EInvalid {
		t.Errorf("unknown column: %v", err)
	}
}
