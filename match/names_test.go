package match

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

var nameLevelNames = map[int]string{
	nameMissing: "missing", nameExact: "exact", nameVariant: "variant", nameJW92: "jw92",
	namePhonetic: "phonetic", nameJW85: "jw85", nameOneEdit: "one edit", namePart: "part", nameInitial: "initial", nameElse: "else",
}

func levelName(l int) string {
	if s, ok := nameLevelNames[l]; ok {
		return s
	}
	return fmt.Sprintf("level(%d)", l)
}

// nameLevelCases are the pairs the standard's name comparison is held to;
// their names also feed the symmetry test.
var nameLevelCases = []struct {
	q, r string
	want int
}{
	// Exact: the same after normalisation, or only particles, spaces and
	// hyphens differ.
	{"van der berg", "vanderberg", nameExact},
	{"van der berg", "Van Der Berg", nameExact},
	{"Vanderberg", "Van Der Berg", nameExact},
	{"van der berg", "van den berg", nameExact},
	{"nguyễn", "nguyen", nameExact},
	{"Trần", "tran", nameExact},
	{"Smith-Jones", "smith jones", nameExact},
	{"O'Brien", "OBrien", nameExact},
	{"de la Cruz", "Cruz", nameExact},
	{"García y López", "garcia lopez", nameExact},
	{"Müller", "muller", nameExact},
	{"Jürgen", "jurgen", nameExact},
	{"Jørgensen", "jorgensen", nameExact},
	{"Mary Ann", "Maryann", nameExact},
	{"Abdul-Rahman", "abd al-rahman", nameExact},
	{"Abdurrahman", "Abdelrahman", nameExact},
	{"al-Rashid", "Rashid", nameExact},
	{"Le", "le", nameExact},

	// Nicknames and transliteration variants.
	{"william", "bill", nameVariant},
	{"Bill", "William", nameVariant},
	{"jon", "john", nameVariant},
	{"mohammed", "muhammad", nameVariant},
	{"Mohamed", "Mehmet", nameVariant},
	{"aleksandr", "alexander", nameVariant},
	{"Sasha", "Alexander", nameVariant},
	{"José", "Pepe", nameVariant},
	{"francisco", "paco", nameVariant},
	{"Yusuf", "Joseph", nameVariant},
	{"jurgen", "juergen", nameVariant},
	{"mueller", "muller", nameVariant},
	{"Schäfer", "Schaefer", nameVariant},
	{"dmitri", "dimitri", nameVariant},
	{"Volodymyr", "Vladimir", nameVariant},
	{"Abdul", "Abd al", nameVariant},

	// Close spellings.
	{"martha", "marhta", nameJW92},
	{"nguyen", "nguen", nameJW92},
	{"schmidt", "schmitt", nameJW92},
	{"philip", "phillip", nameJW92},
	{"ivanov", "ivanow", nameJW92},
	{"smirnov", "smirnoff", nameVariant},

	// Same phonetic code, Jaro–Winkler below 0.92.
	{"smith", "smyth", namePhonetic},
	{"catherine", "kathryn", nameVariant},
	{"tchaikovsky", "chaykovskiy", namePhonetic},
	{"Tschaikowski", "Czajkowski", nameVariant},
	{"kowalski", "kovalsky", nameVariant},
	{"jorgensen", "joergensen", namePhonetic},
	{"dixon", "dickson", namePhonetic},
	{"geoffrey", "jeffrey", namePhonetic},
	{"stephen", "steven", namePhonetic},
	{"zhukov", "joukov", nameVariant},
	{"kristensen", "christensen", namePhonetic},

	// Jaro–Winkler 0.85 to 0.92 only.
	{"jellyfish", "smellyfish", nameJW85},
	{"katja", "kasja", nameJW85},

	// Compound names.
	{"garcia lopez", "garcia", namePart},
	{"smith-jones", "jones", namePart},
	{"mary", "mary ann", namePart},
	{"Lopez Garcia", "Garcia Lopez", namePart},
	{"van der berg jansen", "berg", namePart},

	// One edit, where Jaro-Winkler is low.
	{"amy", "ame", nameOneEdit},
	{"ann", "nn", nameOneEdit},
	{"luis", "kuis", nameOneEdit},
	{"tao", "ato", nameOneEdit},
	{"lan", "kan", nameOneEdit},

	// Initials.
	{"j", "john", nameInitial},
	{"J.", "John", nameInitial},
	{"J. R.", "John Robert", nameInitial},

	// Different names, including twins' names.
	{"mary", "martha", nameElse},
	{"mary", "myra", nameElse},
	{"william", "robert", nameElse},
	{"john", "nathan", nameElse},
	{"k", "john", nameElse},
	{"li", "lee", nameElse},
	{"bo", "jo", nameElse}, // one edit, but in two letters
	{"Иван", "Ivan", nameElse},
	{"hassan", "hussein", nameElse},

	// Missing.
	{"", "john", nameMissing},
	{"john", "", nameMissing},
	{"", "", nameMissing},
	{"--", "john", nameMissing},
}

