package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	febrlA   = "../../match/testdata/febrl/dataset4a.csv"
	febrlB   = "../../match/testdata/febrl/dataset4b.csv"
	febrlMap = "given_name=first_name,surname=last_name,date_of_birth=dob,postcode=zip,street_number+address_1=street,suburb=city"
)

// febrlRegistry writes FEBRL dataset4a as a registry CSV in the standard
// columns (without soc_sec_id).
func febrlRegistry(t *testing.T) string {
	t.Helper()
	f, err := os.Open(febrlA)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(h)] = i
	}
	path := filepath.Join(t.TempDir(), "registry.csv")
	out, _ := os.Create(path)
	w := csv.NewWriter(out)
	w.Write([]string{"record_id", "first_name", "last_name", "street", "city", "zip", "dob"})
	for _, row := range rows[1:] {
		get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
		dob := get("date_of_birth")
		if len(dob) == 8 {
			dob = dob[:4] + "-" + dob[4:6] + "-" + dob[6:]
		} else {
			dob = ""
		}
		w.Write([]string{get("rec_id"), get("given_name"), get("surname"),
			strings.TrimSpace(get("street_number") + " " + get("address_1")), get("suburb"), get("postcode"), dob})
	}
	w.Flush()
	out.Close()
	return path
}

// The custodian trains its model, reads it, and dry-runs it over a file:
// every verified row names the right record, and nothing is logged as a
// release.
func TestMatchTrainModelDryRun(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	mustCLI(t, "import", "--data", dir, febrlRegistry(t))
	if _, err := cli(t, "match", "--data", dir, "--queries", febrlB, "--map", febrlMap, "--out", filepath.Join(dir, "x.csv")); err == nil ||
		!strings.Contains(err.Error(), "match train") {
		t.Fatalf("dry run before training: %v, want a pointer to match train", err)
	}
	out := mustCLI(t, "match", "train", "--data", dir, "--queries", febrlB, "--map", febrlMap)
	if !strings.Contains(out, "trained match model version 1") {
		t.Fatalf("train: %s", out)
	}
	model := mustCLI(t, "match", "model", "--data", dir)
	for _, want := range []string{"first_name", "day and month transposed", "same number and street", "weight"} {
		if !strings.Contains(model, want) {
			t.Errorf("match model lacks %q:\n%s", want, model)
		}
	}

	res := filepath.Join(dir, "dry.csv")
	mustCLI(t, "match", "--data", dir, "--queries", febrlB, "--map", febrlMap, "--id", "rec_id", "--out", res, "--explain")
	f, _ := os.Open(res)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5001 {
		t.Fatalf("%d rows, want a header and 5000", len(rows))
	}
	h := map[string]int{}
	for i, c := range rows[0] {
		h[c] = i
	}
	for _, c := range []string{"row_id", "outcome", "record_id", "match_probability", "dob_level", "dob_weight"} {
		if _, ok := h[c]; !ok {
			t.Fatalf("no column %s in %v", c, rows[0])
		}
	}
	verified := 0
	for _, r := range rows[1:] {
		id, rec := r[h["row_id"]], r[h["record_id"]]
		switch r[h["outcome"]] {
		case "verified":
			verified++
			if strings.Split(id, "-")[1] != strings.Split(rec, "-")[1] {
				t.Errorf("%s verified to %s", id, rec)
			}
		default:
			if rec != "" {
				t.Errorf("%s is %s but names record %s", id, r[h["outcome"]], rec)
			}
		}
	}
	// The default standard requires first name, surname and date of birth
	// to agree; FEBRL corrupts one of them in many rows.
	if verified < 3000 {
		t.Errorf("only %d of 5000 verified", verified)
	}
	audit := mustCLI(t, "audit", "verify", "--data", dir)
	if !strings.Contains(audit, "OK") {
		t.Errorf("audit verify: %s", audit)
	}
}

