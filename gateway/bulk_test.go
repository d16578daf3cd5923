package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
)

// hookStore runs after once a chunk of bulk rows has been saved.
type hookStore struct {
	*sqlite.Store
	saves atomic.Int32
	after func(n int32)
}

func (h *hookStore) SaveBulkRows(ctx context.Context, id string, from int, rows []custodian.BulkRow, entry any, rg, gg int64) error {
	err := h.Store.SaveBulkRows(ctx, id, from, rows, entry, rg, gg)
	if err == nil && h.after != nil {
		h.after(h.saves.Add(1))
	}
	return err
}

// bulkSetup opens a store with one registered person, a permissive policy
// and an agency, and returns two services over it: plain, and one whose
// store calls after once it has saved each chunk of bulk rows.
func bulkSetup(t *testing.T, after func(svc *gateway.Service, n int32)) (plain, hooked *gateway.Service, a custodian.Agency, st *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	std, _ := match.NewExact(nil)
	cfg := gateway.Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(), DigestSecret: []byte("0123456789abcdef")}
	plain = gateway.New(st, std, cfg, nil, nil, nil)
	if _, err := plain.Import(ctx, strings.NewReader(registry)); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ApplyPolicy(ctx, []byte(permitAll)); err != nil {
		t.Fatal(err)
	}
	a = custodian.Agency{ID: "ag-1", Name: "Agency", Groups: []string{"in-state-police"}}
	if _, err := plain.AddAgency(ctx, a); err != nil {
		t.Fatal(err)
	}
	h := &hookStore{Store: st}
	hooked = gateway.New(h, std, cfg, nil, nil, nil)
	h.after = func(n int32) { after(plain, n) }
	return plain, hooked, a, st
}

// bulkRows is a file of n rows: Ann Lee on every third, someone unknown on
// the others.
func bulkRows(n int) []byte {
	var b strings.Builder
	b.WriteString("row_id,first_name,last_name,dob\n")
	for i := range n {
		if i%3 == 0 {
			fmt.Fprintf(&b, "r%d,Ann,Lee,1990-01-01\n", i)
		} else {
			fmt.Fprintf(&b, "r%d,Bo,Nobody,1980-02-0%d\n", i, 1+i%9)
		}
	}
	return []byte(b.String())
}