func TestNameLevel(t *testing.T) {
	v := loadVariants()
	for _, c := range nameLevelCases {
		t.Run(c.q+"/"+c.r, func(t *testing.T) {
			q, r := newNameInfo(c.q), newNameInfo(c.r)
			if got := nameLevel(&q, &r, v); got != c.want {
				t.Errorf("nameLevel(%q, %q) = %s, want %s (core %q/%q, phonetic %q/%q, jw %.4f)",
					c.q, c.r, levelName(got), levelName(c.want), q.core, r.core, q.phonetic, r.phonetic,
					jaroWinkler(q.core, r.core).float())
			}
		})
	}
}

// TestNameLevelSexPairs writes down what string similarity alone does with
// a male and a female form of one name, the classic twins: Jaro–Winkler
// puts them close, so only the sex comparison can tell them apart. None
// may be an exact match or a variant.
func TestNameLevelSexPairs(t *testing.T) {
	v := loadVariants()
	for _, p := range [][2]string{
		{"maria", "mario"}, {"alexander", "alexandra"}, {"patrick", "patricia"},
		{"francis", "frances"}, {"daniel", "danielle"}, {"louis", "louise"},
		{"andrew", "andrea"}, {"ernest", "ernestine"}, {"william", "wilma"},
	} {
		q, r := newNameInfo(p[0]), newNameInfo(p[1])
		got := nameLevel(&q, &r, v)
		if got <= nameVariant {
			t.Errorf("nameLevel(%q, %q) = %s, want no better than jw92", p[0], p[1], levelName(got))
		}
		t.Logf("%s/%s: %s (jw %.4f)", p[0], p[1], levelName(got), jaroWinkler(q.core, r.core).float())
	}
}

func TestNameLevelGermanUmlautSpellings(t *testing.T) {
	v := loadVariants()
	spellings := []string{"jürgen", "juergen", "jurgen"}
	for _, a := range spellings {
		for _, b := range spellings {
			q, r := newNameInfo(a), newNameInfo(b)
			if got := nameLevel(&q, &r, v); got < 0 || got >= nameElse {
				t.Errorf("nameLevel(%q, %q) = %s, want agreement", a, b, levelName(got))
			}
			// Without the variant table the phonetic code still agrees.
			if got := nameLevel(&q, &r, nil); got < 0 || got > namePhonetic {
				t.Errorf("nameLevel(%q, %q, nil) = %s, want phonetic or better", a, b, levelName(got))
			}
		}
	}
}

func TestNameLevelSymmetric(t *testing.T) {
	v := loadVariants()
	seen := map[string]bool{}
	var infos []nameInfo
	for _, c := range nameLevelCases {
		for _, s := range []string{c.q, c.r} {
			if !seen[s] {
				seen[s] = true
				infos = append(infos, newNameInfo(s))
			}
		}
	}
	for i := range infos {
		for j := range infos {
			a, b := &infos[i], &infos[j]
			ab, ba := nameLevel(a, b, v), nameLevel(b, a, v)
			if ab != ba {
				t.Errorf("nameLevel(%q, %q) = %s but reversed %s", a.norm, b.norm, levelName(ab), levelName(ba))
			}
			if i == j && a.norm != "" && ab != nameExact {
				t.Errorf("nameLevel(%q, itself) = %s", a.norm, levelName(ab))
			}
		}
	}
}

