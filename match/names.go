package match

import (
	"math/bits"
	"strings"
)

// Name comparison levels, best first. A given name or surname pair is put
// at the best level it reaches; the Fellegi–Sunter weights of each level
// are estimated from the custodian's own data, so the levels only need to
// order evidence, not to weigh it.
const (
	nameExact    = iota // same norm, or differing only in particles, spaces and hyphens
	nameVariant         // nickname or transliteration variant (variants.csv, nicknames.csv)
	nameJW92            // Jaro–Winkler similarity of the cores >= 0.92
	namePhonetic        // same phonetic code
	nameJW85            // Jaro–Winkler similarity of the cores >= 0.85
	nameOneEdit         // one letter added, dropped, changed or swapped with its neighbour (3 letters or more)
	namePart            // one name's words contain the other's: garcia / garcia lopez, mary / mary ann
	nameInitial         // one side is only initials, and the first equals the other's initial
	nameElse            // disagree
	nameMissing  = -1   // either side empty after normalisation
)

// nameInfo is a normalised given name or surname with everything the
// comparisons need, computed once per value so that nameLevel does not
// allocate. It holds no slices: a registry keeps three per record, for
// millions of records.
type nameInfo struct {
	norm     string    // Normalize(s); its words are separated by single spaces
	core     string    // norm without particles, spaces and hyphens: "van der berg" -> "berg"
	phonetic string    // phoneticCode(core); "" when the code would be no evidence
	gset     uint32    // the variant table's set of groups of core (0: none), when vset
	mask     uint32    // the letters a-z core holds, for jwBelow
	runes    uint8     // runes in core, at most jwMaxRunes
	initial  byte      // first letter of norm if it is a-z, else 0
	multi    bool      // norm has more than one word
	initials bool      // every word of norm is a single letter a-z
	vset     bool      // gset was looked up (withVariants)
	syl      *readings // the core read as Chinese or Korean syllables (syllables.go); nil: none, or not vset
}

// withVariants looks up n's variant groups in t once, for the many
// comparisons a registry record or query takes part in.
func (n nameInfo) withVariants(t *variantTable) nameInfo {
	if n.core != "" {
		n.gset, n.vset = t.setOf[n.core], true
		if r := loadSyllables().readingsOf(n.core); r[0] != 0 {
			n.syl = &r // most names have none: a pointer keeps nameInfo small
		}
	}
	return n
}

func newNameInfo(s string) nameInfo {
	n := nameInfo{norm: Normalize(s)}
	if n.norm == "" {
		return n
	}
	tokens := strings.Split(n.norm, " ")
	n.multi = len(tokens) > 1
	n.core = nameCore(tokens)
	n.initials = onlyInitials(tokens)
	if !n.initials {
		n.phonetic = phoneticCode(n.core) // initials sound like nothing
	}
	if c := n.norm[0]; 'a' <= c && c <= 'z' {
		n.initial = c
	}
	for _, r := range n.core {
		if 'a' <= r && r <= 'z' {
			n.mask |= 1 << (r - 'a')
		}
		if n.runes < jwMaxRunes {
			n.runes++
		}
	}
	return n
}

// nameLevel compares a query name with a registry name and returns the
// best level they agree at. It is symmetric and does not allocate.
//
// When one name's words contain the other's (garcia / garcia lopez), the
// pair is namePart unless it is exact or a variant: the Jaro–Winkler and
// phonetic levels are for misspellings, and the similarity of
// "garcialopez" to "garcia" (0.91) measures the extra word instead.
//
// Most pairs a registry compares are different names; the flags and the
// letter masks settle them without reading both names' letters.
func nameLevel(q, r *nameInfo, variants *variantTable) int {
	multi := q.multi || r.multi
	switch {
	case q.norm == "" || r.norm == "":
		return nameMissing
	case q.core == r.core || multi && joinedEqual(q.norm, r.norm):
		// Equal norms have equal cores; single words have no spaces.
		return nameExact
	case q.vset && r.vset && q.gset != 0 && r.gset != 0 && variants.shareGroup(q.gset, r.gset):
		return nameVariant
	case !(q.vset && r.vset) && variants != nil && variants.match(q.core, r.core):
		return nameVariant
	case q.syl != nil && r.syl != nil && q.syl.meet(r.syl):
		// The same syllables in another romanisation: Chihwei and Zhiwei.
		return nameVariant
	case multi && (wordsWithin(q.norm, r.norm) || wordsWithin(r.norm, q.norm)):
		// Two single words are within each other only when equal.
		return namePart
	}
	var jw jwScore
	if !jwBelow85(q, r) {
		jw = jaroWinkler(q.core, r.core)
	}
	switch {
	case jw.den != 0 && jw.atLeast(92):
		return nameJW92
	case q.phonetic != "" && q.phonetic == r.phonetic:
		return namePhonetic
	case jw.den != 0 && jw.atLeast(85):
		return nameJW85
	case oneEdit(q, r):
		// Short names and a first letter mistyped, where Jaro-Winkler is
		// low: Amy/Ame, Ann/Nn, Luis/Kuis, Tao/Ato.
		return nameOneEdit
	case q.initial != 0 && q.initial == r.initial && (q.initials || r.initials):
		return nameInitial
	}
	return nameElse
}

