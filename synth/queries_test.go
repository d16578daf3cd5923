package synth

// These tests sit inside the package because a nickname or romanisation
// query can only be checked against the variant tables that made it.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

func writeRegistry(t testing.TB, people int, seed int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Registry(Options{People: people, Seed: seed}, &buf); err != nil {
		t.Fatalf("Registry: %v", err)
	}
	return buf.Bytes()
}

func writeQueries(t testing.TB, registry []byte, n int, seed int64) (QuerySummary, []byte) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Queries(bytes.NewReader(registry), QueryOptions{Queries: n, Seed: seed}, &buf)
	if err != nil {
		t.Fatalf("Queries: %v", err)
	}
	return sum, buf.Bytes()
}

// table reads a CSV into maps by column, checking the header.
func table(t testing.TB, b []byte, header []string) []map[string]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("read CSV: %v", err)
	}
	if !slices.Equal(rows[0], header) {
		t.Fatalf("header = %v, want %v", rows[0], header)
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, row := range rows[1:] {
		v := make(map[string]string, len(row))
		for i, c := range header {
			v[c] = row[i]
		}
		out = append(out, v)
	}
	return out
}

func TestQueriesDeterministic(t *testing.T) {
	reg := writeRegistry(t, 3000, 7)
	_, a := writeQueries(t, reg, 2000, 1)
	_, b := writeQueries(t, reg, 2000, 1)
	_, c := writeQueries(t, reg, 2000, 2)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different queries")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same queries")
	}
}

// nk is the form the tests compare names and streets in.
func nk(s string) string { return strings.ReplaceAll(match.Normalize(s), " ", "") }

// regIndex answers the questions the kind checks ask of the registry.
type regIndex struct {
	byID map[string]map[string]string
	by   map[string][]map[string]string // by a key of named columns
}

func newRegIndex(recs []map[string]string) *regIndex {
	x := &regIndex{byID: map[string]map[string]string{}, by: map[string][]map[string]string{}}
	for _, r := range recs {
		x.byID[r["record_id"]] = r
		for _, cols := range keyCols() {
			k := key(r, cols...)
			x.by[k] = append(x.by[k], r)
		}
	}
	return x
}

func keyCols() [][]string {
	return [][]string{
		{"first_name", "last_name", "dob"},
		{"first_name", "last_name", "dob", "street"},
		{"last_name", "dob", "street"},
		{"dob", "street"},
		{"last_name", "street", "zip"},
		{"first_name", "last_name", "street", "zip"},
		{"first_name", "last_name"},
		{"street", "zip"},
	}
}

func key(v map[string]string, cols ...string) string {
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(c)
		b.WriteByte('=')
		b.WriteString(nk(v[c]))
		b.WriteByte('|')
	}
	return b.String()
}

func (x *regIndex) find(q map[string]string, cols ...string) []map[string]string {
	return x.by[key(q, cols...)]
}