func TestNewNameInfo(t *testing.T) {
	tests := []struct {
		in, norm, core string
		tokens         []string
		initial        byte
	}{
		{"", "", "", nil, 0},
		{"  Van der Berg ", "van der berg", "berg", []string{"van", "der", "berg"}, 'v'},
		{"García López", "garcia lopez", "garcialopez", []string{"garcia", "lopez"}, 'g'},
		{"García y López", "garcia y lopez", "garcialopez", []string{"garcia", "y", "lopez"}, 'g'},
		{"Y. Garcia", "y garcia", "ygarcia", []string{"y", "garcia"}, 'y'},
		{"MacDonald", "macdonald", "macdonald", []string{"macdonald"}, 'm'},
		{"Mac Donald", "mac donald", "macdonald", []string{"mac", "donald"}, 'm'},
		{"D'Angelo", "d angelo", "dangelo", []string{"d", "angelo"}, 'd'},
		{"Le", "le", "le", []string{"le"}, 'l'},
		{"de la", "de la", "dela", []string{"de", "la"}, 'd'},
		{"Ben", "ben", "ben", []string{"ben"}, 'b'},
		{"bin Salem", "bin salem", "salem", []string{"bin", "salem"}, 'b'},
		{"Abd al-Aziz", "abd al aziz", "abdaziz", []string{"abd", "al", "aziz"}, 'a'},
		{"Abdulaziz", "abdulaziz", "abdaziz", []string{"abdulaziz"}, 'a'},
		{"Abdul", "abdul", "abdul", []string{"abdul"}, 'a'},
		{"Иван", "иван", "иван", []string{"иван"}, 0},
		{"3rd", "3rd", "3rd", []string{"3rd"}, 0},
	}
	for _, tt := range tests {
		n := newNameInfo(tt.in)
		if n.norm != tt.norm || n.core != tt.core || n.initial != tt.initial || n.multi != (len(tt.tokens) > 1) || strings.Join(strings.Fields(n.norm), "|") != strings.Join(tt.tokens, "|") {
			t.Errorf("newNameInfo(%q) = norm %q core %q multi %v initial %q; want %q %q %q %q",
				tt.in, n.norm, n.core, n.multi, n.initial, tt.norm, tt.core, tt.tokens, tt.initial)
		}
	}
}

func TestPhoneticCode(t *testing.T) {
	codes := map[string][]string{
		"SeMT":     {"smith", "smyth"},
		"XeMT":     {"schmidt", "schmitt", "schmid"},
		"KaTRN":    {"catherine", "kathryn", "katharina", "cathryn"},
		"MoHMT":    {"mohammed", "muhammad", "mohamed", "mohamad", "mohammad"},
		"NoGN":     {"nguyen", "nguen"},
		"JoRJNSN":  {"jorgensen", "joergensen"},
		"JoRJN":    {"jurgen", "juergen", "jorgen"},
		"MoLR":     {"muller", "mueller"},
		"XaFR":     {"schafer", "schaefer", "shafer"},
		"XaKFSK":   {"tchaikovsky", "chaykovskiy", "tschaikowski", "czajkowski"},
		"aLKSNTR":  {"aleksandr", "alexander"},
		"TeMTR":    {"dmitri", "dmitry", "dimitri"},
		"FaLTMR":   {"vladimir", "wladimir"},
		"HoSN":     {"hussein", "husain", "hossein"},
		"HaSN":     {"hassan", "hasan"},
		"FaTM":     {"fatima", "fatma"},
		"oMR":      {"omar", "umar"},
		"aMR":      {"amir", "ameer"},
		"KaLT":     {"khalid", "khaled"},
		"oSF":      {"yusuf", "youssef", "yousef"},
		"aMT":      {"ahmed", "ahmad"},
		"eKTRN":    {"ekaterina", "yekaterina"},
		"TaTN":     {"tatiana", "tatyana"},
		"SeRJ":     {"sergei", "sergey", "sergej"},
		"KoFLSK":   {"kowalski", "kowalsky", "kovalski"},
		"SeMRNF":   {"smirnov", "smirnoff", "smirnow"},
		"JaML":     {"jamal", "djamel", "dzhamal"},
		"JeFR":     {"geoffrey", "jeffrey"},
		"XoLS":     {"schultz", "schulz"},
		"NeT":      {"knight", "nite"},
		"ReT":      {"wright", "right"},
		"KeRSTFR":  {"christopher", "kristofer"},
		"MaKTNLT":  {"macdonald", "mcdonald"},
		"SeSL":     {"cecilia", "cecelia"},
		"JaN":      {"jane", "jan"},
		"JoN":      {"june", "joan", "john", "juan"},
		"SeTFN":    {"stephen", "steven"},
		"TeKSN":    {"dixon", "dickson"},
		"JoKF":     {"zhukov", "joukov"},
		"KeRSTNSN": {"kristensen", "christensen"},
		"NG":       {"ng"},
		"":         {"", "li", "lee", "wu", "a", "ai", "hugh", "ali", "aisha", "иван", "r2d2"},
	}
	for want, names := range codes {
		for _, s := range names {
			if got := phoneticCode(s); got != want {
				t.Errorf("phoneticCode(%q) = %q, want %q", s, got, want)
			}
		}
	}
}

