// Package synth writes synthetic registries for the demo, tests and
// benchmarks: realistic people from many naming traditions at US-style
// addresses, with the cases that trip a careless match standard (twins,
// Jr./Sr. at one address, namesakes, people who agree on name and date of
// birth) planted on purpose. Every person is a random composition of name
// and place lists; no real person's data is used.
package synth

import (
	"bufio"
	"container/heap"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// Options say how big a registry to write and from which seed.
type Options struct {
	People int   // rows to write; 0 writes only the header
	Seed   int64 // the same seed always writes the same bytes
}

// MaxPeople bounds Options.People so that licence numbers stay unique.
const MaxPeople = 100_000_000

// Summary describes what Registry wrote. The hard-case counts are pairs
// planted on purpose; random composition adds more of each by chance
// (common names and dates of birth do collide in a large population).
type Summary struct {
	People     int
	Twins      int // pairs: same last name, dob and address; different first names
	JrSr       int // pairs: same first, middle and last name and address; suffix Jr./Sr., dobs 20–30 years apart
	Namesakes  int // pairs: same first and last name; different dob and address
	Collisions int // pairs: same first and last name and dob; different address
	// Sample holds a few ordinary records that no other record matches on
	// first name, last name and dob, for examples that verify.
	Sample []custodian.Record
	// Ambiguous holds one record of each of the first few collision pairs:
	// a lookup by its first name, last name and dob is ambiguous.
	Ambiguous []custodian.Record
}

// Columns returns the header Registry writes.
func Columns() []string {
	return []string{"record_id", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
		"street", "city", "state", "zip", "license_number", "photo"}
}

const (
	sampleSize    = 5
	ambiguousSize = 5
	candidates    = 16   // early ordinary rows considered for Sample
	maxGap        = 5000 // rows between the two people of a pair, at most
)

// Registry writes a CSV registry of opts.People people to w and describes
// it. Record ids run R0000001, R0000002, …; licence numbers (a letter and
// eight digits) are unique; photo is a reference "photo://<record_id>.jpg",
// never image data. About 1% of rows are in each of the twin, Jr./Sr. and
// namesake pairs, and one row in 5,000 in a collision pair; partners sit
// up to a few thousand rows apart, not side by side. Registries of fewer
// than 20 people have no planted pairs.
func Registry(opts Options, w io.Writer) (Summary, error) {
	if opts.People < 0 || opts.People > MaxPeople {
		return Summary{}, custodian.FieldError("people", "must be between 0 and %d", MaxPeople)
	}
	g := newGenerator(opts)
	bw := bufio.NewWriterSize(w, 1<<16)
	g.csv = csv.NewWriter(bw)
	if err := g.csv.Write(Columns()); err != nil {
		return Summary{}, fmt.Errorf("write registry: %w", err)
	}
	g.run()
	g.csv.Flush()
	if err := g.csv.Error(); err != nil {
		return Summary{}, fmt.Errorf("write registry: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("write registry: %w", err)
	}
	return g.summary(), nil
}

// person is one row before it has a row number.
type person struct {
	first, middle, last, suffix, dob, sex string
	street, city, state, zip              string
	culture                               int
}

// Row kinds: an ordinary person, the first of a planted pair of some kind,
// or the partner that completes a pair.
const (
	ordinary = iota
	twins
	jrsr
	namesakes
	collisions
	kinds // the number of kinds above

	partnerRow = -1
)

type generator struct {
	rng      *rand.Rand
	n        int
	cultures []culture
	cweights []int // cumulative
	places   []place
	streets  street
	planned  [kinds]int // pairs of each kind to plant
	planted  [kinds]int

	csv     *csv.Writer
	row     int // rows written
	rec     [13]string
	pending partners

	// licence numbers are a keyed permutation of the row number, so they
	// are unique without remembering them and show no sequence.
	licKey [4]uint32

	cands     []candidate
	byDOB     map[string][]int // candidate indexes by dob
	early     []person         // rows written before the candidates were chosen
	ambiguous []custodian.Record
}

type candidate struct {
	rec    custodian.Record
	unique bool
}

const licSpace = 26 * 100_000_000

func newGenerator(opts Options) *generator {
	g := &generator{
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed_c057_0d1a_2026)),
		n:        opts.People,
		cultures: cultures(),
		places:   places(),
		streets:  streets(),
		byDOB:    make(map[string][]int),
	}
	total := 0
	for _, c := range g.cultures {
		total += c.weight
		g.cweights = append(g.cweights, total)
	}
	if g.n >= 20 {
		per := max(1, g.n/200)
		g.planned[twins], g.planned[jrsr], g.planned[namesakes] = per, per, per
		g.planned[collisions] = max(1, g.n/10_000)
	}
	for i := range g.licKey {
		g.licKey[i] = g.rng.Uint32()
	}
	return g
}

