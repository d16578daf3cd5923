package match_test

import (
	"bytes"
	"encoding/csv"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/synth"
)

// hardCases writes a synthetic registry of people and labelled queries
// against it (synth.Queries: half about registered people, with nicknames,
// transliterations, typos, moved addresses…; half about people who are not
// registered, most of them near misses: unregistered twins, siblings,
// parents, namesakes).
func hardCases(t testing.TB, people, queries int) ([]custodian.Record, []match.Labelled) {
	t.Helper()
	var reg, qs bytes.Buffer
	if _, err := synth.Registry(synth.Options{People: people, Seed: 11}, &reg); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Queries(bytes.NewReader(reg.Bytes()), synth.QueryOptions{Queries: queries, Seed: 12}, &qs); err != nil {
		t.Fatal(err)
	}
	return readRows(t, reg.Bytes(), func(h map[string]int, row []string) (custodian.Record, match.Labelled) {
			v := map[string]string{}
			for _, c := range synth.Columns() {
				v[c] = row[h[c]]
			}
			return custodian.Record{ID: row[h["record_id"]], Values: v}, match.Labelled{}
		}).recs,
		readRows(t, qs.Bytes(), func(h map[string]int, row []string) (custodian.Record, match.Labelled) {
			v := map[string]string{}
			for _, c := range []string{"first_name", "middle_name", "last_name", "suffix", "dob", "sex", "street", "city", "state", "zip"} {
				if x := row[h[c]]; x != "" {
					v[c] = x
				}
			}
			return custodian.Record{}, match.Labelled{Subject: v, Truth: row[h["truth_record_id"]], Kind: row[h["kind"]]}
		}).labelled
}

type rows struct {
	recs     []custodian.Record
	labelled []match.Labelled
}

func readRows(t testing.TB, data []byte, fn func(map[string]int, []string) (custodian.Record, match.Labelled)) rows {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]int{}
	for i, c := range all[0] {
		h[c] = i
	}
	var out rows
	for _, row := range all[1:] {
		r, l := fn(h, row)
		if r.ID != "" {
			out.recs = append(out.recs, r)
		} else {
			out.labelled = append(out.labelled, l)
		}
	}
	return out
}

// complete reports whether a query carries name, date of birth and
// address: the queries the recall target is about.
func complete(q match.Labelled) bool {
	s := q.Subject
	return s["first_name"] != "" && s["last_name"] != "" && s["dob"] != "" && s["street"] != "" && s["zip"] != ""
}