func days(t *testing.T, s string) int {
	t.Helper()
	d, err := match.ParseDate(s)
	if err != nil {
		t.Fatalf("dob %q: %v", s, err)
	}
	return int(d.Unix() / 86400)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// osa is the optimal string alignment distance (edits and adjacent
// transpositions) between two strings, by rune, ignoring case.
func osa(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func germanFold(s string) string {
	return strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue").Replace(s)
}

func inVariants(t map[string][]string, from, to string) bool {
	for _, v := range t[nk(from)] {
		if nk(v) == nk(to) {
			return true
		}
	}
	return false
}

// TestQueriesKinds runs 20,000 queries against 20,000 people and checks
// the mix and, for every kind, the property that defines it.
func TestQueriesKinds(t *testing.T) {
	const people, n = 20_000, 20_000
	reg := writeRegistry(t, people, 11)
	sum, out := writeQueries(t, reg, n, 5)
	recs := table(t, reg, Columns())
	qs := table(t, out, QueryColumns())
	ix := newRegIndex(recs)
	nick := variantTable(nicknames(), true)
	translit := variantTable(transliterations(), false)

	if sum.Queries != n || len(qs) != n {
		t.Fatalf("Summary.Queries = %d, rows = %d, want %d", sum.Queries, len(qs), n)
	}
	specs := kindSpecs()
	registeredKind := map[string]bool{}
	for k, s := range specs {
		registeredKind[s.name] = k < firstUnregistered
	}
	byKind := map[string][]map[string]string{}
	registered, hardTruth := 0, 0
	hard := hardRecords(recs, false)
	for i, q := range qs {
		if want := "q" + strconv.Itoa(1e7 + i + 1)[1:]; q["row_id"] != want {
			t.Fatalf("row %d: row_id %q, want %q", i+1, q["row_id"], want)
		}
		isReg, ok := registeredKind[q["kind"]]
		if !ok {
			t.Fatalf("%s: unknown kind %q", q["row_id"], q["kind"])
		}
		if isReg != (q["truth_record_id"] != "") {
			t.Errorf("%s: kind %s with truth %q", q["row_id"], q["kind"], q["truth_record_id"])
		}
		if q["truth_record_id"] != "" {
			registered++
			if ix.byID[q["truth_record_id"]] == nil {
				t.Errorf("%s: truth %s is not in the registry", q["row_id"], q["truth_record_id"])
			}
			if hard[q["truth_record_id"]] {
				hardTruth++
			}
		}
		if nk(q["first_name"]) == "" || nk(q["last_name"]) == "" || q["dob"] == "" && q["street"] == "" {
			t.Errorf("%s (%s): needs first and last name and a dob or an address: %v", q["row_id"], q["kind"], q)
		}
		if q["dob"] != "" && !validDate(q["dob"]) {
			t.Errorf("%s (%s): dob %q", q["row_id"], q["kind"], q["dob"])
		}
		byKind[q["kind"]] = append(byKind[q["kind"]], q)
	}
	if registered != sum.Registered {
		t.Errorf("Summary.Registered = %d, counted %d", sum.Registered, registered)
	}
	if share := float64(registered) / n; share < 0.47 || share > 0.53 {
		t.Errorf("registered share %.3f, want 0.50 ± 0.03", share)
	}
	var shares []string
	for k, s := range specs {
		got := len(byKind[s.name])
		if got == 0 {
			t.Errorf("no %s queries", s.name)
		}
		if sum.ByKind[s.name] != got {
			t.Errorf("Summary.ByKind[%s] = %d, counted %d", s.name, sum.ByKind[s.name], got)
		}
		half := n / 2
		if k < firstUnregistered {
			half = registered
		}
		shares = append(shares, s.name+" "+strconv.FormatFloat(100*float64(got)/float64(half), 'f', 1, 64)+"%")
	}
	t.Logf("%d queries, %d registered; shares within their half: %s", n, registered, strings.Join(shares, ", "))
	hardBase := float64(len(hard)) / float64(len(recs))
	hardGot := float64(hardTruth) / float64(registered)
	t.Logf("registered queries about a twin, Jr./Sr. or collision record: %.1f%% (%.1f%% of the registry)", 100*hardGot, 100*hardBase)
	if hardGot < hardBase+0.10 {
		t.Errorf("twin, Jr./Sr. and collision records are %.1f%% of registered queries, %.1f%% of the registry: not preferred", 100*hardGot, 100*hardBase)
	}

	same := func(q, r map[string]string, cols ...string) bool {
		for _, c := range cols {
			if nk(q[c]) != nk(r[c]) {
				return false
			}
		}
		return true
	}
	fail := func(q map[string]string, r map[string]string, format string, args ...any) {
		t.Helper()
		t.Errorf("%s (%s): "+format+"\n query %v\n truth %v", append([]any{q["row_id"], q["kind"]}, append(args, q, r)...)...)
	}
	var typos, typoFirstKept int
	for _, q := range qs {
		r := ix.byID[q["truth_record_id"]]
		switch q["kind"] {
		case "exact":
			if !same(q, r, "first_name", "middle_name", "last_name", "suffix", "dob", "sex", "street", "city", "state", "zip") {
				fail(q, r, "not the truth record")
			}
		case "nickname":
			if !same(q, r, "last_name", "dob", "street", "zip") || !inVariants(nick, r["first_name"], q["first_name"]) {
				fail(q, r, "first name is not a nickname of the truth's")
			}
		case "transliteration":
			okFirst := inVariants(translit, r["first_name"], q["first_name"]) && same(q, r, "last_name")
			okLast := inVariants(translit, r["last_name"], q["last_name"]) && same(q, r, "first_name")
			if !same(q, r, "dob", "street") || !okFirst && !okLast {
				fail(q, r, "not a romanisation of the truth's name")
			}
		case "diacritics":
			changed := q["first_name"] != r["first_name"] || q["last_name"] != r["last_name"]
			for _, c := range []string{"first_name", "last_name"} {
				if nk(q[c]) != nk(r[c]) && nk(q[c]) != nk(germanFold(r[c])) {
					changed = false
				}
			}
			if !changed || !same(q, r, "dob", "street") {
				fail(q, r, "names differ from the truth's in more than diacritics, or not at all")
			}
		case "compound_surname":
			st := strings.NewReplacer("saint", "st")
			ql, rl := st.Replace(nk(q["last_name"])), st.Replace(nk(r["last_name"]))
			if !strings.ContainsAny(r["last_name"], " -'") || q["last_name"] == r["last_name"] || !strings.Contains(rl, ql) ||
				!same(q, r, "first_name", "dob", "street") {
				fail(q, r, "last name is not a part or joining of the truth's compound surname")
			}
		case "typo":
			df, dl := osa(q["first_name"], r["first_name"]), osa(q["last_name"], r["last_name"])
			if df+dl != 1 || !same(q, r, "dob", "street") {
				fail(q, r, "not one edit from the truth's names (%d, %d)", df, dl)
			}
			typos++
			c := "first_name"
			if dl == 1 {
				c = "last_name"
			}
			if strings.EqualFold(string([]rune(q[c])[:1]), string([]rune(r[c])[:1])) {
				typoFirstKept++
			}
		case "transposed_dob":
			y, m, d, _ := splitDate(r["dob"])
			if want := formatDate(daysFromCivil(y, d, m)); q["dob"] != want || d == m || !same(q, r, "first_name", "last_name", "street") {
				fail(q, r, "dob is not the truth's with day and month swapped")
			}
		case "dob_typo":
			diff := 0
			for i := range len(r["dob"]) {
				if len(q["dob"]) == len(r["dob"]) && q["dob"][i] != r["dob"][i] {
					diff++
				}
			}
			if diff != 1 || !same(q, r, "first_name", "last_name", "street") {
				fail(q, r, "dob is not one digit from the truth's")
			}
		case "moved":
			if !same(q, r, "first_name", "last_name", "dob") || nk(q["street"]) == nk(r["street"]) || q["zip"] == r["zip"] {
				fail(q, r, "not the truth at a new address")
			}
		case "missing_dob":
			if q["dob"] != "" || !same(q, r, "first_name", "last_name", "street", "zip") {
				fail(q, r, "not the truth without a dob")
			}
		case "missing_address":
			if q["street"] != "" || q["zip"] != "" || !same(q, r, "first_name", "last_name", "dob") {
				fail(q, r, "not the truth without an address")
			}
		default:
			checkUnregistered(t, ix, q, nick)
		}
	}
	if typos == 0 || float64(typoFirstKept)/float64(typos) < 0.5 {
		t.Errorf("%d of %d typos keep the first letter, want at least half", typoFirstKept, typos)
	}
}

// checkUnregistered checks a query about someone not in the registry.
func checkUnregistered(t *testing.T, ix *regIndex, q map[string]string, nick map[string][]string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (%s): "+format+"\n query %v", append([]any{q["row_id"], q["kind"]}, append(args, q)...)...)
	}
	if len(ix.find(q, "first_name", "last_name", "dob", "street")) > 0 {
		fail("a registry record has the same first and last name, dob and street")
	}
	related := func(a, b string) bool {
		return nk(a) == nk(b) || inVariants(nick, a, b) || inVariants(nick, b, a)
	}
	switch q["kind"] {
	case "twin_unregistered":
		if len(ix.find(q, "last_name", "dob", "street")) == 0 {
			fail("no registry record with the same last name, dob and street")
		}
		for _, r := range ix.find(q, "dob", "street") {
			if related(r["first_name"], q["first_name"]) {
				fail("%s at that address with that dob has the same first name", r["record_id"])
			}
		}
	case "sibling":
		found := false
		for _, r := range ix.find(q, "last_name", "street", "zip") {
			d := absInt(days(t, q["dob"]) - days(t, r["dob"]))
			if d >= 366 && d <= 15*366 && !related(r["first_name"], q["first_name"]) {
				found = true
			}
		}
		if !found {
			fail("no registry record at that address with that last name, another first name and a dob 1–15 years apart")
		}
	case "parent_or_child":
		found := false
		for _, r := range ix.find(q, "first_name", "last_name", "street", "zip") {
			delta := days(t, q["dob"]) - days(t, r["dob"])
			if absInt(delta) < 20*365 || absInt(delta) > 35*365+9 || nk(r["middle_name"]) != nk(q["middle_name"]) {
				continue
			}
			switch r["suffix"] {
			case "Jr.":
				found = found || q["suffix"] == "Sr." && delta < 0
			case "Sr.":
				found = found || q["suffix"] == "Jr." && delta > 0
			default:
				found = true
			}
		}
		if !found {
			fail("no registry record of that full name at that address 20–35 years apart (with the opposite suffix)")
		}
	case "namesake":
		if len(ix.find(q, "first_name", "last_name")) == 0 {
			fail("no registry record with the same first and last name")
		}
		if len(ix.find(q, "first_name", "last_name", "dob")) > 0 {
			fail("a registry record has the same first and last name and dob")
		}
	case "same_name_and_dob":
		if len(ix.find(q, "first_name", "last_name", "dob")) == 0 {
			fail("no registry record with the same first and last name and dob")
		}
	case "neighbour":
		found := false
		for _, r := range ix.find(q, "street", "zip") {
			if nk(r["last_name"]) != nk(q["last_name"]) && !related(r["first_name"], q["first_name"]) {
				found = true
			}
		}
		if !found {
			fail("no registry record of another name at that address")
		}
	case "stranger":
		if len(ix.find(q, "first_name", "last_name", "dob")) > 0 {
			fail("a registry record has the same first and last name and dob")
		}
	default:
		fail("unexpected kind")
	}
}

// hardRecords returns the ids of registry records in a hard case: a twin,
// one of a Jr./Sr. pair, a collision (same name and dob) and, when asked,
// a namesake (common names make many by chance).
func hardRecords(recs []map[string]string, namesakes bool) map[string]bool {
	hard := map[string]bool{}
	group := func(cols ...string) map[string][]map[string]string {
		m := map[string][]map[string]string{}
		for _, r := range recs {
			k := key(r, cols...)
			m[k] = append(m[k], r)
		}
		return m
	}
	for _, g := range group("last_name", "dob", "street", "zip") {
		for _, a := range g {
			for _, b := range g {
				if nk(a["first_name"]) != nk(b["first_name"]) {
					hard[a["record_id"]] = true
				}
			}
		}
	}
	for _, g := range group("first_name", "last_name") {
		for _, a := range g {
			for _, b := range g {
				jrsr := a["suffix"] == "Jr." && b["suffix"] == "Sr." || a["suffix"] == "Sr." && b["suffix"] == "Jr."
				if a["record_id"] != b["record_id"] && (jrsr || a["dob"] == b["dob"] || namesakes) {
					hard[a["record_id"]] = true
				}
			}
		}
	}
	return hard
}

func TestQueriesErrors(t *testing.T) {
	reg := writeRegistry(t, 100, 1)
	header, _, _ := bytes.Cut(reg, []byte("\n"))
	lines := bytes.SplitAfter(reg, []byte("\n"))
	for name, c := range map[string]struct {
		registry string
		opts     QueryOptions
		field    string
	}{
		"negative":        {string(reg), QueryOptions{Queries: -1}, "queries"},
		"too many":        {string(reg), QueryOptions{Queries: MaxQueries + 1}, "queries"},
		"empty":           {"", QueryOptions{Queries: 10}, "registry"},
		"wrong header":    {"record_id,first_name,last_name\nR1,A,B\nR2,C,D\n", QueryOptions{Queries: 10}, "registry"},
		"header only":     {string(header) + "\n", QueryOptions{Queries: 10}, "registry"},
		"one row":         {string(lines[0]) + string(lines[1]), QueryOptions{Queries: 10}, "registry"},
		"short row":       {string(lines[0]) + string(lines[1]) + "R9,A,B\n", QueryOptions{Queries: 10}, "registry"},
		"bad dob":         {string(lines[0]) + string(lines[1]) + strings.Replace(string(lines[2]), "-", "/", 2), QueryOptions{Queries: 10}, "registry"},
		"not a CSV quote": {string(lines[0]) + "R1,\"A\"x,B\n", QueryOptions{Queries: 10}, "registry"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Queries(strings.NewReader(c.registry), c.opts, io.Discard)
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid || ce.Field != c.field {
				t.Errorf("err = %v, want EInvalid on %s", err, c.field)
			}
		})
	}
	// Two rows are enough, and zero queries write the header alone.
	var buf bytes.Buffer
	sum, err := Queries(bytes.NewReader(bytes.Join(lines[:3], nil)), QueryOptions{Queries: 0}, &buf)
	if err != nil || sum.Queries != 0 || buf.String() != strings.Join(QueryColumns(), ",")+"\n" {
		t.Errorf("0 queries: %+v, %v, %q", sum, err, buf.String())
	}
	sum, err = Queries(bytes.NewReader(bytes.Join(lines[:3], nil)), QueryOptions{Queries: 500}, io.Discard)
	if err != nil || sum.Queries != 500 {
		t.Errorf("2-row registry: %+v, %v", sum, err)
	}
}