func TestJaroWinkler(t *testing.T) {
	// Reference values from Winkler (1990) and the usual worked examples.
	tests := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.9611},
		{"dwayne", "duane", 0.8400},
		{"dixon", "dicksonx", 0.8133},
		{"jellyfish", "smellyfish", 0.8963},
		{"crate", "trace", 0.7333},
		{"abcd", "dcba", 0.5},
		{"mary", "myra", 0.7}, // github.com/adrg/strutil: 0.925, its window is one wider
		{"amy", "may", 0.5556},
		{"ali", "lia", 0},
		{"same", "same", 1},
		{"", "x", 0},
		{"", "", 0},
		{"ab", "ba", 0},
		{"a", "a", 1},
		{"jürgen", "jurgen", 0.9}, // runes, not bytes
	}
	for _, tt := range tests {
		got := jaroWinkler(tt.a, tt.b).float()
		if d := got - tt.want; d > 0.00005 || d < -0.00005 {
			t.Errorf("jaroWinkler(%q, %q) = %.4f, want %.4f", tt.a, tt.b, got, tt.want)
		}
		if back := jaroWinkler(tt.b, tt.a); back != jaroWinkler(tt.a, tt.b) {
			t.Errorf("jaroWinkler(%q, %q) is not symmetric", tt.a, tt.b)
		}
	}
	// maria/mario is exactly 0.92: the exact fraction keeps it on the line.
	if s := jaroWinkler("maria", "mario"); !s.atLeast(92) || s.atLeast(93) {
		t.Errorf("jaroWinkler(maria, mario) = %d/%d, want exactly 0.92", s.num, s.den)
	}
	// Longer values are compared on their first jwMaxRunes letters.
	long := strings.Repeat("ab", jwMaxRunes)
	if s := jaroWinkler(long+"x", long+"y"); s.float() != 1 {
		t.Errorf("jaroWinkler on long values = %v, want 1", s.float())
	}
}

func TestVariantTable(t *testing.T) {
	v := loadVariants()
	t.Logf("%d variant groups over %d names", v.n, len(v.groups))
	tests := []struct {
		a, b string
		want bool
	}{
		{"william", "bill", true},
		{"bill", "billy", true},
		{"jon", "john", true},
		{"alexander", "alex", true},
		{"alexandra", "alex", true},
		{"alex", "sandy", false}, // both short for Alexander, but not for each other
		{"rose", "ann", false},   // both short for Rosanne
		{"aleksandr", "sasha", true},
		{"alejandro", "alex", true},
		{"mohammed", "mohd", true},
		{"guadalupe", "lupe", true},
		{"jesus", "chucho", true},
		{"ignacio", "nacho", true},
		{"dolores", "lola", true},
		{"concepcion", "concha", true},
		{"enrique", "quique", true},
		{"manuel", "manolo", true},
		{"tatiana", "tanya", true},
		{"ekaterina", "katya", true},
		{"natalia", "natasha", true},
		{"johann", "hans", true},
		{"josef", "sepp", true},
		{"yuri", "jurij", true},
		{"hussein", "hossein", true},
		{"abdullah", "abd allah", true},

		{"maria", "mario", false},
		{"alexander", "alexandra", false},
		{"alexander", "alejandro", false},
		{"william", "robert", false},
		{"william", "fred", false},
		{"john", "jonathan", false},
		{"john", "nathan", false},
		{"andrew", "andrea", false},
		{"emily", "emma", false},
		{"mary", "rose", false},
		{"patrick", "peter", false},
		{"louis", "louise", false},
		{"hassan", "hussein", false},
		{"huynh", "hoang", false},
		{"vu", "vo", false},
		{"nguyen", "ng", false},
		{"nguyen", "win", false},
		{"yusuf", "sepp", false},
		{"maryam", "maria", false},
		{"nobody", "nobody", false}, // not in the table; equality is nameExact's job
	}
	for _, tt := range tests {
		a, b := variantKey(tt.a), variantKey(tt.b)
		if got := v.match(a, b); got != tt.want {
			t.Errorf("variants %q, %q = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if v.match(a, b) != v.match(b, a) {
			t.Errorf("variants %q, %q is not symmetric", tt.a, tt.b)
		}
	}
	for k, ids := range v.groups {
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				t.Fatalf("groups of %q not ascending: %v", k, ids)
			}
		}
	}
}