// oneEdit reports whether q's and r's cores differ by one edit: a letter
// added, dropped or changed, or two neighbours swapped. The longer core
// must have at least three letters; in two, one edit is half the name.
func oneEdit(q, r *nameInfo) bool {
	la, lb := int(q.runes), int(r.runes)
	if la < lb {
		q, r, la, lb = r, q, lb, la
	}
	// Cheap refusals first: the lengths, and the letters each has that the
	// other lacks (one edit brings in and takes away one letter at most).
	if la-lb > 1 || la < 3 || la >= jwMaxRunes || bits.OnesCount32(q.mask&^r.mask) > 1 || bits.OnesCount32(r.mask&^q.mask) > 1 {
		return false
	}
	var abuf, bbuf [jwMaxRunes]rune
	a, b := appendRunes(abuf[:0], q.core), appendRunes(bbuf[:0], r.core)
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		if i == len(a) {
			return false // equal: exact, not an edit
		}
		// One letter changed, or two neighbours swapped.
		if slicesEqual(a[i+1:], b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slicesEqual(a[i+2:], b[i+2:])
	}
	// a is one longer: drop its letter at the first difference.
	return slicesEqual(a[i+1:], b[i:])
}

// slip reports whether the query name q is the registry name r with one
// typing slip that makes no other name: two neighbouring letters swapped
// (Jonh, Imng), a letter doubled (Johhn, Rééjean) or a doubled letter
// typed once (Hanah for Hannah). A key pressed for its neighbour, or a
// letter dropped or added, is left out: those make names twins are given
// (Kyla and Lyla, Marla and Karla, Kara and Karla). Both cores must be
// letters a-z, r at least three of them.
func slip(q, r *nameInfo) bool {
	a, b := q.core, r.core
	if len(b) < 3 || len(a) >= jwMaxRunes || len(b) >= jwMaxRunes || !lettersAZ(a) || !lettersAZ(b) {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0: // two neighbours swapped
		return i+1 < len(a) && a[i] != a[i+1] && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1: // a letter doubled: a[i] repeats the letter before it
		return i > 0 && a[i] == a[i-1] && a[i+1:] == b[i:]
	case -1: // a doubled letter typed once
		return i > 0 && b[i] == b[i-1] && a[i:] == b[i+1:]
	}
	return false
}

