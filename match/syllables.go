package match

import (
	_ "embed"
	"fmt"
	"maps"
	"strings"
	"sync"
)

// syllables.csv lists, a line each, the spellings of one Chinese or Korean
// syllable in the romanisations clerks use (Hanyu Pinyin and Wade–Giles;
// Hong Kong Cantonese; Korean Revised Romanization, McCune–Reischauer and
// passport spellings). Its format is described at its top.
//
//go:embed data/syllables.csv
var syllablesCSV string

// A given name of two or three syllables is written as one word ("Zhiwei",
// "Chihwei", "Minjun", "Minjoon"), so the variant table, which holds whole
// names, cannot reach it without listing every combination. Instead each
// name is read as syllables: a reading splits the name's core into two or
// three syllables of one writing system (Chinese or Korean: a spelling on
// one of its lines or its list of syllables) and replaces the spellings on
// a line by the line. Two names whose readings meet are spellings of the
// same name (nameVariant).
//
// Only the splits with the fewest syllables (of two letters or more) count,
// and a reading needs a spelling that is on a line. A spelling that is the
// standard spelling of a syllable (Pinyin; Revised Romanization) is never
// another syllable's, so two standard spellings never meet: Dao and Tao,
// Seoyeon and Soyeon, Tina and Dina stay apart, while Chihwei (Wade-Giles)
// meets Zhiwei and Minjoon (a passport spelling) Minjun.

// maxReadings is how many readings a name keeps; a name with more keeps
// the first ones found (longest first syllables first).
const maxReadings = 4

type readings [maxReadings]uint64 // 0: none

type syllableTable struct {
	systems []syllableSystem
}

type syllableSystem struct {
	name   string
	groups map[string][]uint32 // spelling -> ids of the lines holding it
	known  map[string]bool     // the syllables on its lines and "+" lines
	all    map[string]bool     // known and, for Korean, every RR syllable
}

// isKnown reports whether p is a syllable of the system: on its lines or
// "+" lines, or a standard spelling (one map, built with the table).
func (sys *syllableSystem) isKnown(p string) bool { return sys.all[p] }

var syllablesOnce = sync.OnceValue(func() *syllableTable {
	t, err := buildSyllables(syllablesCSV)
	if err != nil {
		panic(err) // embedded data; the tests build it
	}
	return t
})

func loadSyllables() *syllableTable { return syllablesOnce() }

func buildSyllables(src string) (*syllableTable, error) {
	t := &syllableTable{}
	id := uint32(0) // line ids are unique across systems
	// standard reports whether a spelling is a syllable of the system's
	// standard romanisation: Pinyin (the Chinese "+" lines) or Revised
	// Romanization (by its spelling rules).
	pinyin := map[string]bool{}
	standard := func(sys *syllableSystem, f string) bool {
		if sys.name == "korean" {
			return isRRSyllable(f)
		}
		return pinyin[f]
	}
	spelling := func(n int, f string) error {
		if len(f) < 2 || len(f) > maxSyllable || !lettersAZ(f) {
			return fmt.Errorf("syllables.csv:%d: %q is not a spelling of 2 to %d letters a-z", n, f, maxSyllable)
		}
		return nil
	}
	for n, line := range strings.Split(src, "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if name, ok := strings.CutPrefix(line, "= "); ok {
			if name != "chinese" && name != "korean" {
				return nil, fmt.Errorf("syllables.csv:%d: unknown system %q (chinese or korean)", n, name)
			}
			t.systems = append(t.systems, syllableSystem{name: name, groups: map[string][]uint32{}, known: map[string]bool{}})
			continue
		}
		if len(t.systems) == 0 {
			return nil, fmt.Errorf("syllables.csv:%d: a syllable before the first \"= system\" line", n)
		}
		sys := &t.systems[len(t.systems)-1]
		if list, ok := strings.CutPrefix(line, "+ "); ok {
			for _, f := range strings.Fields(list) {
				if err := spelling(n, f); err != nil {
					return nil, err
				}
				if sys.name == "korean" && !isRRSyllable(f) {
					return nil, fmt.Errorf("syllables.csv:%d: %q is not a Revised Romanization syllable", n, f)
				}
				sys.known[f] = true
				if sys.name == "chinese" {
					pinyin[f] = true
				}
			}
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) < 2 {
			return nil, fmt.Errorf("syllables.csv:%d: a line needs two spellings", n)
		}
		id++
		for i, f := range fields {
			if err := spelling(n, f); err != nil {
				return nil, err
			}
			// Twins' names differ in a syllable: a spelling that is the
			// standard spelling of a syllable stands for that syllable
			// only, or Dao would meet Tao and Seoyeon Soyeon.
			if i == 0 && !standard(sys, f) {
				return nil, fmt.Errorf("syllables.csv:%d: %q, first on its line, is not a standard %s syllable", n, f, sys.name)
			}
			if i > 0 && standard(sys, f) {
				return nil, fmt.Errorf("syllables.csv:%d: %q is the standard spelling of another %s syllable", n, f, sys.name)
			}
			sys.known[f] = true
			if g := sys.groups[f]; len(g) == 0 || g[len(g)-1] != id {
				sys.groups[f] = append(g, id)
			}
		}
	}
	for i := range t.systems {
		sys := &t.systems[i]
		sys.all = maps.Clone(sys.known)
		if sys.name == "korean" {
			maps.Copy(sys.all, rrSyllables())
		}
	}
	return t, nil
}