func TestBuildVariants(t *testing.T) {
	const nick = "name1,relationship,name2\r\n" +
		"robert,has_nickname,bob\r\n" +
		"robert,has_nickname,rob\r\n" +
		"bob,has_nickname,robert\r\n" +
		"bill,has_nickname,robert\r\n" +
		"william,has_nickname,bill\r\n" +
		"william,has_nickname,will\r\n" +
		"william,has_nickname,liam\r\n" +
		"maria,has_nickname,mario\r\n"
	v, err := buildVariants(nick, "# comment\n\n-maria,mario\nAleksandr, Alexander ,Sasha\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"bob", "robert", true},
		{"bill", "robert", true}, // Bill is a nickname (of William), so its row links a pair
		{"bill", "william", true},
		{"will", "liam", false}, // two nicknames of one name are not each other's variants
		{"bob", "bill", false},
		{"william", "robert", false},
		{"bob", "rob", false},
		{"maria", "mario", false},
		{"alexander", "sasha", true},
		{"aleksandr", "alexander", true},
	}
	for _, tt := range tests {
		if got := v.match(tt.a, tt.b); got != tt.want {
			t.Errorf("variants %q, %q = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}

	for _, bad := range []struct{ nick, own string }{
		{nick, "-nobody,nothing\n"},
		{nick, "-bill\n"},
		{nick, "alone\n"},
		{nick, "a,,b\n"},
		{"name1,relationship,name2\nbill,is,william\n", ""},
		{"name1,relationship,name2\nbill,has_nickname\n", ""},
	} {
		if _, err := buildVariants(bad.nick, bad.own); err == nil {
			t.Errorf("buildVariants(%q, %q) = nil error", bad.nick, bad.own)
		}
	}
}

func TestNameLevelConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v := loadVariants()
			for _, c := range nameLevelCases {
				q, r := newNameInfo(c.q), newNameInfo(c.r)
				if got := nameLevel(&q, &r, v); got != c.want {
					t.Errorf("nameLevel(%q, %q) = %s, want %s", c.q, c.r, levelName(got), levelName(c.want))
				}
			}
		})
	}
	wg.Wait()
}

func TestNameLevelDoesNotAllocate(t *testing.T) {
	v := loadVariants()
	infos := make([]nameInfo, len(nameLevelCases)*2)
	for i, c := range nameLevelCases {
		infos[2*i], infos[2*i+1] = newNameInfo(c.q), newNameInfo(c.r)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < len(infos); i += 2 {
			nameLevel(&infos[i], &infos[i+1], v)
		}
	})
	if allocs != 0 {
		t.Errorf("nameLevel allocates %v times a run", allocs)
	}
}

