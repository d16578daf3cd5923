package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// send makes one request with a raw body and content type, and returns the
// status and the body.
func send(t *testing.T, method, url, key, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// waitBulk polls a job until it leaves queued and running.
func waitBulk(t *testing.T, base, key, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, raw := send(t, "GET", base+"/v1/bulk/"+id, key, "", "")
		var j map[string]any
		json.Unmarshal([]byte(raw), &j)
		if status != 200 {
			t.Fatalf("GET bulk job: %d %s", status, raw)
		}
		if s := j["state"]; s != "queued" && s != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk job still %v: %s", j["state"], raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const bulkFile = "row_id,first_name,last_name,dob,street,zip\n" +
	"a,Marisol,Quintero Vidal,1984-03-12,418 Larkspur Ave,90210\n" +
	"b,Nobody,Unknown,1970-01-01,1 Nowhere,00000\n" +
	"c,Samir,Haddad,1969-12-01,,\n" + // two registered people share name and date of birth
	"d,Oskar,Brückner,1975-13-45,,\n" + // not a date
	"e,\"unterminated,x,1990-01-01,,\n"

func TestBulkEndToEnd(t *testing.T) {
	d := newDeployment(t)
	base, logs := serveTest(t, d.dir)
	police := d.keys["police-1"]

	status, raw := send(t, "POST", base+"/v1/bulk?purpose=dppa-1&fields=first_name,dob,photo", police, "text/csv", bulkFile)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, raw)
	}
	var sub map[string]any
	json.Unmarshal([]byte(raw), &sub)
	id, _ := sub["id"].(string)
	if sub["rows_total"] != float64(5) || id == "" {
		t.Fatalf("submit: %s", raw)
	}
	// Another agency cannot see it.
	if s, _ := send(t, "GET", base+"/v1/bulk/"+id, d.keys["court-1"], "", ""); s != 404 {
		t.Errorf("another agency's GET: %d, want 404", s)
	}
	j := waitBulk(t, base, police, id)
	if j["state"] != "done" {
		t.Fatalf("job: %v", j)
	}

	// The summary.
	status, raw = send(t, "GET", base+"/v1/bulk/"+id+"/result", police, "", "", "Accept", "application/json")
	var sum struct {
		Submitted, Verified, Ambiguous int
		NoMatch                        int   `json:"no_match"`
		Malformed                      []int `json:"malformed_lines"`
		Released                       map[string]int
	}
	if status != 200 || json.Unmarshal([]byte(raw), &sum) != nil {
		t.Fatalf("summary: %d %s", status, raw)
	}
	if sum.Submitted != 5 || sum.Verified != 1 || sum.Ambiguous != 1 || sum.NoMatch != 1 ||
		len(sum.Malformed) != 2 || sum.Malformed[0] != 5 || sum.Released["first_name"] != 1 || sum.Released["photo"] != 0 {
		t.Errorf("summary: %s", raw)
	}

	// The result file.
	status, raw = send(t, "GET", base+"/v1/bulk/"+id+"/result", police, "", "")
	if status != 200 {
		t.Fatalf("result: %d %s", status, raw)
	}
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("result rows: %v %q", err, raw)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[col["row_id"]]] = r
	}
	if r := byID["a"]; r[col["outcome"]] != "verified" || r[col["first_name"]] != "Marisol" || r[col["dob"]] != "1984-03-12" ||
		r[col["photo"]] != "" || !strings.Contains(r[col["withheld"]], "photo:") {
		t.Errorf("verified row: %v", r)
	}
	if r := byID["c"]; r[col["outcome"]] != "ambiguous" || r[col["first_name"]] != "" {
		t.Errorf("ambiguous row: %v", r)
	}
	if r := byID["d"]; r[col["outcome"]] != "malformed" || !strings.Contains(r[col["error"]], "subject.dob") || strings.Contains(raw, "1975-13-45") {
		t.Errorf("malformed row: %v", r)
	}
	if last := rows[len(rows)-1]; last[col["outcome"]] != "malformed" || last[col["line"]] != "6" {
		t.Errorf("unreadable row: %v", last)
	}

	// Contact fields need review: the job is held, and nothing can be read.
	status, raw = send(t, "POST", base+"/v1/bulk?purpose=dppa-1&fields=first_name,street", police, "text/csv", bulkFile)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, raw)
	}
	json.Unmarshal([]byte(raw), &sub)
	held := waitBulk(t, base, police, sub["id"].(string))
	if held["state"] != "awaiting_review" {
		t.Errorf("job with a reviewed field: %v", held["state"])
	}
	if s, body := send(t, "GET", base+"/v1/bulk/"+sub["id"].(string)+"/result", police, "", ""); s != 409 || strings.Contains(body, "Marisol") {
		t.Errorf("result of a held job: %d %s", s, body)
	}
	// Two different reviewers must approve it; then the held fields are released.
	heldID := sub["id"].(string)
	if out := mustCLI(t, "review", "list", "--data", d.dir); !strings.Contains(out, heldID) {
		t.Errorf("review list does not show the held job:\n%s", out)
	}
	if out := mustCLI(t, "review", "approve", "--data", d.dir, "--job", heldID, "--reviewer", "rita", "--reason", "tax match confirmed"); !strings.Contains(out, "awaiting_review") {
		t.Errorf("first approval: %s", out)
	}
	if _, err := cli(t, "review", "approve", "--data", d.dir, "--job", heldID, "--reviewer", "rita", "--reason", "again"); err == nil || !strings.Contains(err.Error(), "different reviewer") {
		t.Errorf("the same reviewer twice: %v", err)
	}
	if s, _ := send(t, "GET", base+"/v1/bulk/"+heldID+"/result", police, "", ""); s != 409 {
		t.Errorf("result after one approval: %d, want 409", s)
	}
	if out := mustCLI(t, "review", "approve", "--data", d.dir, "--job", heldID, "--reviewer", "sam", "--reason", "agreed"); !strings.Contains(out, "done") {
		t.Errorf("second approval: %s", out)
	}
	status, raw = send(t, "GET", base+"/v1/bulk/"+heldID+"/result", police, "", "")
	if status != 200 || !strings.Contains(raw, "418 Larkspur Ave") {
		t.Errorf("result after two approvals: %d %s", status, raw)
	}
	status, raw = send(t, "GET", base+"/v1/bulk/"+heldID+"/result", police, "", "", "Accept", "application/json")
	if !strings.Contains(raw, `"street":1`) {
		t.Errorf("summary after approval: %s", raw)
	}

	// One denial withholds the held fields for good.
	_, raw = send(t, "POST", base+"/v1/bulk?purpose=dppa-1&fields=street", police, "text/csv", bulkFile)
	json.Unmarshal([]byte(raw), &sub)
	denied := sub["id"].(string)
	if j := waitBulk(t, base, police, denied); j["state"] != "awaiting_review" {
		t.Fatalf("second held job: %v", j["state"])
	}
	mustCLI(t, "review", "deny", "--data", d.dir, "--job", denied, "--reviewer", "rita", "--reason", "no tax-law basis")
	status, raw = send(t, "GET", base+"/v1/bulk/"+denied+"/result", police, "", "")
	if status != 200 || strings.Contains(raw, "Larkspur") || !strings.Contains(raw, "denied on review: no tax-law basis") {
		t.Errorf("result after a denial: %d %s", status, raw)
	}

	if strings.Contains(logs.String(), "Marisol") || strings.Contains(logs.String(), "Quintero") {
		t.Error("the server's logs name a registered person")
	}
	mustCLI(t, "audit", "verify", "--data", d.dir)
}