// run writes every row. Each unit is an ordinary person or the first of a
// pair; the pair's partner waits in pending until its row comes up.
// Selection sampling places exactly the planned number of pairs.
func (g *generator) run() {
	pairs := 0
	for k := range g.planned {
		pairs += g.planned[k]
	}
	left := g.planned
	for units := g.n - pairs; units > 0; units-- {
		for len(g.pending) > 0 && g.pending[0].due <= g.row {
			g.emit(heap.Pop(&g.pending).(partner).p, partnerRow)
		}
		x := g.rng.IntN(units)
		kind := ordinary
		for k := twins; k < kinds; k++ {
			if x < left[k] {
				kind = k
				break
			}
			x -= left[k]
		}
		if kind == ordinary {
			g.emit(g.person(g.pickCulture(), g.pickSex()), ordinary)
			continue
		}
		left[kind]--
		a, b := g.pair(kind)
		g.emit(a, kind)
		heap.Push(&g.pending, partner{due: g.row + g.rng.IntN(min(maxGap, g.n)), p: b})
	}
	for len(g.pending) > 0 {
		g.emit(heap.Pop(&g.pending).(partner).p, partnerRow)
	}
}

// emit writes one row of the kind.
func (g *generator) emit(p person, kind int) {
	g.row++
	id := recordID(g.row)
	r := &g.rec
	r[0], r[1], r[2], r[3], r[4], r[5], r[6] = id, p.first, p.middle, p.last, p.suffix, p.dob, p.sex
	r[7], r[8], r[9], r[10] = p.street, p.city, p.state, p.zip
	r[11] = licence(permute(uint32(g.row-1), &g.licKey))
	r[12] = "photo://" + id + ".jpg"
	_ = g.csv.Write(r[:]) // the error sticks; Registry reads it once
	if kind > ordinary {
		g.planted[kind]++
		if kind == collisions && len(g.ambiguous) < ambiguousSize {
			g.ambiguous = append(g.ambiguous, g.record())
		}
	}
	g.watch(p, kind)
}

// watch keeps Sample honest: the first ordinary rows are candidates, and
// any later (or earlier) row that agrees with one on name and dob strikes it.
func (g *generator) watch(p person, kind int) {
	clash := false
	for _, i := range g.byDOB[p.dob] {
		if c := &g.cands[i]; sameName(p, c.rec.Values) {
			c.unique, clash = false, true
		}
	}
	if len(g.cands) >= candidates {
		return
	}
	if kind == ordinary && p.suffix == "" {
		c := candidate{rec: g.record(), unique: !clash}
		for _, e := range g.early {
			if e.dob == p.dob && sameName(e, c.rec.Values) {
				c.unique = false
			}
		}
		g.byDOB[p.dob] = append(g.byDOB[p.dob], len(g.cands))
		g.cands = append(g.cands, c)
		return
	}
	g.early = append(g.early, p)
}

func sameName(p person, v map[string]string) bool {
	return match.Normalize(p.first) == match.Normalize(v["first_name"]) &&
		match.Normalize(p.last) == match.Normalize(v["last_name"])
}

// record copies the row just written.
func (g *generator) record() custodian.Record {
	v := make(map[string]string, len(g.rec))
	for i, c := range Columns() {
		v[c] = g.rec[i]
	}
	return custodian.Record{ID: g.rec[0], Values: v}
}

func (g *generator) summary() Summary {
	s := Summary{
		People:     g.row,
		Twins:      g.planted[twins],
		JrSr:       g.planted[jrsr],
		Namesakes:  g.planted[namesakes],
		Collisions: g.planted[collisions],
		Ambiguous:  g.ambiguous,
	}
	for _, c := range g.cands {
		if c.unique && len(s.Sample) < sampleSize {
			s.Sample = append(s.Sample, c.rec)
		}
	}
	return s
}

func recordID(n int) string {
	b := make([]byte, 0, 10)
	b = append(b, 'R')
	d := strconv.Itoa(n)
	for i := len(d); i < 7; i++ {
		b = append(b, '0')
	}
	return string(append(b, d...))
}

// permute maps [0, licSpace) onto itself one to one: a four-round Feistel
// network over 32 bits, walking the cycle until it lands inside the range.
func permute(x uint32, key *[4]uint32) uint32 {
	for {
		l, r := x>>16, x&0xffff
		for _, k := range key {
			l, r = r, l^(mix(r^k)&0xffff)
		}
		x = l<<16 | r
		if x < licSpace {
			return x
		}
	}
}

func mix(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

func licence(n uint32) string {
	var b [9]byte
	b[0] = byte('A' + n/100_000_000)
	n %= 100_000_000
	for i := 8; i >= 1; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// partners is a min-heap of pair partners by the row they are due at.
type partner struct {
	due int
	p   person
}

type partners []partner

func (h partners) Len() int           { return len(h) }
func (h partners) Less(i, j int) bool { return h[i].due < h[j].due }
func (h partners) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *partners) Push(x any)        { *h = append(*h, x.(partner)) }
func (h *partners) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