func FuzzNameLevel(f *testing.F) {
	for _, c := range nameLevelCases {
		f.Add(c.q, c.r)
	}
	v := loadVariants()
	f.Fuzz(func(t *testing.T, a, b string) {
		qa, qb := newNameInfo(a), newNameInfo(b)
		ab, ba := nameLevel(&qa, &qb, v), nameLevel(&qb, &qa, v)
		if ab != ba {
			t.Fatalf("nameLevel(%q, %q) = %s but reversed %s", a, b, levelName(ab), levelName(ba))
		}
		if ab != nameMissing && (ab < nameExact || ab > nameElse) {
			t.Fatalf("nameLevel(%q, %q) = %d, out of range", a, b, ab)
		}
		if (qa.norm == "" || qb.norm == "") != (ab == nameMissing) {
			t.Fatalf("nameLevel(%q, %q) = %s with norms %q, %q", a, b, levelName(ab), qa.norm, qb.norm)
		}
		if qa.norm != "" {
			if self := nameLevel(&qa, &qa, v); self != nameExact {
				t.Fatalf("nameLevel(%q, itself) = %s", a, levelName(self))
			}
			again := newNameInfo(a)
			if l := nameLevel(&qa, &again, v); l != nameExact {
				t.Fatalf("nameLevel(%q, a fresh copy) = %s", a, levelName(l))
			}
		}
		if p := qa.phonetic; p != "" && (len(p) < 2 || strings.Trim(p, "ABFGHJKLMNPRSTXaeo") != "") {
			t.Fatalf("phoneticCode(%q) = %q", qa.core, p)
		}
	})
}

// BenchmarkNameLevel measures the compare alone (nameInfo is built once
// per value): over the test cases, and over pairs of different names,
// which take the longest path and are the common case among a block's
// candidates.
func BenchmarkNameLevel(b *testing.B) {
	v := loadVariants()
	var cases [][2]string
	for _, c := range nameLevelCases {
		cases = append(cases, [2]string{c.q, c.r})
	}
	different := [][2]string{
		{"christensen", "gonzalez lopez"}, {"alexander", "mohammed"}, {"katherine", "kathleen"},
		{"schwarzenegger", "schwarzkopf"}, {"nguyen", "huynh"}, {"abdulrahman", "abdulaziz"},
		{"wojciechowski", "wojcik"}, {"maria del carmen", "maria dolores"},
	}
	for _, set := range []struct {
		name  string
		pairs [][2]string
	}{{"cases", cases}, {"different", different}} {
		b.Run(set.name, func(b *testing.B) {
			infos := make([]nameInfo, 2*len(set.pairs))
			for i, p := range set.pairs {
				infos[2*i], infos[2*i+1] = newNameInfo(p[0]), newNameInfo(p[1])
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				i := 2 * (n % len(set.pairs))
				nameLevel(&infos[i], &infos[i+1], v)
				n++
			}
		})
	}
}

func BenchmarkNewNameInfo(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		newNameInfo(nameLevelCases[n%len(nameLevelCases)].q)
		n++
	}
}

// TestJWBound checks that the letter-mask bound never skips a pair whose
// Jaro–Winkler similarity reaches 0.85, over every pair of a few hundred
// names from the variant table and their one-letter misspellings.
func TestJWBound(t *testing.T) {
	v := loadVariants()
	var names []string
	for k := range v.groups {
		names = append(names, k)
	}
	slices.Sort(names)
	names = names[:min(len(names), 400)]
	for _, n := range slices.Clone(names) {
		if len(n) > 3 {
			names = append(names, n[:2]+n[3:], n[:1]+"x"+n[1:], n+"e", "ü"+n)
		}
	}
	infos := make([]nameInfo, len(names))
	for i, n := range names {
		infos[i] = newNameInfo(n)
	}
	skipped, close := 0, 0
	for i := range infos {
		for j := range infos {
			jw := jaroWinkler(infos[i].core, infos[j].core)
			below := jwBelow85(&infos[i], &infos[j])
			if below {
				skipped++
			}
			if jw.atLeast(85) {
				close++
				if below {
					t.Fatalf("%q / %q: Jaro-Winkler %.3f, but the bound says below 0.85", names[i], names[j], jw.float())
				}
			}
		}
	}
	if skipped < len(infos)*len(infos)/2 {
		t.Errorf("the bound settles only %d of %d pairs", skipped, len(infos)*len(infos))
	}
	t.Logf("%d names: %d pairs settled by the bound, %d at 0.85 or more", len(infos), skipped, close)
}