type brokenWriter struct{ after int }

func (w *brokenWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestQueriesWriteError(t *testing.T) {
	reg := writeRegistry(t, 2000, 1)
	if _, err := Queries(bytes.NewReader(reg), QueryOptions{Queries: 50_000}, &brokenWriter{after: 100_000}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

// The variant tables cover the lists' names across cultures.
func TestVariantTables(t *testing.T) {
	nick := variantTable(nicknames(), true)
	translit := variantTable(transliterations(), false)
	withNick := map[string]bool{}
	cults := map[string]bool{}
	for _, c := range cultures() {
		for _, list := range [][]string{c.male, c.female} {
			for _, s := range list {
				if len(nick[nk(s)]) > 0 {
					withNick[nk(s)] = true
					cults[c.name] = true
				}
			}
		}
	}
	if len(withNick) < 150 || len(cults) < 6 {
		t.Errorf("%d given names in %d cultures have nicknames, want 150 in 6", len(withNick), len(cults))
	}
	for _, line := range transliterations() {
		keys := map[string]bool{}
		for _, s := range strings.Split(line, ",") {
			keys[nk(s)] = true
		}
		if len(keys) < 2 {
			t.Errorf("transliteration group %q has one spelling", line)
		}
	}
	if !inVariants(nick, "William", "Bill") || !inVariants(nick, "Bill", "William") || !inVariants(nick, "Hans", "Johannes") ||
		!inVariants(translit, "Mohammed", "Muhammad") || !inVariants(translit, "Wong", "Huang") || inVariants(translit, "Wang", "Huang") {
		t.Error("variant tables do not say what they should")
	}
	for from, want := range map[string][]string{
		"García López": {"García", "López", "García-López"},
		"van der Berg": {"Berg", "Vanderberg"},
		"Smith-Jones":  {"Smith", "Jones", "Smith Jones"},
		"Al-Sayed":     {"Sayed", "Alsayed", "Al Sayed"},
		"O'Brien":      {"OBrien", "O Brien"},
		"St-Pierre":    {"Saint-Pierre", "St Pierre"},
		"Smith":        nil,
	} {
		got := compoundVariants(from)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("compoundVariants(%q) = %q, want %q among them", from, got, w)
			}
		}
		if want == nil && len(got) > 0 {
			t.Errorf("compoundVariants(%q) = %q, want none", from, got)
		}
	}
	for in, want := range map[string]string{"José": "Jose", "Nguyễn": "Nguyen", "Łukasz": "Lukasz", "Weiß": "Weiss", "Đặng": "Dang"} {
		if got := stripDiacritics(in, false); got != want {
			t.Errorf("stripDiacritics(%q) = %q, want %q", in, got, want)
		}
	}
	if got := stripDiacritics("Müller", true); got != "Mueller" {
		t.Errorf("German Müller = %q", got)
	}
}

func BenchmarkQueries(b *testing.B) {
	reg := writeRegistry(b, 100_000, 1)
	const n = 100_000
	for b.Loop() {
		if _, err := Queries(bytes.NewReader(reg), QueryOptions{Queries: n, Seed: 1}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
