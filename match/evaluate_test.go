package match

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
)

// febrlRecords reads a FEBRL file (testdata/febrl, BSD-3-Clause) into
// registry records in the custodian's standard columns, leaving out
// soc_sec_id: matching is measured on names, date of birth and address.
func febrlRecords(t testing.TB, path string) []custodian.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	var out []custodian.Record
	for {
		row, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
		dob := get("date_of_birth")
		if len(dob) == 8 {
			dob = dob[:4] + "-" + dob[4:6] + "-" + dob[6:]
		}
		out = append(out, custodian.Record{ID: get("rec_id"), Values: map[string]string{
			"record_id":  get("rec_id"),
			"first_name": get("given_name"),
			"last_name":  get("surname"),
			"street":     strings.TrimSpace(get("street_number") + " " + get("address_1")),
			"city":       get("suburb"),
			"zip":        get("postcode"),
			"state":      get("state"),
			"dob":        dob,
		}})
	}
}

// febrlPerson is the person number of a FEBRL record id (rec-N-org, rec-N-dup-k).
func febrlPerson(id string) string {
	parts := strings.Split(id, "-")
	if len(parts) < 2 {
		return id
	}
	return parts[1]
}

// Labelled is a query with its ground truth: the registry record it is
// about ("" when its person is not in the registry) and its kind of case.
type Labelled struct {
	Subject map[string]string
	Truth   string
	Kind    string
}

// EvalStats scores releases against the truth.
type EvalStats struct {
	queries, registered int
	releases, right     int
	wrong, unwarranted  int // verified to another record / when not registered
	ambiguous, noMatch  int
	blockingLost        int // queries about registered people whose record no blocking key found
}

// Add scores one decision, a record being the truth when its id is.
func (s *EvalStats) Add(q Labelled, d Decision) { s.add(q, d, SameID) }

func (s *EvalStats) add(q Labelled, d Decision, same func(a, b string) bool) {
	s.queries++
	if q.Truth != "" {
		s.registered++
	}
	switch d.Outcome {
	case custodian.Verified:
		s.releases++
		switch {
		case q.Truth == "":
			s.unwarranted++
		case same(d.RecordID, q.Truth):
			s.right++
		default:
			s.wrong++
		}
	case custodian.Ambiguous:
		s.ambiguous++
	default:
		s.noMatch++
	}
}

// falseRelease is (wrong + unwarranted releases) / releases.
func (s *EvalStats) FalseRelease() float64 {
	return float64(s.wrong+s.unwarranted) / float64(max(1, s.releases))
}

// recall is right releases / queries about registered people.
func (s *EvalStats) Recall() float64 { return float64(s.right) / float64(max(1, s.registered)) }

// Right counts queries verified to their own record; Registered, queries
// about registered people.
func (s *EvalStats) Right() int      { return s.right }
func (s *EvalStats) Registered() int { return s.registered }

// Releases counts verified queries.
func (s *EvalStats) Releases() int { return s.releases }

// WrongRecord counts queries about a registered person verified to another.
func (s *EvalStats) WrongRecord() int { return s.wrong }

func (s *EvalStats) String() string {
	return fmt.Sprintf("%d queries (%d registered): %d released (%d right, %d wrong record, %d not registered), %d ambiguous, %d no match; false-release rate %.4f%%, recall %.4f; blocking lost %d",
		s.queries, s.registered, s.releases, s.right, s.wrong, s.unwarranted, s.ambiguous, s.noMatch, 100*s.FalseRelease(), s.Recall(), s.blockingLost)
}

