package synth_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/synth"
)

// generate writes a registry and reads it back.
func generate(t testing.TB, opts synth.Options) (synth.Summary, []custodian.Record, []byte) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := synth.Registry(opts, &buf)
	if err != nil {
		t.Fatalf("Registry: %v", err)
	}
	r := csv.NewReader(bytes.NewReader(buf.Bytes()))
	rows, err := r.ReadAll() // also checks every row has the header's width
	if err != nil {
		t.Fatalf("read CSV back: %v", err)
	}
	if !slices.Equal(rows[0], synth.Columns()) {
		t.Fatalf("header = %v", rows[0])
	}
	recs := make([]custodian.Record, 0, len(rows)-1)
	for _, row := range rows[1:] {
		v := make(map[string]string, len(row))
		for i, c := range rows[0] {
			v[c] = row[i]
		}
		recs = append(recs, custodian.Record{ID: v["record_id"], Values: v})
	}
	return sum, recs, buf.Bytes()
}

func TestRegistryDeterministic(t *testing.T) {
	_, _, a := generate(t, synth.Options{People: 3000, Seed: 7})
	_, _, b := generate(t, synth.Options{People: 3000, Seed: 7})
	_, _, c := generate(t, synth.Options{People: 3000, Seed: 8})
	if !bytes.Equal(a, b) {
		t.Error("same seed, different registries")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same registry")
	}
}

func TestRegistryRows(t *testing.T) {
	const n = 20_000
	sum, recs, _ := generate(t, synth.Options{People: n, Seed: 1})
	if sum.People != n || len(recs) != n {
		t.Fatalf("Summary.People = %d, rows = %d, want %d", sum.People, len(recs), n)
	}
	var (
		licenceRE = regexp.MustCompile(`^[A-Z][0-9]{8}$`)
		zipRE     = regexp.MustCompile(`^[0-9]{5}$`)
		stateRE   = regexp.MustCompile(`^[A-Z]{2}$`)
		streetRE  = regexp.MustCompile(`^[0-9]+ \S.* \S+`)
		licences  = make(map[string]bool, n)
	)
	for i, r := range recs {
		v := r.Values
		if want := fmt.Sprintf("R%07d", i+1); r.ID != want {
			t.Fatalf("row %d: record_id %q, want %q", i+1, r.ID, want)
		}
		if !licenceRE.MatchString(v["license_number"]) || licences[v["license_number"]] {
			t.Fatalf("%s: licence %q malformed or repeated", r.ID, v["license_number"])
		}
		licences[v["license_number"]] = true
		if v["photo"] != "photo://"+r.ID+".jpg" {
			t.Errorf("%s: photo %q", r.ID, v["photo"])
		}
		d, err := match.ParseDate(v["dob"])
		if err != nil || d.Year() < 1930 || d.Year() > 2008 {
			t.Errorf("%s: dob %q: %v", r.ID, v["dob"], err)
		}
		if s := v["sex"]; s != "M" && s != "F" && s != "X" {
			t.Errorf("%s: sex %q", r.ID, s)
		}
		if !zipRE.MatchString(v["zip"]) || !stateRE.MatchString(v["state"]) || v["city"] == "" || !streetRE.MatchString(v["street"]) {
			t.Errorf("%s: address %q, %q, %q %q", r.ID, v["street"], v["city"], v["state"], v["zip"])
		}
		for _, c := range []string{"first_name", "last_name"} {
			if match.Normalize(v[c]) == "" {
				t.Errorf("%s: empty %s", r.ID, c)
			}
		}
		for c, s := range v {
			if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
				t.Errorf("%s: %s = %q", r.ID, c, s)
			}
		}
	}
}