// maxSyllable is the longest spelling of a syllable read (Wade–Giles
// "chuang", McCune–Reischauer "hyeong" and passport "choong" are six).
const maxSyllable = 6

// readingsOf returns the readings of a name's core; none when it is not
// all letters a-z or has no reading.
func (t *syllableTable) readingsOf(core string) readings {
	var out readings
	if len(core) < 3 || len(core) > 3*maxSyllable || !lettersAZ(core) {
		return out
	}
	n := 0
	for si := range t.systems {
		sys := &t.systems[si]
		// The fewest syllables first: splits into three are read only
		// when the name does not split into two.
		split := false
		for k := 2; k <= 3 && !split; k++ {
			var pieces [3]string
			var walk func(rest string, i int)
			walk = func(rest string, i int) {
				switch {
				case n == maxReadings:
				case i == k:
					if rest == "" {
						split = true
						sys.emit(pieces[:k], &out, &n)
					}
				default:
					// Longest syllables first: chih-wei before chi-hwei.
					for l := min(maxSyllable, len(rest)); l >= 2; l-- {
						if p := rest[:l]; sys.isKnown(p) {
							pieces[i] = p
							walk(rest[l:], i+1)
						}
					}
				}
			}
			walk(core, 0)
		}
	}
	return out
}

// nameShaped reports whether a name's core is two syllables of one
// system, as its lines and "+" lines hold them (every Pinyin syllable; the
// syllables of Korean given names), five letters or more: Mingche,
// Weikang, Seoyun, Soyoung. Such a spelling is taken for somebody's name
// even when no list holds it, since no list can hold every combination.
// Chinese and Korean given names are two syllables; three short ones are
// more often a misspelt Western name (Le-ti-ci for Leticia), and so are
// the two-letter pairs (Ka-he for Käthe).
func (t *syllableTable) nameShaped(core string) bool {
	if len(core) < 5 || len(core) > 2*maxSyllable || !lettersAZ(core) {
		return false
	}
	for si := range t.systems {
		sys := &t.systems[si]
		for l := 2; l <= len(core)-2; l++ {
			if sys.known[core[:l]] && sys.known[core[l:]] {
				return true
			}
		}
	}
	return false
}

// emit adds the readings of one split: every choice of line for each
// listed piece (a spelling may be on several lines: Wade–Giles "chih" is
// Pinyin zhi and chi), the other pieces as they are.
func (sys *syllableSystem) emit(pieces []string, out *readings, n *int) {
	listed := false
	for _, p := range pieces {
		listed = listed || len(sys.groups[p]) > 0
	}
	if !listed {
		return
	}
	var buf [3 * (maxSyllable + 1)]byte
	var choose func(i int, b []byte)
	choose = func(i int, b []byte) {
		if *n == maxReadings {
			return
		}
		if i == len(pieces) {
			// The same in every run: readings are kept in the prepared
			// registry that another run reads back.
			v := hash64(b) | 1 // never 0
			for _, x := range out[:*n] {
				if x == v {
					return
				}
			}
			out[*n] = v
			*n++
			return
		}
		gs := sys.groups[pieces[i]]
		if len(gs) == 0 {
			choose(i+1, append(append(b, pieces[i]...), 0))
			return
		}
		for _, g := range gs {
			choose(i+1, append(b, 1, byte(g), byte(g>>8), byte(g>>16)))
		}
	}
	choose(0, buf[:0])
}

// meet reports whether two names' readings share one.
func (a *readings) meet(b *readings) bool {
	if a[0] == 0 || b[0] == 0 {
		return false
	}
	for _, x := range a {
		if x == 0 {
			break
		}
		for _, y := range b {
			if y == 0 {
				break
			}
			if x == y {
				return true
			}
		}
	}
	return false
}

// isRRSyllable reports whether p is a syllable of Korean Revised
// Romanization: an initial, a vowel and a final, each as RR spells it.
func isRRSyllable(p string) bool { return rrSyllables()[p] }

// rrSyllables is every initial-vowel-final combination of Revised
// Romanization (more than Korean uses, which is the safe side here).
var rrSyllables = sync.OnceValue(func() map[string]bool {
	initials := []string{"", "g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "j", "jj", "ch", "k", "t", "p", "h"}
	vowels := []string{"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i"}
	finals := []string{"", "k", "n", "t", "l", "m", "p", "ng"}
	set := make(map[string]bool, len(initials)*len(vowels)*len(finals))
	for _, i := range initials {
		for _, v := range vowels {
			for _, f := range finals {
				set[i+v+f] = true
			}
		}
	}
	return set
})