// Evaluate trains on the registry (with the queries as unlabelled sample
// pairs), then decides every query under rule, and scores the releases,
// overall and by kind. It returns the decisions too, in query order, for
// scoring other subsets under the same model.
func Evaluate(t testing.TB, reg []custodian.Record, qs []Labelled, rule Rule, same func(a, b string) bool) (*EvalStats, map[string]*EvalStats, []Decision) {
	t.Helper()
	sample := make([]map[string]string, len(qs))
	for i, q := range qs {
		sample[i] = q.Subject
	}
	g, fs := trainedStandard(t, reg, sample, rule)
	all, byKind := &EvalStats{}, map[string]*EvalStats{}
	var buf []int32
	ds := make([]Decision, len(qs))
	for i, q := range qs {
		d := fs.Match(g, q.Subject)
		ds[i] = d
		lost := false
		if q.Truth != "" {
			// Blocking lost the true record if no candidate is it.
			qp := newPerson(func(id string) string { return q.Subject[id] })
			buf = g.candidates(&qp, buf)
			lost = !slices.ContainsFunc(buf, func(i int32) bool { return same(g.ids[i], q.Truth) })
		}
		all.add(q, d, same)
		k := byKind[q.Kind]
		if k == nil {
			k = &EvalStats{}
			byKind[q.Kind] = k
		}
		k.add(q, d, same)
		if lost {
			all.blockingLost++
			k.blockingLost++
		}
	}
	return all, byKind, ds
}