func TestSlip(t *testing.T) {
	for _, c := range []struct {
		query, registered string
		want              bool
	}{
		{"Jonh", "John", true}, // neighbours swapped
		{"Jhon", "John", true},
		{"Imng", "Ming", true},
		{"Johhn", "John", true},     // a letter doubled
		{"Rééjean", "Réjean", true}, // diacritics are not letters here
		{"Hanah", "Hannah", true},   // a doubled letter typed once
		{"Jo hn", "John", false},    // spaces are dropped from the core: equal
		{"John", "John", false},
		// A key pressed for its neighbour, a letter dropped or added: these
		// make the names twins are given.
		{"Kyla", "Lyla", false},
		{"Marla", "Karla", false},
		{"Kara", "Karla", false},
		{"Karla", "Kara", false},
		{"Jon", "John", false},
		{"Johjn", "John", false},
		{"Ivona", "Ivana", false},
		{"Jo", "Oj", false},     // the registered name is too short
		{"Ólga", "Olga", false}, // equal after normalisation: no slip
		{"Олга", "Олга", false}, // not a-z
		{"Ann-Marie", "Ann", false},
	} {
		q, r := newNameInfo(c.query), newNameInfo(c.registered)
		if got := slip(&q, &r); got != c.want {
			t.Errorf("slip(%q, %q) = %v, want %v", c.query, c.registered, got, c.want)
		}
	}
}

func TestSyllableReadings(t *testing.T) {
	v := loadVariants()
	meet := func(a, b string) bool {
		x, y := newNameInfo(a).withVariants(v), newNameInfo(b).withVariants(v)
		return x.syl != nil && y.syl != nil && x.syl.meet(y.syl)
	}
	for _, p := range [][2]string{
		{"Chihwei", "Zhiwei"}, {"Hsinyi", "Xinyi"}, {"Yuhsuan", "Yuxuan"}, {"Hsiu-Ying", "Xiuying"},
		{"Tzu Han", "Zihan"}, {"Minjoon", "Minjun"}, {"Soojin", "Sujin"}, {"Jihoon", "Jihun"},
	} {
		if !meet(p[0], p[1]) || !meet(p[1], p[0]) {
			t.Errorf("%s and %s should be read as the same syllables", p[0], p[1])
		}
		if l := nameLevel(ptr(newNameInfo(p[0]).withVariants(v)), ptr(newNameInfo(p[1]).withVariants(v)), v); l != nameVariant {
			t.Errorf("nameLevel(%s, %s) = %d, want nameVariant", p[0], p[1], l)
		}
	}
	// Different names: a twin's name must not read as her sibling's.
	for _, p := range [][2]string{
		{"Seoyeon", "Seoyun"}, {"Zhigang", "Zhikang"}, {"Xiaoting", "Xiaoding"}, {"Jaewon", "Chaewon"},
		{"Jiming", "Qiming"}, {"Zhiwei", "Zhiwen"}, {"Martin", "Martyn"}, {"Jana", "Dana"}, {"Wei", "Wei"},
		// Two standard spellings never meet (the review's examples).
		{"Haiquan", "Haichuan"}, {"Dengfei", "Tengfei"}, {"Jiaqi", "Jiachi"}, {"Kuochiang", "Guoqiang"},
		{"Seoyeon", "Soyeon"}, {"Seohee", "Sohee"}, {"Yeongho", "Yongho"}, {"Seongmin", "Songmin"},
		{"Mindai", "Mintai"}, {"Tao", "Dao"}, {"Kai", "Gai"}, {"Chao", "Zhao"},
		// Nor do names that merely split into syllables.
		{"Tina", "Dina"}, {"Mila", "Mira"}, {"Lee", "Leo"}, {"Karina", "Galina"}, {"Lida", "Rita"},
		{"Rina", "Lina"}, {"Arina", "Alina"}, {"Tiana", "Diana"}, {"Miran", "Milan"},
	} {
		if meet(p[0], p[1]) {
			t.Errorf("%s and %s should not be read as the same syllables", p[0], p[1])
		}
	}
	if r := loadSyllables().readingsOf("olga"); r[0] != 0 {
		t.Errorf("olga has syllable readings %v; it has no listed syllable", r)
	}
	for _, bad := range []string{"zhi,chih", "= chinese\nzhi", "= chinese\n+ zhi chi\nzhi,chi", "= korean\nso,seo", "= korean\nseo,s", "= chinese\n+ zhi\nzhi,Chih", "= latin\n"} {
		if _, err := buildSyllables(bad); err == nil {
			t.Errorf("buildSyllables(%q): no error", bad)
		}
	}
}

func ptr[T any](v T) *T { return &v }
