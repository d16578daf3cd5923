package match

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// nicknames.csv is names.csv of github.com/carltonnorthern/nicknames
// (Apache-2.0, see data/nicknames.LICENSE), kept byte for byte; rows the
// standard does not trust are dropped by "-" lines in variants.csv.
//
//go:embed data/nicknames.csv
var nicknamesCSV string

// variants.csv is the project's own table: transliteration and
// nickname groups the English nickname table lacks. Its format is
// described at its top.
//
//go:embed data/variants.csv
var variantsCSV string

// variantTable says which names are nicknames or transliteration variants
// of each other. Names belong to groups; two names are variants when they
// share a group. A name may be in several groups (Alex is short for both
// Alexander and Alexandra) without the groups merging, so Alexander and
// Alexandra stay different names.
//
// It is read-only once built and safe for concurrent use.
type variantTable struct {
	groups map[string][]uint32 // name core -> ids of its groups, ascending
	n      int                 // number of groups
	// sets are the distinct lists of groups, and setOf a name core's list
	// in it: a prepared name keeps a number, not a slice. sets[0] is empty.
	sets  [][]uint32
	setOf map[string]uint32
}

var variantsOnce = sync.OnceValue(func() *variantTable {
	t, err := buildVariants(nicknamesCSV, variantsCSV)
	if err != nil {
		panic(err) // embedded data; the tests build it
	}
	return t
})

// loadVariants returns the standard's variant table, built on first use
// from the embedded nickname and variant files.
func loadVariants() *variantTable { return variantsOnce() }

// match reports whether the names with cores a and b share a group. It
// does not allocate.
func (t *variantTable) match(a, b string) bool {
	ga := t.groups[a]
	if len(ga) == 0 {
		return false
	}
	return sharesGroup(ga, t.groups[b])
}

// shareGroup reports whether the group sets a and b (setOf values)
// intersect.
func (t *variantTable) shareGroup(a, b uint32) bool {
	return a == b && a != 0 || sharesGroup(t.sets[a], t.sets[b])
}

// sharesGroup reports whether two ascending lists of group ids intersect.
func sharesGroup(ga, gb []uint32) bool {
	for i, j := 0, 0; i < len(ga) && j < len(gb); {
		switch {
		case ga[i] == gb[j]:
			return true
		case ga[i] < gb[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// variantKey is the form names are looked up by: their core, so that
// "abd al rahman" and "Abdul-Rahman" find the same entry.
func variantKey(s string) string {
	n := newNameInfo(s)
	return n.core
}

// buildVariants reads the nickname table (rows "name1,has_nickname,name2"
// after a header) and the project's variant file.
//
// Each row of the nickname table links its two names and nothing more: a
// full name and its nickname are variants, two nicknames of the same name
// are not (Rose and Ann are both short for Rosanne, Bill and Will for
// William), and a nickname listed for two full names does not join them
// (Bill for William and for Robert). The project's own groups join every
// name on their line.
func buildVariants(nicknames, own string) (*variantTable, error) {
	var groups [][]string // keys, in group-id order
	drops := map[[2]string]bool{}
	var ownGroups [][]string
	for n, line := range strings.Split(own, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		drop := line[0] == '-'
		fields := strings.Split(strings.TrimPrefix(line, "-"), ",")
		keys := make([]string, 0, len(fields))
		for _, f := range fields {
			k := variantKey(f)
			if k == "" {
				return nil, fmt.Errorf("variants.csv:%d: empty name", n+1)
			}
			keys = append(keys, k)
		}
		switch {
		case drop && len(keys) != 2:
			return nil, fmt.Errorf("variants.csv:%d: a drop names one nickname row: -name1,name2", n+1)
		case drop:
			drops[[2]string{keys[0], keys[1]}] = false
		case len(keys) < 2:
			return nil, fmt.Errorf("variants.csv:%d: a group needs two names", n+1)
		default:
			ownGroups = append(ownGroups, keys)
		}
	}

	type row struct{ name, nick string }
	var rows []row
	for n, line := range strings.Split(nicknames, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || n == 0 && line == "name1,relationship,name2" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 || f[1] != "has_nickname" {
			return nil, fmt.Errorf("nicknames.csv:%d: want name1,has_nickname,name2", n+1)
		}
		r := row{variantKey(f[0]), variantKey(f[2])}
		if r.name == "" || r.nick == "" || r.name == r.nick {
			continue
		}
		if _, ok := drops[[2]string{r.name, r.nick}]; ok {
			drops[[2]string{r.name, r.nick}] = true
			continue
		}
		rows = append(rows, r)
	}
	for d, used := range drops {
		if !used {
			return nil, fmt.Errorf("variants.csv: drop -%s,%s matches no nickname row", d[0], d[1])
		}
	}

	// Each row is a group of its two names: a full name and one of its
	// nicknames are variants, but two nicknames of one full name are not
	// (Rose and Ann are both short for Rosanne; Erin and Ron for Aaron).
	for _, r := range rows {
		groups = append(groups, []string{r.name, r.nick})
	}
	groups = append(groups, ownGroups...)

	t := &variantTable{groups: map[string][]uint32{}, n: len(groups)}
	for id, g := range groups {
		for _, k := range g {
			ids := t.groups[k]
			if len(ids) == 0 || ids[len(ids)-1] != uint32(id) {
				t.groups[k] = append(ids, uint32(id))
			}
		}
	}
	// Numbered in the names' order, not the map's: the numbers are kept in
	// the prepared registry that another run of the program reads back.
	t.sets, t.setOf = [][]uint32{nil}, make(map[string]uint32, len(t.groups))
	seen := map[string]uint32{}
	for _, k := range slices.Sorted(maps.Keys(t.groups)) {
		ids := t.groups[k]
		key := fmt.Sprint(ids)
		n, ok := seen[key]
		if !ok {
			n = uint32(len(t.sets))
			t.sets = append(t.sets, ids)
			seen[key] = n
		}
		t.setOf[k] = n
	}
	return t, nil
}