// trainedStandard prepares a registry, trains a model on it with the
// sample queries, and returns the standard under rule.
func trainedStandard(t testing.TB, reg []custodian.Record, sample []map[string]string, rule Rule) (*Registry, *FS) {
	t.Helper()
	g := NewRegistry()
	if err := g.AddAll(reg); err != nil {
		t.Fatal(err)
	}
	model, err := Train(g, sample, TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFS(model, rule)
	if err != nil {
		t.Fatal(err)
	}
	return g, f
}

func SameID(a, b string) bool { return a == b }

func sameFEBRLPerson(a, b string) bool { return febrlPerson(a) == febrlPerson(b) }

// FEBRL4 without soc_sec_id: dataset4a is the registry, dataset4b the
// queries, each about one registry record. The target is
// precision 1.0000 and recall at least 0.999; the test holds that no
// release is wrong, and reports the recall.
func TestFEBRL4(t *testing.T) {
	start := time.Now()
	reg := febrlRecords(t, "testdata/febrl/dataset4a.csv")
	var qs []Labelled
	for _, r := range febrlRecords(t, "testdata/febrl/dataset4b.csv") {
		qs = append(qs, Labelled{Subject: r.Values, Truth: r.ID, Kind: "febrl"})
	}
	// FEBRL's corruptions include missing and replaced names and dates, so
	// the measure is the weight alone, as for the reference tools: no
	// identifier is required to agree, and a probability over one half
	// suffices (with the margin over the second candidate).
	s, _, _ := Evaluate(t, reg, qs, Rule{Require: []string{}, MinProbability: 0.5}, sameFEBRLPerson)
	t.Logf("FEBRL4 (%v): %s; precision %.4f", time.Since(start).Round(time.Millisecond), s, 1-s.FalseRelease())
	if s.wrong+s.unwarranted > 0 {
		t.Errorf("%d wrong releases", s.wrong+s.unwarranted)
	}
}

// The Splink fake_1000 set (MIT): 1,000 rows in 251 Labelled clusters.
// The first row of every second cluster is the registry; the other rows of
// those clusters are queries about it, and every row of the remaining
// clusters is a query about someone not in the registry.
func TestFake1000(t *testing.T) {
	f, err := os.Open("testdata/splink/fake_1000.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var reg []custodian.Record
	var qs []Labelled
	first := map[string]string{} // cluster → registry record id
	for _, r := range rows[1:] {
		id, cluster := r[0], r[6]
		values := map[string]string{"first_name": r[1], "last_name": r[2], "dob": r[3], "city": r[4]}
		n, _ := strconv.Atoi(cluster)
		if n%2 == 1 {
			qs = append(qs, Labelled{Subject: values, Kind: "not registered"})
			continue
		}
		if _, ok := first[cluster]; !ok {
			first[cluster] = id
			reg = append(reg, custodian.Record{ID: id, Values: values})
			continue
		}
		qs = append(qs, Labelled{Subject: values, Truth: first[cluster], Kind: "registered"})
	}
	for _, rule := range []struct {
		name string
		rule Rule
	}{{"default standard", Rule{}}, {"weight alone", Rule{Require: []string{}, MinProbability: 0.5}}} {
		s, kinds, _ := Evaluate(t, reg, qs, rule.rule, SameID)
		t.Logf("fake_1000, %s: %s", rule.name, s)
		for k, ks := range kinds {
			t.Logf("  %s: %s", k, ks)
		}
		if rule.name == "default standard" && s.wrong+s.unwarranted > 0 {
			t.Errorf("default standard: %d false releases", s.wrong+s.unwarranted)
		}
	}
}

func BenchmarkFEBRL4(b *testing.B) {
	reg := febrlRecords(b, "testdata/febrl/dataset4a.csv")
	var qs []Labelled
	for _, r := range febrlRecords(b, "testdata/febrl/dataset4b.csv") {
		qs = append(qs, Labelled{Subject: r.Values, Truth: r.ID})
	}
	for b.Loop() {
		s, _, _ := Evaluate(b, reg, qs, Rule{Require: []string{}, MinProbability: 0.5}, sameFEBRLPerson)
		b.ReportMetric(1-s.FalseRelease(), "precision")
		b.ReportMetric(s.Recall(), "recall")
	}
}

// The reference figures for FEBRL4 (reclin2: precision 1.0000, recall
// 0.9988) come from linking the two files one to one: each record of one
// file has at most one partner in the other, so a pair can be taken when
// neither side has a better one. A custodian answering one agency's query
// cannot assume that, and the release standard does not. This test puts the
// standard's model to that use, to tell how much of the gap to 0.999 is the
// model and how much the one-to-one assumption: the candidate pairs the
// blocking rules find, best weight first, each record taken once, while
// the weight beats the prior. It releases nothing and is no mode of the
// product; it reports, and holds only that the model is not worse than
// 0.99 precision there.
func TestFEBRL4OneToOne(t *testing.T) {
	reg := febrlRecords(t, "testdata/febrl/dataset4a.csv")
	qrecs := febrlRecords(t, "testdata/febrl/dataset4b.csv")
	sample := make([]map[string]string, len(qrecs))
	for i, r := range qrecs {
		sample[i] = r.Values
	}
	g, f := trainedStandard(t, reg, sample, Rule{Require: []string{}, MinProbability: 0.5})
	model := f.model
	type pair struct {
		w    float64
		q, r int32
	}
	var pairs []pair
	var buf []int32
	for qi, qr := range qrecs {
		qp := newPerson(func(id string) string { return qr.Values[id] })
		buf = g.candidates(&qp, buf)
		for _, ri := range buf {
			rp := g.person(ri)
			s := f.compare(&qp, &rp)
			pairs = append(pairs, pair{s.weight, int32(qi), ri})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		return 0
	})
	logPrior := math.Log2(model.Prior / (1 - model.Prior))
	qTaken, rTaken := map[int32]bool{}, map[int32]bool{}
	linked, right := 0, 0
	for _, p := range pairs {
		if logPrior+p.w <= 0 {
			break
		}
		if qTaken[p.q] || rTaken[p.r] {
			continue
		}
		qTaken[p.q], rTaken[p.r] = true, true
		linked++
		if sameFEBRLPerson(g.ids[p.r], qrecs[p.q].ID) {
			right++
		}
	}
	precision, recall := float64(right)/float64(max(linked, 1)), float64(right)/float64(len(qrecs))
	t.Logf("FEBRL4 linked one to one (not a release standard): %d pairs, %d right; precision %.4f, recall %.4f", linked, right, precision, recall)
	if precision < 0.99 {
		t.Errorf("one-to-one precision %.4f", precision)
	}
}