// runUntil runs svc's bulk worker until the job leaves queued and running.
func runUntil(t *testing.T, svc *gateway.Service, a custodian.Agency, id string) custodian.BulkJob {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.RunBulk(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := svc.BulkJob(context.Background(), a, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != custodian.BulkQueued && j.State != custodian.BulkRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s at row %d of %d", j.State, j.Done, j.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkResult reads a done job's rows: each line once, in order, and Ann
// released on every third row only.
func checkResult(t *testing.T, svc *gateway.Service, a custodian.Agency, id string, n int) {
	t.Helper()
	seen := 0
	_, err := svc.BulkResult(context.Background(), a, id, func(r custodian.BulkRow) error {
		if r.Line != seen+2 {
			return fmt.Errorf("row %d has line %d, want %d", seen, r.Line, seen+2)
		}
		want := seen%3 == 0
		if got := r.Released["first_name"] == "Ann"; got != want || (r.Outcome == "verified") != want {
			return fmt.Errorf("row %d: %s %v", seen, r.Outcome, r.Released)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("%d rows in the result, want %d", seen, n)
	}
}

// A worker stopped mid-job (the server shut down) leaves the rows it
// recorded; the next worker resumes after them, and the result has every
// row exactly once.
func TestBulkResumesAfterStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	plain, hooked, a, _ := bulkSetup(t, func(_ *gateway.Service, n int32) {
		if n == 1 {
			cancel()
		}
	})
	const n = 1300
	j, err := plain.SubmitBulk(context.Background(), a, custodian.LookupRequest{Purpose: "dppa-1", Fields: []string{"first_name", "street"}}, bulkRows(n))
	if err != nil {
		t.Fatal(err)
	}
	hooked.RunBulk(ctx) // returns when the first chunk is saved
	mid, err := plain.BulkJob(context.Background(), a, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != custodian.BulkRunning || mid.Done == 0 || mid.Done >= n {
		t.Fatalf("after the stop: %s at row %d", mid.State, mid.Done)
	}
	if _, err := plain.BulkResult(context.Background(), a, j.ID, func(custodian.BulkRow) error { return nil }); custodian.ErrorCode(err) != custodian.EConflict {
		t.Fatalf("result of a running job: %v, want a conflict", err)
	}
	final := runUntil(t, plain, a, j.ID)
	if final.State != custodian.BulkDone || final.Summary.Submitted != n || final.Summary.Verified != (n+2)/3 {
		t.Fatalf("final: %+v %+v", final, final.Summary)
	}
	checkResult(t, plain, a, j.ID, n)
}

// A policy change while a job runs makes it start again, so that nothing it
// releases was decided under rules no longer in force; a block added
// meanwhile holds for every row.
func TestBulkRestartsWhenRulesChange(t *testing.T) {
	plain, hooked, a, _ := bulkSetup(t, func(svc *gateway.Service, n int32) {
		if n == 1 {
			if _, err := svc.AddBlock(context.Background(), custodian.BlockField, "street", "CO-1"); err != nil {
				panic(err)
			}
		}
	})
	const n = 1300
	j, err := plain.SubmitBulk(context.Background(), a, custodian.LookupRequest{Purpose: "dppa-1", Fields: []string{"first_name", "street"}}, bulkRows(n))
	if err != nil {
		t.Fatal(err)
	}
	final := runUntil(t, hooked, a, j.ID)
	if final.State != custodian.BulkDone || final.Summary.Released["street"] != 0 || final.Summary.Released["first_name"] != (n+2)/3 {
		t.Fatalf("final: %s %+v", final.State, final.Summary)
	}
	checkResult(t, plain, a, j.ID, n)
}

// A revoked agency's job fails, and nothing of it can be read.
func TestBulkFailsForRevokedAgency(t *testing.T) {
	plain, _, a, _ := bulkSetup(t, func(*gateway.Service, int32) {})
	j, err := plain.SubmitBulk(context.Background(), a, custodian.LookupRequest{Purpose: "dppa-1", Fields: []string{"first_name"}}, bulkRows(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.RevokeAgency(context.Background(), a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go plain.RunBulk(ctx)
	for ctx.Err() == nil {
		if jj, err := plain.StaffBulkJob(context.Background(), j.ID); err == nil && jj.State == custodian.BulkFailed {
			if _, err := plain.BulkResult(context.Background(), a, j.ID, func(custodian.BulkRow) error { return errors.New("a row was read") }); err == nil {
				t.Fatal("a failed job's result was read")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the revoked agency's job did not fail")
}

const reviewContact = `@id("identity") permit (principal, action == Action::"disclose", resource in FieldClass::"identity");
@id("contact-reviewed") permit (principal, action == Action::"disclose", resource in FieldClass::"contact") when { context.reviewed };`

// Two different reviewers release a job's held fields; a block that
// arrives in between voids the reviews and the job is decided again, with
// the block.
func TestBulkReview(t *testing.T) {
	ctx := context.Background()
	plain, _, a, _ := bulkSetup(t, func(*gateway.Service, int32) {})
	if _, err := plain.ApplyPolicy(ctx, []byte(reviewContact)); err != nil {
		t.Fatal(err)
	}
	req := custodian.LookupRequest{Purpose: "dppa-1", Fields: []string{"first_name", "street"}}
	j, err := plain.SubmitBulk(ctx, a, req, bulkRows(30))
	if err != nil {
		t.Fatal(err)
	}
	if j = runUntil(t, plain, a, j.ID); j.State != custodian.BulkReview || j.Summary.HeldForReview != 10 {
		t.Fatalf("held job: %s %+v", j.State, j.Summary)
	}
	rita, sam := gateway.Staff{Name: "rita", Role: gateway.RoleReviewer}, gateway.Staff{Name: "sam", Role: gateway.RoleReviewer}
	if _, err := plain.DecideBulk(ctx, rita, j.ID, true, ""); custodian.ErrorCode(err) != custodian.EInvalid {
		t.Errorf("approval without a reason: %v", err)
	}
	if j, err = plain.DecideBulk(ctx, rita, j.ID, true, "checked"); err != nil || j.State != custodian.BulkReview {
		t.Fatalf("first approval: %v %s", err, j.State)
	}
	if _, err := plain.AddBlock(ctx, custodian.BlockField, "street", "CO-9"); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.DecideBulk(ctx, sam, j.ID, true, "checked"); custodian.ErrorCode(err) != custodian.EConflict {
		t.Fatalf("approval after a block: %v, want a conflict", err)
	}
	// Decided again under the block: street is denied outright, so nothing
	// waits for review and the job is done without it.
	j = runUntil(t, plain, a, j.ID)
	if j.State != custodian.BulkDone || j.Summary.Released["street"] != 0 || j.Summary.Released["first_name"] != 10 {
		t.Fatalf("after the block: %s %+v", j.State, j.Summary)
	}
}

// A block placed after a job is done withholds the fields it covers when
// the result is read.
func TestBulkResultHonoursLaterBlocks(t *testing.T) {
	ctx := context.Background()
	plain, _, a, _ := bulkSetup(t, func(*gateway.Service, int32) {})
	j, err := plain.SubmitBulk(ctx, a, custodian.LookupRequest{Purpose: "dppa-1", Fields: []string{"first_name", "street"}}, bulkRows(9))
	if err != nil {
		t.Fatal(err)
	}
	if j = runUntil(t, plain, a, j.ID); j.State != custodian.BulkDone || j.Summary.Released["street"] != 3 {
		t.Fatalf("job: %s %+v", j.State, j.Summary)
	}
	if _, err := plain.AddBlock(ctx, custodian.BlockField, "street", "CO-7"); err != nil {
		t.Fatal(err)
	}
	_, err = plain.BulkResult(ctx, a, j.ID, func(r custodian.BulkRow) error {
		if _, ok := r.Released["street"]; ok {
			return fmt.Errorf("row %d released the blocked street", r.Line)
		}
		if r.Outcome == "verified" && !strings.Contains(r.Withheld["street"].Reason, "CO-7") {
			return fmt.Errorf("row %d: %+v", r.Line, r.Withheld)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