// The names must look like a diverse population: diacritics, compound and
// particle surnames, hyphens, apostrophes.
func TestRegistryNames(t *testing.T) {
	_, recs, _ := generate(t, synth.Options{People: 20_000, Seed: 2})
	want := map[string]func(first, last string) bool{
		"diacritics": func(f, l string) bool { return hasNonASCII(f) || hasNonASCII(l) },
		"compound surnames": func(f, l string) bool {
			return strings.Count(l, " ") == 1 && !strings.Contains(strings.ToLower(l), "de")
		},
		"particles": func(f, l string) bool {
			return strings.HasPrefix(l, "van ") || strings.HasPrefix(l, "de la ") || strings.HasPrefix(l, "von ")
		},
		"hyphens":     func(f, l string) bool { return strings.Contains(f, "-") || strings.Contains(l, "-") },
		"apostrophes": func(f, l string) bool { return strings.Contains(l, "'") },
		"Nguyễn":      func(f, l string) bool { return l == "Nguyễn" },
		"Müller":      func(f, l string) bool { return l == "Müller" },
		"José":        func(f, l string) bool { return f == "José" },
		"Łukasz":      func(f, l string) bool { return f == "Łukasz" },
	}
	found := map[string]int{}
	for _, r := range recs {
		for name, ok := range want {
			if ok(r.Values["first_name"], r.Values["last_name"]) {
				found[name]++
			}
		}
	}
	for name := range want {
		if found[name] == 0 {
			t.Errorf("no %s among %d people", name, len(recs))
		}
	}
	t.Logf("%v", found)
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

func TestRegistryHardCases(t *testing.T) {
	const n = 20_000
	sum, recs, _ := generate(t, synth.Options{People: n, Seed: 3})
	if sum.Twins != n/200 || sum.JrSr != n/200 || sum.Namesakes != n/200 || sum.Collisions != n/10_000 {
		t.Errorf("planted %+v", sum)
	}
	norm := match.Normalize
	addr := func(v map[string]string) string { return norm(v["street"]) + "|" + v["zip"] }
	group := func(key func(v map[string]string) string) map[string][]custodian.Record {
		m := map[string][]custodian.Record{}
		for _, r := range recs {
			k := key(r.Values)
			m[k] = append(m[k], r)
		}
		return m
	}

	var twinPairs, sameInitial, apart int
	for _, g := range group(func(v map[string]string) string { return norm(v["last_name"]) + "|" + v["dob"] + "|" + addr(v) }) {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				a, b := g[i].Values, g[j].Values
				if a["suffix"] == "" && b["suffix"] == "" && norm(a["first_name"]) != norm(b["first_name"]) {
					twinPairs++
					if a["first_name"][0] == b["first_name"][0] {
						sameInitial++
					}
					if b["record_id"] > a["record_id"] && rowNo(b["record_id"])-rowNo(a["record_id"]) > 1 {
						apart++
					}
				}
			}
		}
	}
	var jrsr int
	for _, g := range group(func(v map[string]string) string {
		return norm(v["first_name"]) + "|" + norm(v["last_name"]) + "|" + addr(v)
	}) {
		for i := range g {
			for j := range g {
				sr, jr := g[i].Values, g[j].Values
				if sr["suffix"] == "Sr." && jr["suffix"] == "Jr." {
					years := yearsBetween(t, sr["dob"], jr["dob"])
					if years < 19 || years > 31 {
						t.Errorf("%s Sr. and %s Jr. are %d years apart", sr["record_id"], jr["record_id"], years)
					}
					jrsr++
				}
			}
		}
	}
	var namesakes, collisions int
	for _, g := range group(func(v map[string]string) string { return norm(v["first_name"]) + "|" + norm(v["last_name"]) }) {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				a, b := g[i].Values, g[j].Values
				switch {
				case addr(a) == addr(b):
				case a["dob"] == b["dob"]:
					collisions++
				default:
					namesakes++
				}
			}
		}
	}
	t.Logf("twins %d (%d same initial, %d not adjacent), jr/sr %d, namesakes %d, collisions %d", twinPairs, sameInitial, apart, jrsr, namesakes, collisions)
	if twinPairs < sum.Twins || sameInitial == 0 || apart == 0 {
		t.Errorf("twins: %d pairs (%d same initial, %d apart), want %d", twinPairs, sameInitial, apart, sum.Twins)
	}
	if jrsr < sum.JrSr {
		t.Errorf("jr/sr: %d pairs, want %d", jrsr, sum.JrSr)
	}
	if namesakes < sum.Namesakes {
		t.Errorf("namesakes: %d pairs, want %d", namesakes, sum.Namesakes)
	}
	if collisions < sum.Collisions {
		t.Errorf("collisions: %d pairs, want %d", collisions, sum.Collisions)
	}
}

