package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodian-project/custodian/audit"
)

// The log a running server serves under /log/ is verified by tessera's
// client: inclusion of a lookup's entry (at the log_index the agency was
// given) and consistency between two checkpoints.
func TestServedLogVerifiesWithTessera(t *testing.T) {
	d := newDeployment(t)
	base, _ := serveTest(t, d.dir)
	ctx := context.Background()
	vkey, _ := os.ReadFile(filepath.Join(d.dir, "log.pub"))
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base + "/log/")
	f, err := client.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(size uint64) ([]byte, uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			cp, raw, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, verifier, "custodian.local/log")
			if err != nil {
				t.Fatalf("checkpoint: %v", err)
			}
			if cp.Size >= size {
				return raw, cp.Size
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint stuck at %d, want %d", cp.Size, size)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	first := call(t, "POST", base+"/v1/lookups", d.keys["police-1"], lookupBody("dppa-1", marisol, "first_name"))
	idx := uint64(first.body["log_index"].(float64))
	cp1Raw, _ := waitFor(idx + 1)
	tracker, err := client.NewLogStateTracker(ctx, f.ReadTile, cp1Raw, verifier, "custodian.local/log", client.UnilateralConsensus(f.ReadCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := 0; i < 300; i++ { // cross a tile boundary
		r := call(t, "POST", base+"/v1/lookups", d.keys["police-2"], lookupBody("dppa-1", marisol, "last_name"))
		last = uint64(r.body["log_index"].(float64))
	}
	_, size := waitFor(last + 1)
	if _, _, _, err := tracker.Update(ctx); err != nil {
		t.Fatalf("consistency to %d: %v", size, err)
	}
	cp := tracker.Latest()
	pb, err := client.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{idx, last} {
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatalf("proof of %d: %v", i, err)
		}
		bundle, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, i/256, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		body := bundle.Entries[i%256]
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.Size, audit.LeafHash(body), p, cp.Hash); err != nil {
			t.Fatalf("inclusion of %d: %v", i, err)
		}
		e, err := audit.Decode(body)
		if err != nil || e.Kind != "lookup" {
			t.Fatalf("entry %d: %+v %v", i, e, err)
		}
		// The entry names the lookup and holds digests, never the values.
		if strings.Contains(string(e.Data), "Marisol") || strings.Contains(string(e.Data), "Quintero") {
			t.Errorf("entry %d holds personal data: %s", i, e.Data)
		}
	}
	if !strings.Contains(string(mustEntry(t, f, idx, cp.Size)), first.body["id"].(string)) {
		t.Error("the entry at log_index does not name the lookup")
	}
}

func mustEntry(t *testing.T, f *client.HTTPFetcher, i, size uint64) []byte {
	t.Helper()
	b, err := client.GetEntryBundle(context.Background(), f.ReadEntryBundle, i/256, size)
	if err != nil {
		t.Fatal(err)
	}
	return b.Entries[i%256]
}

func TestPolicyAndReviewVerbs(t *testing.T) {
	d := newDeployment(t)
	out := mustCLI(t, "policy", "explain", "--data", d.dir, "--purpose", "dppa-1")
	for _, want := range []string{"dppa-1", "in-state-police", "police-identity", "photo-never-leaves", "review"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	if _, err := cli(t, "policy", "explain", "--data", d.dir, "--purpose", "nope"); err == nil {
		t.Error("explain of an unknown purpose succeeded")
	}
	out = mustCLI(t, "policy", "test", "--data", d.dir, "../../policy/testdata/demo_cases.json")
	if !strings.Contains(out, " 0 failed") {
		t.Errorf("policy test: %s", out)
	}
	bad := filepath.Join(t.TempDir(), "cases.json")
	os.WriteFile(bad, []byte(`[{"name":"wrong on purpose","groups":["in-state-police"],"purpose":"dppa-1","field":"photo","expect":"release"}]`), 0o644)
	if out, err := cli(t, "policy", "test", "--data", d.dir, bad); err == nil || !strings.Contains(out, "FAIL wrong on purpose") {
		t.Errorf("a failing case passed: %v %s", err, out)
	}
	broken := filepath.Join(t.TempDir(), "broken.cedar")
	os.WriteFile(broken, []byte(`permit (principal, action, resource)`), 0o644)
	if _, err := cli(t, "policy", "apply", "--data", d.dir, broken); err == nil {
		t.Error("a broken policy was applied")
	}
	if hist := mustCLI(t, "policy", "history", "--data", d.dir); strings.Count(hist, "\n") != 2 {
		t.Errorf("history after a refused apply:\n%s", hist)
	}

	// Review through the CLI, with the server's API showing the result.
	base, _ := serveTest(t, d.dir)
	r := call(t, "POST", base+"/v1/lookups", d.keys["ins-1"], lookupBody("dppa-6", marisol, "last_name", "dob"))
	if r.body["status"] != "pending_review" {
		t.Fatalf("insurer lookup: %s", r.raw)
	}
	id := r.body["id"].(string)
	if list := mustCLI(t, "review", "list", "--data", d.dir); !strings.Contains(list, id) {
		t.Errorf("queue lacks %s:\n%s", id, list)
	}
	if _, err := cli(t, "review", "approve", "--data", d.dir, "--lookup", id, "--field", "dob"); err == nil {
		t.Error("approval without a reviewer and reason")
	}
	mustCLI(t, "review", "approve", "--data", d.dir, "--lookup", id, "--field", "dob", "--reviewer", "rita", "--reason", "claim 77 verified")
	mustCLI(t, "review", "deny", "--data", d.dir, "--lookup", id, "--field", "last_name", "--reviewer", "rita", "--reason", "not needed for the claim")
	g := call(t, "GET", base+"/v1/lookups/"+id, d.keys["ins-1"], "")
	if g.body["fields"].(map[string]any)["dob"] != "1984-03-12" || g.body["fields"].(map[string]any)["last_name"] != nil || g.body["status"] != "released" {
		t.Errorf("after CLI review: %s", g.raw)
	}
	if !strings.Contains(g.raw, "not needed for the claim") {
		t.Errorf("denial reason not shown: %s", g.raw)
	}
	if o := call(t, "GET", base+"/v1/openapi.json", "", ""); o.status != 200 || o.body["openapi"] != "3.1.0" {
		t.Errorf("openapi: %d", o.status)
	}
	mustCLI(t, "audit", "verify", "--data", d.dir)
}