func TestMatchDryRunRefusals(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	mustCLI(t, "import", "--data", dir, febrlRegistry(t))
	mustCLI(t, "match", "train", "--data", dir, "--random-pairs", "10000")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	out := filepath.Join(dir, "out.csv")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no queries":       {[]string{"--out", out}, "usage"},
		"empty file":       {[]string{"--queries", write("empty.csv", ""), "--out", out}, "empty"},
		"no identifiers":   {[]string{"--queries", write("cols.csv", "a,b\n1,2\n"), "--out", out}, "no column names an identifier"},
		"bad map":          {[]string{"--queries", write("q.csv", "a,b\n1,2\n"), "--map", "a", "--out", out}, "source=target"},
		"map to unknown":   {[]string{"--queries", write("q.csv", "a,b\n1,2\n"), "--map", "a=ssn", "--out", out}, "not an identifier"},
		"map from missing": {[]string{"--queries", write("q.csv", "a,b\n1,2\n"), "--map", "c=first_name", "--out", out}, "not in the file's header"},
		"bad rule":         {[]string{"--queries", write("q2.csv", "first_name\nann\n"), "--require", "ssn", "--out", out}, "not one of the comparisons"},
	} {
		_, err := cli(t, append([]string{"match", "--data", dir}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}

	// Malformed rows are reported with their line and do not stop the run.
	q := write("mixed.csv", "row_id,first_name,last_name,dob\n"+
		"a,michaela,neumann,1915-11-11\n"+
		"b,michaela,neumann,not-a-date\n"+
		"c,\"unterminated,neumann,1915-11-11\n")
	mustCLI(t, "match", "--data", dir, "--queries", q, "--out", out)
	f, _ := os.Open(out)
	rows, _ := csv.NewReader(f).ReadAll()
	f.Close()
	if len(rows) < 3 {
		t.Fatalf("rows: %v", rows)
	}
	if rows[1][2] != "verified" || rows[2][2] != "malformed" || !strings.Contains(rows[2][len(rows[2])-1], "subject.dob") {
		t.Errorf("rows: %v", rows)
	}
	last := rows[len(rows)-1]
	if last[2] != "malformed" || !strings.Contains(last[len(last)-1], "line 4") {
		t.Errorf("unterminated quote: %v", last)
	}
	for _, r := range rows {
		if strings.Contains(strings.Join(r, ","), "not-a-date") {
			t.Errorf("the output repeats an input value: %v", r)
		}
	}
}

// The registry prepared for the match standard is kept in the deployment
// between runs and used only while it is what the store holds: an import,
// a damaged file or a missing one makes the next run prepare it again, with
// the same results.
func TestDryRunKeepsThePreparedRegistry(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	mustCLI(t, "import", "--data", dir, febrlRegistry(t))
	mustCLI(t, "match", "train", "--data", dir, "--random-pairs", "10000")
	cache := filepath.Join(dir, "match-registry.prepared")
	if st, err := os.Stat(cache); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("after training: %v (mode %v), want the prepared registry, readable by the owner only", err, st)
	}
	queries := filepath.Join(dir, "q.csv")
	os.WriteFile(queries, []byte("row_id,first_name,last_name,dob\nq1,Quentin,Okafor,1970-01-01\nq2,michaela,neumann,1915-11-11\n"), 0o600)
	dry := func(want string) string {
		t.Helper()
		var out, errb bytes.Buffer
		res := filepath.Join(dir, "dry.csv")
		err := run(context.Background(), []string{"match", "--data", dir, "--queries", queries, "--out", res},
			func(string) string { return "" }, stdio{strings.NewReader(""), &out, &errb})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errb.String(), want) {
			t.Errorf("dry run says %q, want %q", errb.String(), want)
		}
		b, _ := os.ReadFile(res)
		return string(b)
	}
	first := dry("read the prepared copy of 5000 registry records")
	if !strings.Contains(first, "q2,3,verified,") || strings.Contains(first, "q1,2,verified") {
		t.Fatalf("before the import:\n%s", first)
	}
	os.Remove(cache)
	if again := dry("read and prepared 5000 registry records"); again != first {
		t.Errorf("prepared again:\n%s\nwant\n%s", again, first)
	}
	if again := dry("read the prepared copy"); again != first {
		t.Errorf("the copy written again:\n%s\nwant\n%s", again, first)
	}
	// An import moves the registry's generation: the copy is stale.
	rec := filepath.Join(dir, "new.csv")
	os.WriteFile(rec, []byte("record_id,first_name,last_name,dob\nR-new,Quentin,Okafor,1970-01-01\n"), 0o600)
	mustCLI(t, "import", "--data", dir, rec)
	after := dry("read and prepared 5001 registry records")
	if !strings.Contains(after, "q1,2,verified,R-new,") {
		t.Errorf("after the import:\n%s", after)
	}
	// A damaged copy is prepared again, not read.
	b, _ := os.ReadFile(cache)
	os.WriteFile(cache, b[:len(b)/2], 0o600)
	if again := dry("read and prepared 5001"); again != after {
		t.Errorf("after damage:\n%s\nwant\n%s", again, after)
	}
	dry("read the prepared copy of 5001")
}

// A store restored from a backup and then changed again must not take the
// prepared copy of the registry it had before the restore for its own,
// though the copy was left in place.
func TestDryRunAfterARestore(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	mustCLI(t, "import", "--data", dir, febrlRegistry(t))
	mustCLI(t, "match", "train", "--data", dir, "--random-pairs", "10000")
	backup := t.TempDir()
	copyDB := func(from, to string) {
		for _, suf := range []string{"", "-wal", "-shm"} {
			os.Remove(filepath.Join(to, "custodian.db"+suf))
			if b, err := os.ReadFile(filepath.Join(from, "custodian.db"+suf)); err == nil {
				os.WriteFile(filepath.Join(to, "custodian.db"+suf), b, 0o600)
			}
		}
	}
	copyDB(dir, backup)
	queries := filepath.Join(dir, "q.csv")
	os.WriteFile(queries, []byte("row_id,first_name,last_name,dob\nq1,Quentin,Okafor,1970-01-01\n"), 0o600)
	dry := func() string {
		t.Helper()
		res := filepath.Join(dir, "dry.csv")
		mustCLI(t, "match", "--data", dir, "--queries", queries, "--out", res)
		b, _ := os.ReadFile(res)
		return string(b)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	mustCLI(t, "import", "--data", dir, write("new.csv", "record_id,first_name,last_name,dob\nR-new,Quentin,Okafor,1970-01-01\n"))
	if res := dry(); !strings.Contains(res, "q1,2,verified,R-new,") {
		t.Fatalf("before the restore:\n%s", res)
	}
	cache := filepath.Join(dir, "match-registry.prepared")
	prepared, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	copyDB(backup, dir) // R-new is gone
	mustCLI(t, "import", "--data", dir, write("other.csv", "record_id,first_name,last_name,dob\nR-other,Zelda,Fitzgerald,1900-07-24\n"))
	// The import removed the copy; one left elsewhere, or restored with
	// the store, comes back.
	os.WriteFile(cache, prepared, 0o600)
	if res := dry(); strings.Contains(res, "R-new") {
		t.Errorf("the dry run used the copy prepared before the restore:\n%s", res)
	}
}
