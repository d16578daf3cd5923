package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodian-project/custodian/audit"

	_ "modernc.org/sqlite"
)

// tamper applies one change to a copy of a deployment's log and returns
// what `audit verify` says.
func TestAuditVerifyPinpointsTampering(t *testing.T) {
	d := newDeployment(t)
	for i := 0; i < 3; i++ {
		mustCLI(t, "block", "add", "--data", d.dir, "--kind", "agency", "--target", fmt.Sprintf("x-%d", i), "--order", "O-1")
	}
	out := mustCLI(t, "audit", "verify", "--data", d.dir)
	if !strings.Contains(out, "audit log OK") {
		t.Fatalf("verify: %s", out)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "custodian.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.QueryRow(`SELECT count(*) FROM log_entries`).Scan(&n)
	if n < 10 {
		t.Fatalf("only %d entries", n)
	}

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() func() {
		exec(`CREATE TABLE saved AS SELECT * FROM log_entries`)
		return func() {
			exec(`DELETE FROM log_entries`)
			exec(`INSERT INTO log_entries SELECT * FROM saved`)
			exec(`DROP TABLE saved`)
		}
	}
	expectFailAt := func(what string, idx int) {
		t.Helper()
		_, err := cli(t, "audit", "verify", "--data", d.dir)
		if err == nil {
			t.Fatalf("%s: audit verify passed", what)
		}
		if want := fmt.Sprintf("entry %d", idx); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to name %s", what, err, want)
		}
	}

	for _, idx := range []int{0, 3, n / 2, n - 1} {
		var body []byte
		db.QueryRow(`SELECT body FROM log_entries WHERE idx = ?`, idx).Scan(&body)
		for _, pos := range []int{0, len(body) / 3, len(body) - 1} {
			restore := snapshot()
			b := append([]byte(nil), body...)
			b[pos] ^= 0x01
			exec(`UPDATE log_entries SET body = ? WHERE idx = ?`, b, idx)
			expectFailAt(fmt.Sprintf("flip byte %d of entry %d", pos, idx), idx)
			restore()
		}
		restore := snapshot()
		exec(`DELETE FROM log_entries WHERE idx = ?`, idx)
		expectFailAt(fmt.Sprintf("delete entry %d", idx), idx)
		restore()
	}
	// Reorder two entries (bodies and hashes move together).
	restore := snapshot()
	exec(`UPDATE log_entries SET idx = -1 WHERE idx = 2`)
	exec(`UPDATE log_entries SET idx = 2 WHERE idx = 5`)
	exec(`UPDATE log_entries SET idx = 5 WHERE idx = -1`)
	expectFailAt("swap entries 2 and 5", 2)
	restore()
	// Rewriting an entry together with its leaf hash is caught by the tree.
	restore = snapshot()
	var body []byte
	db.QueryRow(`SELECT body FROM log_entries WHERE idx = 4`).Scan(&body)
	b := []byte(strings.Replace(string(body), `"kind":"`, `"kind":"x`, 1))
	exec(`UPDATE log_entries SET body = ?, leaf_hash = ? WHERE idx = 4`, b, audit.LeafHash(b))
	if _, err := cli(t, "audit", "verify", "--data", d.dir); err == nil {
		t.Error("rewritten entry and hash passed verification")
	}
	restore()
	mustCLI(t, "audit", "verify", "--data", d.dir)
}
