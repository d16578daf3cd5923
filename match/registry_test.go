package match

import (
	"fmt"
	"testing"

	"github.com/custodian-project/custodian"
)

// TestCandidatesLeaveOutWideBlocks: a name's sound and a year shared by
// hundreds of records do not bring them all in when a narrower key finds
// the subject, and do when nothing else finds anyone.
func TestCandidatesLeaveOutWideBlocks(t *testing.T) {
	var recs []custodian.Record
	for i := range 600 {
		recs = append(recs, custodian.Record{ID: fmt.Sprint("R", i), Values: map[string]string{
			"first_name": "John", "last_name": "Smith", "dob": fmt.Sprintf("1980-%02d-%02d", 1+i%12, 1+i/12%28),
			"street": fmt.Sprintf("%d Elm Street", i), "zip": fmt.Sprint(10000 + i)}})
	}
	recs = append(recs, custodian.Record{ID: "subject", Values: map[string]string{
		"first_name": "John", "last_name": "Smith", "dob": "1980-06-30", "street": "1 Main Street", "zip": "99999"}})
	g := NewRegistry()
	if err := g.AddAll(recs); err != nil {
		t.Fatal(err)
	}
	count := func(q map[string]string) (int, bool) {
		p := newPerson(func(id string) string { return q[id] })
		found := false
		idx := g.candidates(&p, nil)
		for _, i := range idx {
			found = found || g.ids[i] == "subject"
		}
		return len(idx), found
	}
	subject := map[string]string{"first_name": "John", "last_name": "Smith", "dob": "1980-06-30", "street": "1 Main Street", "zip": "99999"}
	if n, found := count(subject); !found || n > 10 {
		t.Errorf("subject's query: %d candidates (subject found %v), want the subject and few others", n, found)
	}
	// Only wide keys find anyone: the narrowest of them is used.
	if n, _ := count(map[string]string{"first_name": "John", "last_name": "Smith", "dob": "1980-07-31"}); n != 601 {
		t.Errorf("a query only wide keys find: %d candidates, want 601", n)
	}
	g.SetMaxBlock(0)
	if n, found := count(subject); !found || n != 601 {
		t.Errorf("without a limit: %d candidates, want 601", n)
	}
}

// TestBlockingKeysFormat pins the keys' spelling: the store keeps their
// hashes, so a change needs a new BlockingVersion (and re-keys the
// registry).
func TestBlockingKeysFormat(t *testing.T) {
	for _, tt := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{"first_name": "John", "last_name": "Smith", "dob": "1980-06-30", "street": "1 Main St.", "zip": "99999"},
			"[np:JoN|SeMT dz:19800630|99999 di:19800630|s dt:19800630|j ly:SeMT|1980 sa:1|mainstreet dn:19800630|1 fy:JoN|1980 zl:99999|SeMT zf:99999|JoN]"},
		{map[string]string{"first_name": "Anne-Marie", "last_name": "van der Berg", "street": "Flat 2, 14b Rue de la Paix", "zip": "75 002"},
			"[np:BeRG|aNMR sa:2|flat14bruedelapaix zl:75002|BeRG zf:75002|aNMR]"},
		{map[string]string{"first_name": "Li", "last_name": "Wu", "dob": "2001-01-01"}, "[di:20010101|w dt:20010101|l]"},
		{map[string]string{"first_name": "Ann", "last_name": "Lee", "dob": "1990-12-03"}, "[di:19901203|l dt:19900312|a]"},
	} {
		if got := fmt.Sprint(BlockingKeys(custodian.Record{Values: tt.values})); got != tt.want {
			t.Errorf("BlockingKeys(%v) =\n%s, want\n%s", tt.values, got, tt.want)
		}
	}
}

// TestRegistryKeysAreTheSameEachRun: a registry's key hashes do not depend
// on the process, so the rare collision of two keys' hashes falls on the
// same queries in every dry run, and two runs over the same data agree.
func TestRegistryKeysAreTheSameEachRun(t *testing.T) {
	var recs []custodian.Record
	for i := range 300 {
		recs = append(recs, custodian.Record{ID: fmt.Sprint("R", i), Values: map[string]string{
			"first_name": fmt.Sprint("Name", i%17), "last_name": fmt.Sprint("Family", i%23), "dob": fmt.Sprintf("19%02d-%02d-%02d", 40+i%50, 1+i%12, 1+i%28),
			"street": fmt.Sprintf("%d Elm Street", i), "zip": fmt.Sprint(10000 + i%40)}})
	}
	build := func() *Registry {
		g := NewRegistry()
		if err := g.AddAll(recs); err != nil {
			t.Fatal(err)
		}
		g.seal()
		return g
	}
	a, b := build(), build()
	if len(a.keys) == 0 || fmt.Sprint(a.keys) != fmt.Sprint(b.keys) {
		t.Fatal("two registries of the same records have different key hashes")
	}
	// Pinned: a change of the hash changes which keys collide.
	if got := keyHash([]byte("np:JN|SMT")); got != 0xb3b2dd8b6 {
		t.Errorf("keyHash = %#x; the key hash changed (update the pin only on purpose)", got)
	}
}

// candidates keeps each rule's key in an array of maxRules: a rule added
// beyond it would index out of range.
func TestBlockingRulesFit(t *testing.T) {
	if len(blockRules) > maxRules {
		t.Errorf("%d blocking rules, but candidates holds %d", len(blockRules), maxRules)
	}
}