func lettersAZ(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func slicesEqual(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jwBelow85 reports whether the Jaro–Winkler similarity of q's and r's
// cores is surely below 0.85, from their lengths and letters alone. Every
// letter a-z one core has and the other lacks leaves at least one of its
// runes unmatched, so the matches m are at most each length less those
// letters; then Jaro is at most (m/la + m/lb + 1)/3 and, with the largest
// prefix bonus, Jaro–Winkler at most Jaro + 0.4 (1 - Jaro), which is below
// 0.85 when Jaro is below 0.75.
func jwBelow85(q, r *nameInfo) bool {
	la, lb := int(q.runes), int(r.runes)
	switch {
	case la == 0 || lb == 0:
		return true
	case la >= jwMaxRunes || lb >= jwMaxRunes:
		return false // compared on a prefix, which the masks do not describe
	}
	m := min(la-bits.OnesCount32(q.mask&^r.mask), lb-bits.OnesCount32(r.mask&^q.mask))
	if m <= 0 {
		return true
	}
	// 3 Jaro <= m/la + m/lb + 1 < 2.25  <=>  4m(la+lb) < 5 la lb
	return 4*m*(la+lb) < 5*la*lb
}

// isParticle reports whether word i of a name is a particle that the core
// leaves out when a real word follows it. The conjunctions of Spanish,
// Portuguese and Catalan double surnames (garcia y lopez) count only
// between words, because a leading single letter is an initial.
//
// Mac, Mc, O', D', Fitz and Ap are not particles: MacDonald is not
// Donald, so they stay in the core, glued to the next word.
func isParticle(w string, i int) bool {
	switch w {
	case "van", "von", "vom", "der", "den", "de", "des", "del", "della", "delle", "dei", "degli",
		"di", "da", "das", "dos", "du", "la", "le", "lo", "las", "los", "ter", "ten", "het", "op",
		"zu", "zum", "zur", "af", "av", "bin", "ibn", "bint", "binti", "al", "el", "ben":
		return true
	case "y", "e", "i":
		return i > 0
	}
	return false
}

// nameCore joins the words that are not particles. Particles are left out
// only before a real word, so a name made of particles alone (the
// Vietnamese surname Le, a given name Ben) keeps them. Arabic Abd- names
// are then folded, see foldAbd.
func nameCore(tokens []string) string {
	last := -1 // the last word that is not a particle
	for i, t := range tokens {
		if !isParticle(t, i) {
			last = i
		}
	}
	var b strings.Builder
	for i, t := range tokens {
		if i < last && isParticle(t, i) {
			continue
		}
		b.WriteString(t)
	}
	return foldAbd(b.String())
}

// abdPrefixes are the spellings of Arabic "abd al" (servant of) glued to
// the next word, with the article assimilated or not: abdul, abdel,
// abdur (abdurrahman), abdus (abdussalam), ...
var abdPrefixes = [...]string{"abdoul", "abdool", "abdul", "abdel", "abdal", "abdol", "abdil",
	"abdur", "abdus", "abder", "abdes", "abdar", "abdas"}

// foldAbd spells the article of an Abd- name one way: "abd al rahman"
// loses "al" as a particle, and abdulrahman, abdelrahman, abdurrahman and
// abd ar-rahman all become "abdrahman" too. The prefix is folded only
// when at least two letters follow it, so Abdul and Abdel alone stay as
// they are (variants.csv groups them).
func foldAbd(core string) string {
	if len(core) < 7 || core[:3] != "abd" {
		return core
	}
	for _, p := range abdPrefixes {
		if len(core) >= len(p)+2 && strings.HasPrefix(core, p) {
			return "abd" + core[len(p):]
		}
	}
	return core
}

// joinedEqual reports whether a and b are equal once their spaces are
// dropped: "van der berg" and "vanderberg".
func joinedEqual(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == ' ' {
			i++
		}
		for j < len(b) && b[j] == ' ' {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if a[i] != b[j] {
			return false
		}
		i++
		j++
	}
}

// maxPartWords bounds the word-containment test, which is quadratic;
// real names have far fewer words.
const maxPartWords = 16

// wordsWithin reports whether every word of a that is not a dropped
// particle is one of b's words (a and b are norms: words separated by
// single spaces). Identical word lists never reach it (they are exact).
func wordsWithin(a, b string) bool {
	na, nb := strings.Count(a, " ")+1, strings.Count(b, " ")+1
	if na > maxPartWords || nb > maxPartWords {
		return false
	}
	last := -1
	i := 0
	for t := range strings.SplitSeq(a, " ") {
		if !isParticle(t, i) {
			last = i
		}
		i++
	}
	seen := false
	i = 0
	for t := range strings.SplitSeq(a, " ") {
		if i < last && isParticle(t, i) {
			i++
			continue
		}
		i++
		found := false
		for u := range strings.SplitSeq(b, " ") {
			if t == u {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		seen = true
	}
	return seen
}

// onlyInitials reports whether every word is a single letter: "j", "j r".
func onlyInitials(tokens []string) bool {
	for _, t := range tokens {
		if len(t) != 1 || t[0] < 'a' || t[0] > 'z' {
			return false
		}
	}
	return len(tokens) > 0
}

// jwScore is a Jaro–Winkler similarity kept as an exact fraction, so that
// a pair on a threshold (maria / mario is exactly 0.92) falls the same
// way on every machine.
type jwScore struct{ num, den int }

// atLeast reports whether the score is at least pct/100.
func (s jwScore) atLeast(pct int) bool { return 100*s.num >= pct*s.den }

func (s jwScore) float() float64 { return float64(s.num) / float64(s.den) }

// jwMaxRunes bounds the letters compared, so that the buffers live on the
// stack and a hostile value cannot make the quadratic scan slow. Longer
// names are compared on their first jwMaxRunes letters.
const jwMaxRunes = 128

// jaroWinkler is the Jaro–Winkler similarity as in Winkler's strcmp95
// (the US Census record-linkage comparator, without its similar-letter
// and long-string adjustments): matching letters within
// max(len)/2 - 1 of each other, half-transpositions rounded down, and a
// prefix bonus of 0.1 per common leading letter, up to four.
//
// It is written here rather than taken from github.com/adrg/strutil,
// whose Compare allocates on every call (about 200 ns and 2 allocations
// a pair) and uses a match window one letter wider than the definition,
// which lifts short names: mary / myra is 0.925 there, 0.70 here.
func jaroWinkler(a, b string) jwScore {
	if a > b {
		a, b = b, a // the same order both ways round, so the score is symmetric
	}
	var abuf, bbuf [jwMaxRunes]rune
	x, y := appendRunes(abuf[:0], a), appendRunes(bbuf[:0], b)
	la, lb := len(x), len(y)
	if la == 0 || lb == 0 {
		return jwScore{0, 1}
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	var xm, ym [jwMaxRunes]bool
	m := 0
	for i, c := range x {
		for j := max(0, i-window); j < min(lb, i+window+1); j++ {
			if !ym[j] && y[j] == c {
				xm[i], ym[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return jwScore{0, 1}
	}
	half, j := 0, 0
	for i := range la {
		if !xm[i] {
			continue
		}
		for !ym[j] {
			j++
		}
		if x[i] != y[j] {
			half++
		}
		j++
	}
	t := half / 2
	l := 0
	for l < 4 && l < la && l < lb && x[l] == y[l] {
		l++
	}
	// jaro = (m/la + m/lb + (m-t)/m) / 3 = n/d; jw = jaro + l/10 (1 - jaro).
	n := m*m*(la+lb) + (m-t)*la*lb
	d := 3 * la * lb * m
	return jwScore{num: 10*n + l*(d-n), den: 10 * d}
}

// appendRunes appends the runes of s to buf up to its capacity.
func appendRunes(buf []rune, s string) []rune {
	for _, r := range s {
		if len(buf) == cap(buf) {
			break
		}
		buf = append(buf, r)
	}
	return buf
}

// phoneticCode is the standard's own phonetic key of a name's core: a
// Metaphone-like consonant skeleton that keeps the class of the first
// vowel, tuned for the spellings that differ between registries in
// English, German, Slavic, Arabic and Spanish transliteration. Rules, in
// order of precedence at each letter:
//
//   - Only a-z: a core with any other letter or digit has no code.
//   - Start: kn-, gn-, pn-, ps-, wr- drop their first letter; x- is S;
//     mc- is read mac- (McDonald/MacDonald); y- before a vowel is a glide
//     and dropped (Yekaterina/Ekaterina, Yusuf/Usuf).
//   - The first vowel is written as its class, a, e (e, i, y) or o (o, u),
//     first if the name starts with it, else after the first consonant
//     (Dmitri and Dimitri TeMTR): Omar/Umar oMR and Muhammad/Mohammed
//     MoHMT agree, while Hassan HaSN and Hussein HoSN, Omar and Amir aMR,
//     Jane JaN and June JoN do not. Later vowels are dropped, so German ue/oe/ae spellings fold with
//     the umlaut-less ones (Jürgen, Juergen, Jurgen JoRJN; Müller,
//     Mueller) and -ski/-sky agree.
//   - c: cz, ch, sch, tch, tsch are X (ch before r is K: Christopher);
//     c before e, i, y is S, else K. k, kh, q are K.
//   - g: before e, i, y is J (Geoffrey/Jeffrey); gh is G at the start or
//     before a vowel, else silent (Hugh, Wright). dg before e/i/y, dj,
//     dzh and zh are J (Djamel/Jamal, Zhukov/Joukov).
//   - j: after a vowel and not before one is a glide and dropped (Sergej,
//     Nikolaj, Czajkowski), else J.
//   - h: kept only at the start or after a vowel, and only before a vowel
//     (Mohammed/Muhammad MoHMT; Ahmed/Ahmad aMT).
//   - d is T (Schmidt/Schmitt), th is T (Catherine/Kathryn KaTRN), tz is S
//     (Schultz/Schulz).
//   - ph, v and w are F (Ivanov/Ivanow, Kowalski/Kovalsky,
//     Tchaikovsky/Czajkowski XaKFSK); sh is X; x is KS; z is S.
//   - The same code from adjacent letters is written once (ll, tt, dt,
//     ck); a vowel in between keeps both (Tatiana TaTN).
//   - A code with fewer than two consonants is no code: Li, Lee, Liu and
//     Wu, or Ali, Eli and Ella, would otherwise agree.
func phoneticCode(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return ""
		}
	}
	at := func(i int) byte {
		if i < 0 || i >= len(s) {
			return 0
		}
		return s[i]
	}
	b := make([]byte, 0, len(s)+2)
	var last byte // code of the previous letter; 0 after a vowel or silent letter
	emit := func(c byte) {
		if c != last {
			b = append(b, c)
		}
		last = c
	}
	var first byte      // class of the first vowel, 0 before it
	vowelFirst := false // the name starts with a vowel
	i := 0
	switch {
	case len(s) < 2:
	case s[:2] == "kn" || s[:2] == "gn" || s[:2] == "pn" || s[:2] == "ps" || s[:2] == "wr":
		i = 1
	case s[0] == 'x':
		emit('S')
		i = 1
	case s[:2] == "mc":
		emit('M')
		first = 'a'
		i = 1
	case s[0] == 'y' && isVowel(s[1]):
		i = 1
	}
	for ; i < len(s); i++ {
		c, next, next2 := s[i], at(i+1), at(i+2)
		switch c {
		case 'a', 'e', 'i', 'o', 'u', 'y':
			if first == 0 {
				first, vowelFirst = vowelClass(c), len(b) == 0
			}
			last = 0
		case 'b':
			emit('B')
		case 'c':
			switch {
			case next == 'z':
				emit('X')
				i++
			case next == 'h':
				if next2 == 'r' {
					emit('K')
				} else {
					emit('X')
				}
				i++
			case softVowel(next):
				emit('S')
			default:
				emit('K')
			}
		case 'd':
			switch {
			case next == 'g' && softVowel(next2):
				emit('J')
				i++
			case next == 'j':
				emit('J')
				i++
			case next == 'z' && next2 == 'h':
				emit('J')
				i += 2
			default:
				emit('T')
			}
		case 'f':
			emit('F')
		case 'g':
			switch {
			case next == 'h':
				if i == 0 || isVowel(next2) || next2 == 'y' {
					emit('G')
				} else {
					last = 0
				}
				i++
			case softVowel(next):
				emit('J')
			default:
				emit('G')
			}
		case 'h':
			if (i == 0 || isVowel(s[i-1]) || s[i-1] == 'y') && (isVowel(next) || next == 'y') {
				emit('H')
			}
		case 'j':
			if i > 0 && (isVowel(s[i-1]) || s[i-1] == 'y') && !isVowel(next) && next != 'y' {
				last = 0
			} else {
				emit('J')
			}
		case 'k':
			if next == 'h' {
				i++
			}
			emit('K')
		case 'l', 'm', 'n', 'r':
			emit(c - 'a' + 'A')
		case 'p':
			if next == 'h' {
				emit('F')
				i++
			} else {
				emit('P')
			}
		case 'q':
			emit('K')
		case 's':
			switch {
			case next == 'c' && next2 == 'h':
				emit('X')
				i += 2
			case next == 'h':
				emit('X')
				i++
			default:
				emit('S')
			}
		case 't':
			switch {
			case next == 'c' && next2 == 'h':
				emit('X')
				i += 2
			case next == 's' && next2 == 'c' && at(i+3) == 'h':
				emit('X')
				i += 3
			case next == 'h':
				emit('T')
				i++
			case next == 'z':
				emit('S')
				i++
			default:
				emit('T')
			}
		case 'v', 'w':
			emit('F')
		case 'x':
			emit('K')
			emit('S')
		case 'z':
			if next == 'h' {
				emit('J')
				i++
			} else {
				emit('S')
			}
		}
	}
	if len(b) < 2 {
		return ""
	}
	switch {
	case first == 0:
		return string(b)
	case vowelFirst:
		return string(first) + string(b)
	}
	return string(b[:1]) + string(first) + string(b[1:])
}

// vowelClass is the letter phoneticCode writes for a name's first vowel.
func vowelClass(c byte) byte {
	switch c {
	case 'a':
		return 'a'
	case 'o', 'u':
		return 'o'
	}
	return 'e'
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'
}

// softVowel reports whether c softens a preceding g (or dg) to J.
func softVowel(c byte) bool { return c == 'e' || c == 'i' || c == 'y' }
