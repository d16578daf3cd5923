package match

import (
	_ "embed"
	"fmt"
	"hash/maphash"
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
// Only the splits with the fewest syllables count, and a reading needs a
// spelling that is on a line, so most names that are not Chinese or Korean
// have no reading, and two names meet only where they differ by spellings
// of one syllable.

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
	known  map[string]bool     // every syllable spelling of the system
}

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
	spelling := func(n int, f string) error {
		if f == "" || len(f) > maxSyllable || !lettersAZ(f) {
			return fmt.Errorf("syllables.csv:%d: %q is not a spelling of a-z, at most %d letters", n, f, maxSyllable)
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
				sys.known[f] = true
			}
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) < 2 {
			return nil, fmt.Errorf("syllables.csv:%d: a line needs two spellings", n)
		}
		id++
		for _, f := range fields {
			if err := spelling(n, f); err != nil {
				return nil, err
			}
			sys.known[f] = true
			if g := sys.groups[f]; len(g) == 0 || g[len(g)-1] != id {
				sys.groups[f] = append(g, id)
			}
		}
	}
	return t, nil
}

// maxSyllable is the longest spelling of a syllable read (Wade–Giles
// "chuang", McCune–Reischauer "hyeong" and passport "choong" are six).
const maxSyllable = 6

var readingSeed = maphash.MakeSeed()

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
		// when no split into two gives a reading.
		before := n
		for k := 2; k <= 3 && n == before; k++ {
			var pieces [3]string
			var walk func(rest string, i int)
			walk = func(rest string, i int) {
				switch {
				case n == maxReadings:
				case i == k:
					if rest == "" {
						sys.emit(pieces[:k], &out, &n)
					}
				default:
					// Longest syllables first: chih-wei before chi-hwei.
					for l := min(maxSyllable, len(rest)); l >= 1; l-- {
						if p := rest[:l]; sys.known[p] {
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
			v := maphash.Bytes(readingSeed, b) | 1 // never 0
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
