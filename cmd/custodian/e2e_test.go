package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects a server's logs while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cli runs one verb through run() and returns its standard output.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, stdio{strings.NewReader(""), &out, &errb})
	return out.String(), err
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, args...)
	if err != nil {
		t.Fatalf("custodian %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// deployment is a test deployment with a registry, the demo policy, agencies
// in each demo group, a reviewer and an admin.
type testDeployment struct {
	dir   string
	keys  map[string]string // agency id → key
	staff string            // reviewer key
	admin string
}

func newDeployment(t *testing.T) *testDeployment {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	// A purpose that needs a warrant or court order, as one state's statute
	// requires for immigration-related requests.
	cfgPath := filepath.Join(dir, "custodian.json")
	raw, _ := os.ReadFile(cfgPath)
	var cfg map[string]any
	json.Unmarshal(raw, &cfg)
	cfg["purposes"] = []map[string]any{{"id": "immigration-1", "title": "Immigration enforcement", "legal_basis": []string{"warrant", "court_order"}}}
	raw, _ = json.Marshal(cfg)
	os.WriteFile(cfgPath, raw, 0o644)

	mustCLI(t, "import", "--data", dir, "testdata/registry.csv")
	mustCLI(t, "match", "train", "--data", dir)
	mustCLI(t, "policy", "apply", "--data", dir, "demo.cedar")
	d := &testDeployment{dir: dir, keys: map[string]string{}}
	for _, a := range [][2]string{{"police-1", "in-state-police"}, {"police-2", "in-state-police"}, {"court-1", "courts"},
		{"fed-1", "federal-immigration"}, {"ins-1", "insurers"}} {
		d.keys[a[0]] = lastLine(mustCLI(t, "agency", "add", "--data", dir, "--id", a[0], "--name", "Agency "+a[0], "--group", a[1]))
	}
	d.staff = lastLine(mustCLI(t, "staff", "add", "--data", dir, "--name", "rita", "--role", "reviewer"))
	d.admin = lastLine(mustCLI(t, "staff", "add", "--data", dir, "--name", "adam", "--role", "admin"))
	return d
}

// serveTest starts `custodian serve` on port 0 and returns its base URL and logs.
func serveTest(t *testing.T, dir string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, func(string) string { return "" }, stdio{strings.NewReader(""), pw, logs})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("serve did not start: %v; logs:\n%s", err, logs)
	}
	go io.Copy(io.Discard, pr)
	fields := strings.Fields(line)
	base := fields[len(fields)-1]
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return base, logs
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, url, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func lookupBody(purpose string, subject map[string]string, fields ...string) string {
	b, _ := json.Marshal(map[string]any{"purpose": purpose, "subject": subject, "fields": fields})
	return string(b)
}

var marisol = map[string]string{"first_name": "Marisol", "last_name": "Quintero Vidal", "dob": "1984-03-12"}

func TestLookupEndToEnd(t *testing.T) {
	d := newDeployment(t)
	base, logs := serveTest(t, d.dir)
	police := d.keys["police-1"]

	// Identity released with the registry's exact values, contact held for
	// review, the photo never leaves.
	r := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-1", marisol, "first_name", "last_name", "license_number", "street", "city", "photo"))
	if r.status != 201 {
		t.Fatalf("lookup: %d %s", r.status, r.raw)
	}
	if r.body["outcome"] != "verified" || r.body["status"] != "pending_review" {
		t.Fatalf("outcome/status = %v/%v", r.body["outcome"], r.body["status"])
	}
	fields := r.body["fields"].(map[string]any)
	want := map[string]any{"first_name": "Marisol", "last_name": "Quintero Vidal", "license_number": "D10000001"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Errorf("released %v, want %v", fields, want)
	}
	if fmt.Sprint(r.body["pending"]) != "[street city]" {
		t.Errorf("pending = %v", r.body["pending"])
	}
	photo := r.body["withheld"].(map[string]any)["photo"].(map[string]any)
	if fmt.Sprint(photo["rules"]) != "[photo-never-leaves]" {
		t.Errorf("photo withheld by %v", photo["rules"])
	}
	id := r.body["id"].(string)
	if _, ok := r.body["log_index"].(float64); !ok {
		t.Errorf("no log_index in %s", r.raw)
	}

	// Another agency cannot see it; the asker can.
	if g := call(t, "GET", base+"/v1/lookups/"+id, d.keys["police-2"], ""); g.status != 404 {
		t.Errorf("other agency GET = %d", g.status)
	}
	if g := call(t, "GET", base+"/v1/lookups/"+id, police, ""); g.status != 200 || g.body["fields"].(map[string]any)["street"] != nil {
		t.Errorf("GET before review = %d %s", g.status, g.raw)
	}

	// A reviewer approves the street and denies the city; only then does
	// the street appear.
	q := call(t, "GET", base+"/v1/admin/reviews", d.staff, "")
	if q.status != 200 || len(q.body["reviews"].([]any)) != 2 {
		t.Fatalf("review queue: %d %s", q.status, q.raw)
	}
	if a := call(t, "POST", base+"/v1/admin/reviews/"+id+"/street", d.staff, `{"decision":"approve","reason":"case 24-118 confirmed"}`); a.status != 200 {
		t.Fatalf("approve: %d %s", a.status, a.raw)
	}
	if a := call(t, "POST", base+"/v1/admin/reviews/"+id+"/street", d.staff, `{"decision":"approve","reason":"again"}`); a.status != 409 {
		t.Errorf("second approval = %d", a.status)
	}
	if a := call(t, "POST", base+"/v1/admin/reviews/"+id+"/city", d.staff, `{"decision":"deny","reason":"not needed"}`); a.status != 200 {
		t.Fatalf("deny: %d %s", a.status, a.raw)
	}
	if a := call(t, "POST", base+"/v1/admin/reviews/"+id+"/city", police, `{"decision":"approve","reason":"x"}`); a.status != 401 {
		t.Errorf("agency key on admin API = %d", a.status)
	}
	g := call(t, "GET", base+"/v1/lookups/"+id, police, "")
	got := g.body["fields"].(map[string]any)
	if got["street"] != "418 Larkspur Ave" || got["city"] != nil || g.body["status"] != "released" {
		t.Errorf("after review: %s", g.raw)
	}

	// A blocked group gets nothing, even for fields its policy would allow.
	mustCLI(t, "block", "add", "--data", d.dir, "--kind", "group", "--target", "federal-immigration", "--order", "Court order 26-CV-1")
	f := call(t, "POST", base+"/v1/lookups", d.keys["fed-1"], lookupBody("dppa-1", marisol, "first_name"))
	if f.status != 201 || f.body["status"] != "denied" || len(f.body["fields"].(map[string]any)) != 0 {
		t.Errorf("blocked group: %s", f.raw)
	}
	if !strings.Contains(f.raw, "Court order 26-CV-1") {
		t.Errorf("block reason missing: %s", f.raw)
	}
	// Blocking a field stops it for everyone from the next request on.
	mustCLI(t, "block", "add", "--data", d.dir, "--kind", "field", "--target", "last_name", "--order", "EO-7")
	b := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-1", marisol, "first_name", "last_name"))
	if _, ok := b.body["fields"].(map[string]any)["last_name"]; ok || b.body["fields"].(map[string]any)["first_name"] != "Marisol" {
		t.Errorf("field block: %s", b.raw)
	}

	// Default deny: no rule permits dppa-2 to police.
	dd := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-2", marisol, "first_name"))
	if dd.body["status"] != "denied" || len(dd.body["fields"].(map[string]any)) != 0 {
		t.Errorf("default deny: %s", dd.raw)
	}

	// Namesakes (same name and date of birth) are ambiguous: nothing released.
	amb := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-1", map[string]string{"first_name": "Samir", "last_name": "Haddad", "dob": "1969-12-01"}, "first_name"))
	if amb.body["outcome"] != "ambiguous" || amb.body["status"] != "withheld" || len(amb.body["fields"].(map[string]any)) != 0 {
		t.Errorf("namesakes: %s", amb.raw)
	}
	// Diacritics and case do not stop a match; a missing person is no_match.
	nm := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-1", map[string]string{"first_name": "thanh", "last_name": "NGUYEN", "dob": "1991-11-02"}, "first_name"))
	if nm.body["outcome"] != "verified" || nm.body["fields"].(map[string]any)["first_name"] != "Thanh" {
		t.Errorf("normalised match: %s", nm.raw)
	}
	no := call(t, "POST", base+"/v1/lookups", police, lookupBody("dppa-1", map[string]string{"first_name": "Nobody", "last_name": "Here", "dob": "1970-01-01"}, "first_name"))
	if no.body["outcome"] != "no_match" || no.body["status"] != "withheld" {
		t.Errorf("no match: %s", no.raw)
	}

	// Personal data never reaches the logs.
	time.Sleep(600 * time.Millisecond)
	text := logs.String()
	for _, name := range []string{"Marisol", "Quintero", "Larkspur", "Haddad", "1984-03-12", "D10000001", "Nguy", "thanh"} {
		if strings.Contains(text, name) {
			t.Errorf("logs contain personal data %q", name)
		}
	}
	if !strings.Contains(text, `"msg":"lookup"`) {
		t.Errorf("no lookup log lines: %s", text)
	}

	// An agency added while the server runs can use its key at once.
	late := lastLine(mustCLI(t, "agency", "add", "--data", d.dir, "--id", "police-3", "--name", "Late", "--group", "in-state-police"))
	if r := call(t, "POST", base+"/v1/lookups", late, lookupBody("dppa-1", marisol, "first_name")); r.status != 201 {
		t.Errorf("new agency: %d %s", r.status, r.raw)
	}

	// Metrics and the log's checkpoint are served.
	if m := call(t, "GET", base+"/metrics", "", ""); m.status != 200 || !strings.Contains(m.raw, "custodian_lookups_total") {
		t.Errorf("metrics: %d", m.status)
	}
	if c := call(t, "GET", base+"/log/checkpoint", "", ""); c.status != 200 || !strings.HasPrefix(c.raw, "custodian.local/log\n") {
		t.Errorf("checkpoint: %d %q", c.status, c.raw)
	}
}

func TestLookupRefusals(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	police := d.keys["police-1"]
	mustCLI(t, "agency", "revoke", "--data", d.dir, "--id", "police-2")

	for _, tc := range []struct {
		name, key, body string
		status          int
		field           string
	}{
		{"no key", "", lookupBody("dppa-1", marisol, "first_name"), 401, ""},
		{"bad key", "cus_000000000000_nope", lookupBody("dppa-1", marisol, "first_name"), 401, ""},
		{"garbage key", "hello", lookupBody("dppa-1", marisol, "first_name"), 401, ""},
		{"revoked key", d.keys["police-2"], lookupBody("dppa-1", marisol, "first_name"), 401, ""},
		{"malformed JSON", police, `{"purpose": "dppa-1",`, 400, ""},
		{"not an object", police, `[1,2]`, 400, ""},
		{"trailing data", police, lookupBody("dppa-1", marisol, "first_name") + "{}", 400, ""},
		{"unknown member", police, `{"purpose":"dppa-1","subject":{"first_name":"a"},"fields":["dob"],"extra":1}`, 400, "extra"},
		{"wrong type", police, `{"purpose":1,"subject":{},"fields":[]}`, 400, "purpose"},
		{"unknown purpose", police, lookupBody("dppa-99", marisol, "first_name"), 400, "purpose"},
		{"missing purpose", police, lookupBody("", marisol, "first_name"), 400, "purpose"},
		{"missing legal basis", police, lookupBody("immigration-1", marisol, "first_name"), 400, "legal_basis"},
		{"wrong legal basis kind", police, `{"purpose":"immigration-1","legal_basis":{"kind":"subpoena","reference":"S-1"},"subject":{"first_name":"a","last_name":"b","dob":"1990-01-01"},"fields":["dob"]}`, 400, "legal_basis.kind"},
		{"empty legal basis reference", police, `{"purpose":"dppa-4","legal_basis":{"kind":"warrant","reference":" "},"subject":{"first_name":"a","last_name":"b","dob":"1990-01-01"},"fields":["dob"]}`, 400, "legal_basis.reference"},
		{"bad date", police, lookupBody("dppa-1", map[string]string{"first_name": "a", "last_name": "b", "dob": "12/03/1984"}, "first_name"), 400, "subject.dob"},
		{"impossible date", police, lookupBody("dppa-1", map[string]string{"first_name": "a", "last_name": "b", "dob": "1984-02-30"}, "first_name"), 400, "subject.dob"},
		{"missing identifier", police, lookupBody("dppa-1", map[string]string{"first_name": "a", "dob": "1984-02-03"}, "first_name"), 400, "subject.last_name"},
		{"unknown field", police, lookupBody("dppa-1", marisol, "ssn"), 400, "fields"},
		{"no fields", police, lookupBody("dppa-1", marisol), 400, "fields"},
		{"duplicate field", police, lookupBody("dppa-1", marisol, "dob", "dob"), 400, "fields"},
		{"oversized body", police, `{"purpose":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
		{"oversized value", police, lookupBody("dppa-1", map[string]string{"first_name": strings.Repeat("a", 300), "last_name": "b", "dob": "1984-02-03"}, "first_name"), 400, "subject.first_name"},
		{"hostile field name", police, lookupBody("dppa-1", marisol, "<script>alert(1)</script>"), 400, "fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", base+"/v1/lookups", tc.key, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if r.body["status"] != float64(tc.status) || r.body["type"] == nil || r.body["title"] == nil {
				t.Errorf("not a problem document: %s", r.raw)
			}
			if tc.field != "" && r.body["field"] != tc.field {
				t.Errorf("field = %v, want %s (%s)", r.body["field"], tc.field, r.raw)
			}
			if strings.Contains(r.raw, "<script>") || strings.Contains(r.raw, "Marisol") {
				t.Errorf("problem echoes input: %s", r.raw)
			}
		})
	}
}

// A policy whose forbid errors would fail open in plain Cedar; here the
// field is denied and nothing is released.
func TestErroringPolicyReleasesNothing(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	pol := filepath.Join(t.TempDir(), "p.cedar")
	os.WriteFile(pol, []byte(`@id("all") permit (principal, action == Action::"disclose", resource);
@id("bad-forbid") @reason("overflows (an evaluation error) when no legal basis is given")
forbid (principal, action == Action::"disclose", resource) when { !(context has legal_basis) && 9223372036854775807 + 1 > 0 };
`), 0o644)
	mustCLI(t, "policy", "apply", "--data", d.dir, pol)
	r := call(t, "POST", base+"/v1/lookups", d.keys["police-1"], lookupBody("dppa-1", marisol, "first_name", "dob"))
	if r.status != 201 || r.body["status"] != "denied" || len(r.body["fields"].(map[string]any)) != 0 {
		t.Fatalf("erroring policy released: %s", r.raw)
	}
	// With a legal basis the forbid evaluates cleanly and the permit applies.
	ok := call(t, "POST", base+"/v1/lookups", d.keys["police-1"], `{"purpose":"dppa-1","legal_basis":{"kind":"warrant","reference":"W-1"},"subject":{"first_name":"Marisol","last_name":"Quintero Vidal","dob":"1984-03-12"},"fields":["first_name"]}`)
	if ok.body["fields"].(map[string]any)["first_name"] != "Marisol" {
		t.Errorf("clean evaluation: %s", ok.raw)
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "init", dir)
	// An empty log has a signed checkpoint of size 0 and verifies.
	if out := mustCLI(t, "audit", "checkpoint", "--data", dir); !strings.HasPrefix(out, "custodian.local/log\n0\n") {
		t.Errorf("empty checkpoint: %q", out)
	}
	mustCLI(t, "audit", "verify", "--data", dir)
	_, err := cli(t, "import", "--data", dir, "testdata/bad_line4.csv")
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("import error = %v, want line 4", err)
	}
	if strings.Contains(err.Error(), "1992") {
		t.Errorf("error echoes the value: %v", err)
	}
	out := mustCLI(t, "import", "--data", dir, "testdata/registry.csv")
	if !strings.Contains(out, "imported 10 records") {
		t.Errorf("import: %s", out)
	}
	// Re-import updates in place: still 10 records.
	up := filepath.Join(t.TempDir(), "up.csv")
	os.WriteFile(up, []byte("record_id,street\nR0000001,1 New Rd\n"), 0o644)
	mustCLI(t, "import", "--data", dir, up)
	mustCLI(t, "audit", "verify", "--data", dir)
}

func TestAdminAPIRefusals(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	r := call(t, "POST", base+"/v1/lookups", d.keys["police-1"], lookupBody("dppa-1", marisol, "street"))
	id := r.body["id"].(string)
	for _, tc := range []struct {
		name, method, path, key, body string
		status                        int
		field                         string
	}{
		{"no key", "GET", "/v1/admin/reviews", "", "", 401, ""},
		{"agency key", "GET", "/v1/admin/reviews", d.keys["police-1"], "", 401, ""},
		{"bad state", "GET", "/v1/admin/reviews?state=maybe", d.staff, "", 400, "state"},
		{"bad decision", "POST", "/v1/admin/reviews/" + id + "/street", d.staff, `{"decision":"perhaps","reason":"x"}`, 400, "decision"},
		{"no reason", "POST", "/v1/admin/reviews/" + id + "/street", d.staff, `{"decision":"approve","reason":"  "}`, 400, "reason"},
		{"malformed", "POST", "/v1/admin/reviews/" + id + "/street", d.staff, `{"decision":`, 400, ""},
		{"unknown member", "POST", "/v1/admin/reviews/" + id + "/street", d.staff, `{"decision":"deny","reason":"x","as":"admin"}`, 400, "as"},
		{"oversized", "POST", "/v1/admin/reviews/" + id + "/street", d.staff, `{"reason":"` + strings.Repeat("x", 20<<10) + `"}`, 413, ""},
		{"not held", "POST", "/v1/admin/reviews/" + id + "/first_name", d.staff, `{"decision":"approve","reason":"x"}`, 404, ""},
		{"no such lookup", "POST", "/v1/admin/reviews/lk_nope/street", d.staff, `{"decision":"approve","reason":"x"}`, 404, ""},
		{"reviewer cannot block", "POST", "/v1/admin/blocks", d.staff, `{"kind":"group","target":"courts","order":"O-1"}`, 403, ""},
		{"bad block kind", "POST", "/v1/admin/blocks", d.admin, `{"kind":"person","target":"x","order":"O-1"}`, 400, "kind"},
		{"block without order", "POST", "/v1/admin/blocks", d.admin, `{"kind":"group","target":"courts","order":""}`, 400, "order"},
		{"hostile block target", "POST", "/v1/admin/blocks", d.admin, `{"kind":"group","target":"<b>x</b>","order":"O-1"}`, 400, "target"},
		{"lift unknown", "POST", "/v1/admin/blocks/blk_nope/lift", d.admin, `{"order":"O-2"}`, 404, ""},
		{"unknown route", "GET", "/v1/nothing", "", "", 404, ""},
		{"admin lookup unknown", "GET", "/v1/admin/lookups/lk_nope", d.staff, "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, base+tc.path, tc.key, tc.body)
			if r.status != tc.status || r.body["status"] != float64(tc.status) {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.field != "" && r.body["field"] != tc.field {
				t.Errorf("field %v, want %s", r.body["field"], tc.field)
			}
			if strings.Contains(r.raw, "<b>") {
				t.Errorf("echoes input: %s", r.raw)
			}
		})
	}

	// The admin blocks a group through the API, lists and lifts it; the
	// reviewer sees the lookup with its request and decisions.
	b := call(t, "POST", base+"/v1/admin/blocks", d.admin, `{"kind":"group","target":"courts","order":"Order 9"}`)
	if b.status != 201 {
		t.Fatalf("add block: %s", b.raw)
	}
	if l := call(t, "GET", base+"/v1/admin/blocks", d.staff, ""); !strings.Contains(l.raw, "Order 9") {
		t.Errorf("list: %s", l.raw)
	}
	if l := call(t, "POST", base+"/v1/admin/blocks/"+b.body["id"].(string)+"/lift", d.admin, `{"order":"Order 10"}`); l.status != 200 {
		t.Errorf("lift: %s", l.raw)
	}
	if l := call(t, "GET", base+"/v1/admin/blocks", d.staff, ""); strings.Contains(l.raw, "Order 9") {
		t.Errorf("lifted block still listed as in force: %s", l.raw)
	}
	// A block that arrives while a field waits for review stops its approval.
	call(t, "POST", base+"/v1/admin/blocks", d.admin, `{"kind":"field","target":"street","order":"Order 11"}`)
	if ap := call(t, "POST", base+"/v1/admin/reviews/"+id+"/street", d.staff, `{"decision":"approve","reason":"ok"}`); ap.status != 409 || !strings.Contains(ap.raw, "Order 11") {
		t.Errorf("approval under a block: %d %s", ap.status, ap.raw)
	}
	a := call(t, "GET", base+"/v1/admin/lookups/"+id, d.staff, "")
	if a.status != 200 || a.body["request"] == nil || a.body["decisions"] == nil || a.body["record_id"] != "R0000001" {
		t.Errorf("admin lookup: %s", a.raw)
	}
}