func rowNo(id string) int {
	n := 0
	for _, c := range id[1:] {
		n = n*10 + int(c-'0')
	}
	return n
}

func yearsBetween(t *testing.T, a, b string) int {
	da, err1 := match.ParseDate(a)
	db, err2 := match.ParseDate(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("dates %q %q", a, b)
	}
	return int(db.Sub(da).Hours() / 24 / 365.25)
}

// The summary's examples do what they promise under the default standard.
func TestRegistrySummaryExamples(t *testing.T) {
	sum, recs, _ := generate(t, synth.Options{People: 50_000, Seed: 4})
	s, err := match.NewExact(nil)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string][]custodian.Record{}
	for _, r := range recs {
		for _, k := range s.RecordKeys(r) {
			index[k] = append(index[k], r)
		}
	}
	decide := func(r custodian.Record) match.Result {
		q := map[string]string{"first_name": r.Values["first_name"], "last_name": r.Values["last_name"], "dob": r.Values["dob"]}
		keys, err := s.QueryKeys(q)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		var cands []custodian.Record
		for _, k := range keys {
			cands = append(cands, index[k]...)
		}
		return s.Decide(q, cands)
	}
	if len(sum.Sample) < 3 {
		t.Fatalf("Sample has %d records", len(sum.Sample))
	}
	for _, r := range sum.Sample {
		if got := decide(r); got.Outcome != custodian.Verified || got.RecordID != r.ID {
			t.Errorf("sample %s: %+v", r.ID, got)
		}
		if r.Values["suffix"] != "" || len(r.Values) != len(synth.Columns()) {
			t.Errorf("sample %s: %v", r.ID, r.Values)
		}
	}
	if len(sum.Ambiguous) == 0 {
		t.Fatal("no Ambiguous examples")
	}
	for _, r := range sum.Ambiguous {
		if got := decide(r); got.Outcome != custodian.Ambiguous || got.Candidates < 2 {
			t.Errorf("ambiguous %s: %+v", r.ID, got)
		}
	}
}

func TestRegistrySizes(t *testing.T) {
	for _, n := range []int{0, 1, 2, 19, 20, 21, 199} {
		sum, recs, _ := generate(t, synth.Options{People: n, Seed: int64(n)})
		if sum.People != n || len(recs) != n {
			t.Errorf("People %d: summary %d, rows %d", n, sum.People, len(recs))
		}
		if n >= 20 && (sum.Twins == 0 || sum.JrSr == 0 || sum.Namesakes == 0 || sum.Collisions == 0) {
			t.Errorf("People %d: hard cases missing: %+v", n, sum)
		}
	}
	for _, n := range []int{-1, synth.MaxPeople + 1} {
		_, err := synth.Registry(synth.Options{People: n}, io.Discard)
		var ce *custodian.Error
		if !errors.As(err, &ce) || ce.Code != custodian.EInvalid || ce.Field != "people" {
			t.Errorf("People %d: err %v, want EInvalid on people", n, err)
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestRegistryWriteError(t *testing.T) {
	if _, err := synth.Registry(synth.Options{People: 10_000}, &failWriter{after: 100_000}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

func BenchmarkRegistry(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := synth.Registry(synth.Options{People: n, Seed: 1}, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "people/s")
		})
	}
}