// The agency's client: submit with --wait, then status and result.
func TestBulkClient(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	file := filepath.Join(t.TempDir(), "q.csv")
	os.WriteFile(file, []byte(bulkFile), 0o600)
	key := d.keys["police-1"]
	out := mustCLI(t, "bulk", "submit", "--url", base, "--key", key, "--purpose", "dppa-1", "--fields", "first_name,dob", "--wait", file)
	if !strings.Contains(out, "done") || !strings.Contains(out, `"verified": 1`) {
		t.Fatalf("submit --wait: %s", out)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")
	if st := mustCLI(t, "bulk", "status", "--url", base, "--key", key, id); !strings.Contains(st, "5 of 5 rows") {
		t.Errorf("status: %s", st)
	}
	if res := mustCLI(t, "bulk", "result", "--url", base, "--key", key, id); !strings.Contains(res, "Marisol") {
		t.Errorf("result: %s", res)
	}
	if _, err := cli(t, "bulk", "result", "--url", base, "--key", d.keys["court-1"], id); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("another agency's result: %v", err)
	}
	if _, err := cli(t, "bulk", "status", "--url", base, id); err == nil || !strings.Contains(err.Error(), "API key") {
		t.Errorf("no key: %v", err)
	}
}

func TestBulkRefusals(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	police := d.keys["police-1"]
	for name, c := range map[string]struct {
		query, contentType, body string
		status                   int
		want                     string
	}{
		"not csv":         {"purpose=dppa-1&fields=first_name", "application/json", `{}`, 400, "Content-Type"},
		"unknown purpose": {"purpose=nope&fields=first_name", "text/csv", bulkFile, 400, "purpose"},
		"no fields":       {"purpose=dppa-1", "text/csv", bulkFile, 400, "fields"},
		"unknown field":   {"purpose=dppa-1&fields=ssn", "text/csv", bulkFile, 400, "fields"},
		"legal basis":     {"purpose=immigration-1&fields=first_name", "text/csv", bulkFile, 400, "legal_basis"},
		"empty file":      {"purpose=dppa-1&fields=first_name", "text/csv", "", 400, "empty"},
		"header only":     {"purpose=dppa-1&fields=first_name", "text/csv", "first_name,dob\n", 400, "no rows"},
		"no identifiers":  {"purpose=dppa-1&fields=first_name", "text/csv", "a,b\n1,2\n", 400, "identifier"},
		"duplicate cols":  {"purpose=dppa-1&fields=first_name", "text/csv", "dob,dob\n1,2\n", 400, "twice"},
	} {
		status, raw := send(t, "POST", base+"/v1/bulk?"+c.query, police, c.contentType, c.body)
		if status != c.status || !strings.Contains(raw, c.want) {
			t.Errorf("%s: %d %s, want %d naming %q", name, status, raw, c.status, c.want)
		}
	}
	if s, _ := send(t, "POST", base+"/v1/bulk?purpose=dppa-1&fields=first_name", "", "text/csv", bulkFile); s != 401 {
		t.Errorf("no key: %d, want 401", s)
	}
	if s, _ := send(t, "GET", base+"/v1/bulk/bk_nope", police, "", ""); s != 404 {
		t.Errorf("unknown job: %d, want 404", s)
	}
}