// The standard on the hard-case set. The targets are a
// false-release rate of at most 0.05 % while verifying at least 97 % of the
// queries about registered people that carry name, date of birth and
// address; docs/BENCHMARKS.md gives where they stand. The test holds what
// is met so far, so that it cannot regress: no query is ever verified to
// another registered person, no unregistered twin is verified, and a rule
// that requires the address to agree keeps the false-release rate under
// 0.05 %. CUSTODIAN_HARDCASE_PEOPLE and _QUERIES scale it up (defaults
// 20,000 and 20,000).
func TestHardCases(t *testing.T) {
	people, queries := envInt("CUSTODIAN_HARDCASE_PEOPLE", 20_000), envInt("CUSTODIAN_HARDCASE_QUERIES", 20_000)
	reg, qs := hardCases(t, people, queries)
	for _, c := range []struct {
		name string
		rule match.Rule
	}{
		{"default standard (first name, last name, dob must agree)", match.Rule{}},
		{"tax-law rule (and the address)", match.Rule{Require: []string{"first_name", "last_name", "dob", "address"}}},
	} {
		all, kinds, ds := match.Evaluate(t, reg, qs, c.rule, match.SameID)
		var full match.EvalStats // under the same model as all
		for i, q := range qs {
			if q.Truth != "" && complete(q) {
				full.Add(q, ds[i])
			}
		}
		t.Logf("%s, %d people: %s", c.name, people, all)
		t.Logf("  registered queries with name, dob and address: recall %.4f (%d of %d)", full.Recall(), full.Right(), full.Registered())
		names := make([]string, 0, len(kinds))
		for k := range kinds {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			t.Logf("  %-20s %s", k, kinds[k])
		}
		if all.WrongRecord() > 0 {
			t.Errorf("%s: %d queries verified to another registered person", c.name, all.WrongRecord())
		}
		if tw := kinds["twin_unregistered"]; tw != nil && tw.Releases() > 0 {
			t.Errorf("%s: %d unregistered twins verified to their registered twin", c.name, tw.Releases())
		}
		if rate := all.FalseRelease(); slices.Contains(c.rule.Require, "address") && rate > 0.0005 {
			t.Errorf("%s: false-release rate %.4f%% is over 0.05%%", c.name, 100*rate)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func BenchmarkHardCases(b *testing.B) {
	reg, qs := hardCases(b, 20_000, 20_000)
	for b.Loop() {
		all, _, _ := match.Evaluate(b, reg, qs, match.Rule{}, match.SameID)
		b.ReportMetric(100*all.FalseRelease(), "false-release-%")
		b.ReportMetric(all.Recall(), "recall")
	}
}

// A model trained on the registry alone (no sample queries, as the demo
// and a new deployment have it) still verifies plain queries and releases
// no near miss: EM's estimates from a registry without duplicates are
// implausible, and the stated priors stand in for them.
func TestRegistryOnlyModel(t *testing.T) {
	reg, qs := hardCases(t, 20_000, 10_000)
	g, fs, m := trainedOn(t, reg)
	if len(m.Training.MFromPrior) == 0 {
		t.Error("no comparison fell back to its prior")
	}
	all, kinds := &match.EvalStats{}, map[string]*match.EvalStats{}
	for _, q := range qs {
		d := fs.Match(g, q.Subject)
		all.Add(q, d)
		if kinds[q.Kind] == nil {
			kinds[q.Kind] = &match.EvalStats{}
		}
		kinds[q.Kind].Add(q, d)
	}
	t.Logf("registry-only model: %s", all)
	if r := kinds["exact"].Recall(); r < 0.98 {
		t.Errorf("exact queries: recall %.4f, want at least 0.98", r)
	}
	if all.WrongRecord() > 0 || all.FalseRelease() > 0.0005 {
		t.Errorf("false releases: %s", all)
	}
}

// Registered twins at one address: a given name of its own that is only
// close to one twin's (Ola, a short form of Aleksandra, is a letter from
// Olga) verifies nobody; each twin's own name, a nickname the table knows
// and a misspelling nobody bears each verify the right twin.
func TestRegisteredTwinsNeedTheirOwnName(t *testing.T) {
	reg, _ := hardCases(t, 2000, 0)
	twin := func(id, first string) custodian.Record {
		return custodian.Record{ID: id, Values: map[string]string{"first_name": first, "last_name": "Kowalska", "dob": "1999-12-03",
			"sex": "F", "street": "95915 Madison St", "city": "Pittsburgh", "state": "PA", "zip": "15223"}}
	}
	g, f, _ := trainedOn(t, append(reg, twin("TA", "Aleksandra"), twin("TO", "Olga")))
	for first, want := range map[string]string{"Ola": "", "Aleksandra": "TA", "Olga": "TO", "Aleksamdra": "TA", "Olha": "TO"} {
		q := maps.Clone(twin("", first).Values)
		d := f.Match(g, q)
		if d.RecordID != want {
			t.Errorf("%s: %s %q, want %q", first, d.Outcome, d.RecordID, want)
		}
	}
}

// An unregistered twin whose given name is a letter from the registered
// twin's, and borne by nobody else in the registry, is not taken for a
// misspelling of it: at one address with one surname and one date of
// birth, the given name must agree as a near spelling (Jaro-Winkler 0.92)
// or a known variant.
func TestUnregisteredTwinWithACloseName(t *testing.T) {
	reg, _ := hardCases(t, 2000, 0)
	person := func(id, first, last, sex string) custodian.Record {
		return custodian.Record{ID: id, Values: map[string]string{"first_name": first, "last_name": last, "dob": "1999-12-03",
			"sex": sex, "street": "15915 Madison St", "city": "Pittsburgh", "state": "PA", "zip": "15220"}}
	}
	for _, c := range []struct{ registered, query, last, sex string }{
		{"Ivana", "Ivona", "Kowalska", "F"}, {"Jana", "Dana", "Kowalska", "F"}, {"Zorana", "Zorina", "Kowalska", "F"},
		// One letter apart, and each is somebody's name.
		{"Nadia", "Nadja", "Kowalska", "F"}, {"Kara", "Lara", "Kowalska", "F"}, {"Sean", "Dean", "Kowalski", "M"},
		// The review's pairs: rhyming names one key apart, which no list
		// holds in full (faker's first names, 2026-11-23).
		{"Lyla", "Kyla", "Kowalska", "F"}, {"Thea", "Rhea", "Kowalska", "F"}, {"Grant", "Brant", "Kowalski", "M"},
		{"Dale", "Cale", "Kowalski", "M"}, {"Rod", "Tod", "Kowalski", "M"}, {"Bella", "Vella", "Kowalska", "F"},
		{"Nikki", "Mikki", "Kowalska", "F"}, {"Noelle", "Joelle", "Kowalska", "F"}, {"Marlee", "Karlee", "Kowalska", "F"},
		{"Jacey", "Macey", "Kowalska", "F"}, {"Ricky", "Rocky", "Kowalski", "M"}, {"Gilbert", "Hilbert", "Kowalski", "M"},
		{"Sonja", "Sinja", "Kowalska", "F"}, {"Sabina", "Savina", "Kowalska", "F"}, {"Bernice", "Vernice", "Kowalska", "F"},
		{"Jason", "Jadon", "Kowalski", "M"}, {"Leon", "Keon", "Kowalski", "M"}, {"Celine", "Feline", "Kowalska", "F"},
		{"Karla", "Marla", "Kowalska", "F"}, {"Makayla", "Jakayla", "Kowalska", "F"}, {"Harrison", "Garrison", "Kowalski", "M"},
		{"Karla", "Kara", "Kowalska", "F"}, {"Marian", "Maria", "Kowalska", "F"},
		// Chinese and Korean names one syllable apart.
		{"Haiquan", "Haichuan", "Wang", "M"}, {"Mingzhe", "Mingche", "Wang", "M"}, {"Dengfei", "Tengfei", "Wang", "M"},
		{"Weidao", "Weitao", "Wang", "M"}, {"Weigang", "Weikang", "Wang", "M"}, {"Haidong", "Haitong", "Wang", "M"},
		{"Seoyeon", "Soyeon", "Kim", "F"}, {"Seohee", "Sohee", "Kim", "F"}, {"Yeongho", "Yongho", "Kim", "M"},
		{"Seongmin", "Songmin", "Kim", "M"}, {"Yeojin", "Yojin", "Kim", "F"}, {"Seoyoung", "Soyoung", "Kim", "F"},
		{"Yeongjun", "Yongjun", "Kim", "M"}, {"Haijuan", "Haichuan", "Wang", ""}, {"Jiaqi", "Jiachi", "Wang", "F"},
		{"Zhiqi", "Zhichi", "Wang", "M"}, {"Mingzhao", "Mingchao", "Wang", "M"}, {"Haizhao", "Haichao", "Wang", "M"},
		// A short form that is a name of its own.
		{"Nina", "Antonina", "Kowalska", "F"}, {"Mila", "Camila", "Kowalska", "F"}, {"Annette", "Anne", "Kowalska", "F"},
		{"Anne", "Annette", "Kowalska", "F"}, {"Jeannette", "Jeanne", "Kowalska", "F"}, {"Lena", "Eleni", "Kowalska", "F"},
		{"Mira", "Mirjana", "Kowalska", "F"}, {"Jens", "Johannes", "Kowalski", "M"}, {"Sander", "Alexander", "Kowalski", "M"},
		{"Maja", "Maria", "Kowalska", "F"}, {"Marieke", "Maria", "Kowalska", "F"}, {"Mara", "Marija", "Kowalska", "F"},
		{"Malena", "Magdalena", "Kowalska", "F"}, {"Lula", "Luis", "Kowalski", ""},
		// Names that split into syllables.
		{"Tina", "Dina", "Kowalska", "F"}, {"Mila", "Mira", "Kowalska", "F"}, {"Nola", "Nora", "Kowalska", "F"},
		{"Dara", "Tara", "Kowalska", "F"}, {"Rina", "Lina", "Kowalska", "F"}, {"Arina", "Alina", "Kowalska", "F"},
		{"Tiana", "Diana", "Kowalska", "F"}, {"Rana", "Lana", "Kowalska", "F"}, {"Miran", "Milan", "Kowalski", "M"},
		{"Lee", "Leo", "Kowalski", "M"}, {"Dalia", "Daria", "Kowalska", "F"}, {"Karina", "Galina", "Kowalska", "F"},
		{"Lida", "Rita", "Kowalska", "F"},
	} {
		g, f, _ := trainedOn(t, append(slices.Clone(reg), person("R", c.registered, c.last, c.sex)))
		if d := f.Match(g, maps.Clone(person("", c.query, c.last, c.sex).Values)); d.Outcome == custodian.Verified {
			t.Errorf("%s %s (unregistered) verified to %s", c.query, c.last, c.registered)
		}
	}
	// A typing slip that is nobody's name is the subject herself.
	for _, c := range []struct{ registered, query string }{
		{"Ivana", "Ivaan"}, {"Ivana", "Ivvana"}, {"Zorana", "Zoarna"}, {"Zorana", "Zoranna"},
	} {
		g, f, _ := trainedOn(t, append(slices.Clone(reg), person("R", c.registered, "Kowalska", "F")))
		if d := f.Match(g, maps.Clone(person("", c.query, "Kowalska", "F").Values)); d.Outcome != custodian.Verified || d.RecordID != "R" {
			t.Errorf("%s (a slip for %s): %s %q, want verified", c.query, c.registered, d.Outcome, d.RecordID)
		}
	}
}

// trainedOn prepares a registry, trains a model on it alone and returns
// the default standard under that model, and the model.
func trainedOn(t *testing.T, reg []custodian.Record) (*match.Registry, *match.FS, *match.Model) {
	t.Helper()
	g := match.NewRegistry()
	if err := g.AddAll(reg); err != nil {
		t.Fatal(err)
	}
	m, err := match.Train(g, nil, match.TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := match.NewFS(m, match.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	return g, f, m
}