// Staff decide held bulk jobs through the admin API too: the reviewer is
// the staff key's holder, and two different ones must approve.
func TestBulkAdminReview(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	police := d.keys["police-1"]
	_, raw := send(t, "POST", base+"/v1/bulk?purpose=dppa-1&fields=first_name,street", police, "text/csv", bulkFile)
	var sub map[string]any
	json.Unmarshal([]byte(raw), &sub)
	id := sub["id"].(string)
	if j := waitBulk(t, base, police, id); j["state"] != "awaiting_review" {
		t.Fatalf("job: %v", j["state"])
	}
	if s, body := send(t, "GET", base+"/v1/admin/bulk", d.staff, "", ""); s != 200 || !strings.Contains(body, id) {
		t.Errorf("list: %d %s", s, body)
	}
	if s, _ := send(t, "GET", base+"/v1/admin/bulk", police, "", ""); s != 401 && s != 403 {
		t.Errorf("an agency listing staff work: %d", s)
	}
	decide := func(key, decision string) (int, string) {
		return send(t, "POST", base+"/v1/admin/bulk/"+id+"/decision", key, "application/json", `{"decision":"`+decision+`","reason":"checked"}`)
	}
	if s, body := decide(d.staff, "maybe"); s != 400 || !strings.Contains(body, "decision") {
		t.Errorf("bad decision: %d %s", s, body)
	}
	if s, body := decide(d.staff, "approve"); s != 200 || !strings.Contains(body, "awaiting_review") {
		t.Errorf("first approval: %d %s", s, body)
	}
	if s, _ := decide(d.staff, "approve"); s != 409 {
		t.Errorf("the same reviewer twice: %d, want 409", s)
	}
	if s, body := decide(d.admin, "approve"); s != 200 || !strings.Contains(body, `"state":"done"`) {
		t.Errorf("second approval: %d %s", s, body)
	}
	if s, body := send(t, "GET", base+"/v1/bulk/"+id+"/result", police, "", ""); s != 200 || !strings.Contains(body, "418 Larkspur Ave") {
		t.Errorf("result: %d %s", s, body)
	}
}
