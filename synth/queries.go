package synth

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// QueryOptions say how many queries to write against a registry, and the seed.
type QueryOptions struct {
	Queries int   // rows to write
	Seed    int64 // same seed, same bytes
}

// QuerySummary counts the queries written by kind.
type QuerySummary struct {
	Queries    int
	Registered int            // queries about a person in the registry
	ByKind     map[string]int // kind -> count
}

// MaxQueries bounds QueryOptions.Queries.
const MaxQueries = 100_000_000

// QueryColumns is the header Queries writes.
func QueryColumns() []string {
	return []string{"row_id", "first_name", "middle_name", "last_name", "suffix", "dob", "sex",
		"street", "city", "state", "zip", "truth_record_id", "kind"}
}

// Query kinds. The first group are about a registered person (the truth
// record) seen through one variation; the second are about someone who is
// not in the registry, most of them a near miss of a registered person R.
const (
	kExact          = iota // R as is, up to case, spacing and punctuation
	kNickname              // first name replaced by a nickname or formal form
	kTranslit              // another romanisation of the first or last name
	kDiacritics            // diacritics dropped (ü→ue in German names) or added
	kCompound              // one part of a compound surname, particles dropped or joined
	kTypo                  // one edit in the first or last name
	kTransposedDOB         // day and month swapped
	kDOBTypo               // one digit of the date changed
	kMoved                 // a new street and ZIP code
	kMissingDOB            // no date of birth
	kMissingAddress        // no street and ZIP code
	kTwin                  // R's last name, dob and address; another first name
	kSibling               // R's last name and address; another first name; dob 1–15 years apart
	kParentChild           // R's full name and address; dob 20–35 years apart
	kNamesake              // R's first and last name; another dob and address
	kSameNameDOB           // R's first and last name and dob; another address
	kNeighbour             // R's address; another person
	kStranger              // a fresh random person
	queryKinds

	firstUnregistered = kTwin
)

type kindSpec struct {
	name  string
	share int // per mille of its half of the queries
}

func kindSpecs() [queryKinds]kindSpec {
	return [queryKinds]kindSpec{
		{"exact", 150}, {"nickname", 100}, {"transliteration", 80}, {"diacritics", 70},
		{"compound_surname", 60}, {"typo", 150}, {"transposed_dob", 70}, {"dob_typo", 50},
		{"moved", 120}, {"missing_dob", 80}, {"missing_address", 70},
		{"twin_unregistered", 150}, {"sibling", 150}, {"parent_or_child", 100}, {"namesake", 200},
		{"same_name_and_dob", 100}, {"neighbour", 100}, {"stranger", 200},
	}
}

// Queries reads a registry CSV written by Registry (its header and rows) and writes
// opts.Queries labelled queries to w: truth_record_id is the registry record the
// query is about, or "" when the person is not in the registry.
//
// Half the queries (rounded down) are about registered people, the rest
// about people who are not registered; within each half the kinds take
// fixed shares, and a kind that does not apply to the records drawn falls
// back to another (typo or exact for registered people, stranger for the
// rest), so the shares written are close to, not exactly, the targets.
// Rows come out in random order with row ids q0000001, q0000002, ….
//
// Queries keeps per registry row three 32-bit keys (to prove that a
// query's person is not registered) and a sample of about 1.25 rows per
// query; 10 million registry rows cost about 120 MB for the keys.
//
// A query that is "not registered" agrees with no registry record on
// normalised first name, last name, dob and street, nor, where the query
// sits at a registered person's address, on first name (or any nickname or
// romanisation of it), dob and street. It can still be a fuzzy match of
// a registry record by chance (a stranger "Jon Smith" born the day a
// registered "John Smyth" was), which is the risk a standard must weigh.
func Queries(registry io.Reader, opts QueryOptions, w io.Writer) (QuerySummary, error) {
	if opts.Queries < 0 || opts.Queries > MaxQueries {
		return QuerySummary{}, custodian.FieldError("queries", "must be between 0 and %d", MaxQueries)
	}
	q := newQueryGen(opts)
	if err := q.read(registry); err != nil {
		return QuerySummary{}, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	q.csv = csv.NewWriter(bw)
	if err := q.csv.Write(QueryColumns()); err != nil {
		return QuerySummary{}, fmt.Errorf("write queries: %w", err)
	}
	sum, err := q.run(opts.Queries)
	if err != nil {
		return QuerySummary{}, err
	}
	q.csv.Flush()
	if err := q.csv.Error(); err != nil {
		return QuerySummary{}, fmt.Errorf("write queries: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return QuerySummary{}, fmt.Errorf("write queries: %w", err)
	}
	return sum, nil
}

// Registry columns the queries keep, in Columns order.
const (
	cID = iota
	cFirst
	cMiddle
	cLast
	cSuffix
	cDOB
	cSex
	cStreet
	cCity
	cState
	cZip
	keptColumns
)

// regRow is one registry row kept in memory: the kept fields end to end
// in one string, so a row costs one allocation.
type regRow struct {
	s   string
	end [keptColumns]uint16
}

const maxRowBytes = 1<<16 - 1

func makeRow(rec []string) regRow {
	var r regRow
	n := 0
	for i := range keptColumns {
		n += len(rec[i])
	}
	b := make([]byte, 0, n)
	for i := range keptColumns {
		b = append(b, rec[i]...)
		r.end[i] = uint16(len(b))
	}
	r.s = string(b)
	return r
}

func (r *regRow) get(c int) string {
	start := 0
	if c > 0 {
		start = int(r.end[c-1])
	}
	return r.s[start:r.end[c]]
}

// query is one output row before it has a row id.
type query struct {
	first, middle, last, suffix, dob, sex string
	street, city, state, zip              string
	truth                                 string
}

func fromRow(r *regRow) query {
	return query{
		first: r.get(cFirst), middle: r.get(cMiddle), last: r.get(cLast), suffix: r.get(cSuffix),
		dob: r.get(cDOB), sex: r.get(cSex), street: r.get(cStreet), city: r.get(cCity),
		state: r.get(cState), zip: r.get(cZip), truth: r.get(cID),
	}
}

// Hard-case pairs, found in the registry as it streams past.
const (
	hardTwins = iota
	hardJrSr
	hardNamesakes
	hardCollisions
	hardKinds
)

const (
	hardShare = 30     // per cent of registered queries about a hard-case row
	window    = 8192   // rows a partner is looked for in; Registry keeps pairs within 5,000
	minDay    = -25567 // 1900-01-01, the earliest dob a query is given
	tries     = 32     // rows looked at for one query before falling back
)

type queryGen struct {
	g   *generator // names, places and the random source
	rng *rand.Rand
	csv *csv.Writer
	rec [13]string

	n                     int // registry rows read
	sampleCap             int
	sample                pool
	hard                  [hardKinds]pool
	hardCap               [hardKinds]int
	hardSeen              [hardKinds]int
	hardPairs             [hardKinds][][2]regRow
	byFirstDOBStreet      keySet // first name, dob, street
	byFirstLastStreet     keySet // first and last name, street
	byFirstLastDOB        keySet // first and last name, dob
	ring                  [window]recent
	twinAt, famAt, nameAt map[uint64]int
	nick, translit        map[string][]string // compact key -> variants
	accent                map[string]string   // ASCII spelling -> the lists' accented one
	givenCult, lastCult   map[string]uint32   // compact key -> culture bits
	german                int                 // index of the German culture
	specs                 [queryKinds]kindSpec
	out                   query // the query just composed
	registeredN           int   // queries about registered people
}

func newQueryGen(opts QueryOptions) *queryGen {
	g := newGenerator(Options{Seed: opts.Seed})
	// A stream of its own, so that queries do not replay the registry's draws.
	g.rng = rand.New(rand.NewPCG(uint64(opts.Seed), 0x9e37_79b9_7f4a_7c15))
	q := &queryGen{
		g:         g,
		rng:       g.rng,
		sampleCap: opts.Queries + opts.Queries/4 + 64,
		twinAt:    make(map[uint64]int, window),
		famAt:     make(map[uint64]int, window),
		nameAt:    make(map[uint64]int, window),
		specs:     kindSpecs(),
	}
	q.registeredN = opts.Queries / 2
	hardPicks := q.registeredN * hardShare / 100
	for k, w := range hardWeights() {
		q.hardCap[k] = max(8, hardPicks*w/100) // pairs: two rows each, so room to spare
	}
	for i := range q.ring {
		q.ring[i].row = -1
	}
	q.nick = variantTable(nicknames(), true)
	q.translit = variantTable(transliterations(), false)
	q.indexCultures()
	return q
}

// hardWeights are the per-cent shares of hard-case picks by kind of pair.
func hardWeights() [hardKinds]int { return [hardKinds]int{30, 30, 20, 20} }

// read streams the registry: it checks the header, keeps the keys of
// every row, a uniform sample of rows (reservoir sampling) and samples
// of the hard-case pairs it sees.
func (q *queryGen) read(r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return custodian.FieldError("registry", "is empty; want the header %s and at least 2 rows", strings.Join(Columns(), ","))
	}
	if err != nil {
		return readError(err)
	}
	if !slices.Equal(head, Columns()) {
		return custodian.FieldError("registry", "header is not %s", strings.Join(Columns(), ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return readError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := checkRow(rec, line); err != nil {
			return err
		}
		q.add(rec)
	}
	if q.n < 2 {
		return custodian.FieldError("registry", "has %d rows; want at least 2", q.n)
	}
	q.byFirstDOBStreet.build()
	q.byFirstLastStreet.build()
	q.byFirstLastDOB.build()
	q.sample.shuffle(q.rng)
	for k := range q.hard {
		for _, p := range q.hardPairs[k] {
			q.hard[k].rows = append(q.hard[k].rows, p[0], p[1])
		}
		q.hardPairs[k] = nil
		q.hard[k].limit = 3 // each hard-case row serves at most three queries
		q.hard[k].shuffle(q.rng)
	}
	return nil
}

func readError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return custodian.FieldError("registry", "line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("read registry: %w", err)
}

// checkRow refuses rows the generator could not vary; the messages name
// the line and column, never the value.
func checkRow(rec []string, line int) error {
	n := 0
	for i := range keptColumns {
		n += len(rec[i])
	}
	switch {
	case n > maxRowBytes:
		return custodian.FieldError("registry", "line %d is longer than %d bytes", line, maxRowBytes)
	case strings.TrimSpace(rec[cFirst]) == "" || strings.TrimSpace(rec[cLast]) == "":
		return custodian.FieldError("registry", "line %d: first_name and last_name are required", line)
	case !validDate(rec[cDOB]):
		return custodian.FieldError("registry", "line %d: dob is not a date YYYY-MM-DD", line)
	}
	return nil
}

// recent is a row in the window hard-case partners are looked for in.
type recent struct {
	row                      int
	f                        [keptColumns]string
	first, last, street, dob uint64
	twinKey, famKey, nameKey uint64
	zip, suffix              string
}

func (q *queryGen) add(rec []string) {
	i := q.n
	q.n++
	hf, hl := fieldHash(rec[cFirst]), fieldHash(rec[cLast])
	hd, hs, hz := fieldHash(rec[cDOB]), fieldHash(rec[cStreet]), fieldHash(rec[cZip])
	q.byFirstDOBStreet.add(key3(hf, hd, hs))
	q.byFirstLastStreet.add(key3(hf, hl, hs))
	q.byFirstLastDOB.add(key3(hf, hl, hd))

	if i < q.sampleCap {
		q.sample.rows = append(q.sample.rows, makeRow(rec))
	} else if j := q.rng.IntN(i + 1); j < q.sampleCap {
		q.sample.rows[j] = makeRow(rec)
	}

	// Hard cases: the latest row in the window with the same key.
	slot := &q.ring[i%window]
	if slot.row >= 0 {
		forget(q.twinAt, slot.twinKey, slot.row)
		forget(q.famAt, slot.famKey, slot.row)
		forget(q.nameAt, slot.nameKey, slot.row)
	}
	// The slot's old row has left the window, so no lookup below finds it.
	cur := slot
	cur.row, cur.first, cur.last, cur.street, cur.dob = i, hf, hl, hs, hd
	cur.zip, cur.suffix = rec[cZip], rec[cSuffix]
	copy(cur.f[:], rec[:keptColumns])
	cur.twinKey = key4(hl, hd, hs, hz)
	cur.famKey = key4(hf, hl, hs, hz)
	cur.nameKey = key4(hf, hl, 0, 0)
	if j, ok := q.twinAt[cur.twinKey]; ok {
		o := &q.ring[j%window]
		if o.last == hl && o.dob == hd && o.street == hs && o.zip == cur.zip && o.first != hf && o.suffix == "" && cur.suffix == "" {
			q.pair(hardTwins, o, cur)
		}
	}
	if j, ok := q.famAt[cur.famKey]; ok {
		o := &q.ring[j%window]
		if o.first == hf && o.last == hl && o.street == hs && o.zip == cur.zip &&
			(o.suffix == "Sr." && cur.suffix == "Jr." || o.suffix == "Jr." && cur.suffix == "Sr.") {
			q.pair(hardJrSr, o, cur)
		}
	}
	if j, ok := q.nameAt[cur.nameKey]; ok {
		o := &q.ring[j%window]
		if o.first == hf && o.last == hl && (o.street != hs || o.zip != cur.zip) {
			if o.dob == hd {
				q.pair(hardCollisions, o, cur)
			} else {
				q.pair(hardNamesakes, o, cur)
			}
		}
	}
	q.twinAt[cur.twinKey] = i
	q.famAt[cur.famKey] = i
	q.nameAt[cur.nameKey] = i
}

func forget(m map[uint64]int, k uint64, row int) {
	if m[k] == row {
		delete(m, k)
	}
}

// pair keeps a uniform sample of the pairs of each kind.
func (q *queryGen) pair(kind int, a, b *recent) {
	q.hardSeen[kind]++
	if len(q.hardPairs[kind]) < q.hardCap[kind] {
		q.hardPairs[kind] = append(q.hardPairs[kind], [2]regRow{makeRow(a.f[:]), makeRow(b.f[:])})
	} else if j := q.rng.IntN(q.hardSeen[kind]); j < q.hardCap[kind] {
		q.hardPairs[kind][j] = [2]regRow{makeRow(a.f[:]), makeRow(b.f[:])}
	}
}

// run writes n queries; the kinds are drawn without replacement from the
// target counts, which interleaves them at random.
func (q *queryGen) run(n int) (QuerySummary, error) {
	var left [queryKinds]int
	var reg, unreg []int
	for k := range queryKinds {
		if k < firstUnregistered {
			reg = append(reg, q.specs[k].share)
		} else {
			unreg = append(unreg, q.specs[k].share)
		}
	}
	copy(left[:], apportion(q.registeredN, reg))
	copy(left[firstUnregistered:], apportion(n-q.registeredN, unreg))
	sum := QuerySummary{Queries: n, ByKind: map[string]int{}}
	var written [queryKinds]int
	for i := range n {
		x := q.rng.IntN(n - i)
		kind := 0
		for x >= left[kind] {
			x -= left[kind]
			kind++
		}
		left[kind]--
		var got int
		if kind < firstUnregistered {
			got = q.registered(kind)
			sum.Registered++
		} else {
			var ok bool
			if got, ok = q.unregistered(kind); !ok {
				return QuerySummary{}, custodian.Errorf(custodian.EInvalid, "registry leaves no room for a person who is not in it")
			}
		}
		written[got]++
		q.write(i+1, got)
		if i%4096 == 0 {
			if err := q.csv.Error(); err != nil {
				return QuerySummary{}, fmt.Errorf("write queries: %w", err)
			}
		}
	}
	for k, c := range written {
		if c > 0 {
			sum.ByKind[q.specs[k].name] = c
		}
	}
	return sum, nil
}

// apportion splits n by the shares, largest remainder first.
func apportion(n int, shares []int) []int {
	total := 0
	for _, s := range shares {
		total += s
	}
	out := make([]int, len(shares))
	rest := make([]int, len(shares))
	given := 0
	for i, s := range shares {
		out[i] = n * s / total
		rest[i] = n * s % total
		given += out[i]
	}
	for ; given < n; given++ {
		best := 0
		for i := range rest {
			if rest[i] > rest[best] {
				best = i
			}
		}
		out[best]++
		rest[best] = -1
	}
	return out
}

func (q *queryGen) write(n, kind int) {
	x := &q.out
	r := &q.rec
	r[0] = rowID(n)
	r[1], r[2], r[3], r[4], r[5], r[6] = x.first, x.middle, x.last, x.suffix, x.dob, x.sex
	r[7], r[8], r[9], r[10] = x.street, x.city, x.state, x.zip
	r[11], r[12] = x.truth, q.specs[kind].name
	_ = q.csv.Write(r[:]) // the error sticks; run and Queries read it
}

func rowID(n int) string {
	id := recordID(n)
	return "q" + id[1:]
}

// registered writes a query about a registry record of the kind, or of
// a fallback kind when no record drawn allows it, and returns the kind.
func (q *queryGen) registered(kind int) int {
	try := func(k int) func(*regRow) bool {
		return func(r *regRow) bool { return q.vary(k, r) }
	}
	if q.rng.IntN(100) < hardShare && q.takeHard(try(kind)) {
		return kind
	}
	if q.sample.take(q.rng, tries, try(kind)) {
		return kind
	}
	for _, k := range []int{kTypo, kExact} {
		if q.sample.take(q.rng, tries, try(k)) {
			return k
		}
	}
	// Unreachable: exact applies to every row.
	r := q.sample.rows[q.rng.IntN(len(q.sample.rows))]
	q.out = fromRow(&r)
	return kExact
}

func (q *queryGen) takeHard(try func(*regRow) bool) bool {
	weights := hardWeights()
	total := 0
	for k := range q.hard {
		if !q.hard[k].usable() {
			weights[k] = 0
		}
		total += weights[k]
	}
	if total == 0 {
		return false
	}
	x := q.rng.IntN(total)
	k := 0
	for x >= weights[k] {
		x -= weights[k]
		k++
	}
	return q.hard[k].take(q.rng, tries/4, try)
}

// unregistered writes a query about someone not in the registry, near R
// for the near-miss kinds, and returns the kind written.
func (q *queryGen) unregistered(kind int) (int, bool) {
	if kind != kStranger && q.sample.take(q.rng, tries/2, func(r *regRow) bool { return q.nearMiss(kind, r) }) {
		return kind, true
	}
	for range 1000 {
		if q.stranger() {
			return kStranger, true
		}
	}
	return 0, false
}

// pool hands out kept rows in random order, each at most once per round.
type pool struct {
	rows   []regRow
	next   int
	rounds int
	limit  int // rounds allowed; 0 is no limit
}

func (p *pool) shuffle(rng *rand.Rand) {
	rng.Shuffle(len(p.rows), func(i, j int) { p.rows[i], p.rows[j] = p.rows[j], p.rows[i] })
}

func (p *pool) usable() bool {
	return len(p.rows) > 0 && (p.limit == 0 || p.rounds < p.limit)
}

// take offers try the next rows, up to n of them, and keeps the first it
// accepts; the rows passed over stay for later queries.
func (p *pool) take(rng *rand.Rand, n int, try func(*regRow) bool) bool {
	if !p.usable() {
		return false
	}
	if p.next == len(p.rows) {
		p.rounds++
		if !p.usable() {
			return false
		}
		p.shuffle(rng)
		p.next = 0
	}
	for j := p.next; j < len(p.rows) && j < p.next+n; j++ {
		if try(&p.rows[j]) {
			p.rows[p.next], p.rows[j] = p.rows[j], p.rows[p.next]
			p.next++
			return true
		}
	}
	return false
}

// vary composes a query of the kind about r into q.out; false when the
// kind does not apply to r or the variant would point at another record.
func (q *queryGen) vary(kind int, r *regRow) bool {
	x := fromRow(r)
	var ok bool
	switch kind {
	case kExact:
		if q.rng.IntN(2) == 0 {
			q.formatNoise(&x)
		}
		ok = true
	case kNickname:
		ok = q.swapFirst(&x, q.nick)
	case kTranslit:
		ok = q.transliterate(&x)
	case kDiacritics:
		ok = q.diacritics(&x)
	case kCompound:
		ok = q.compound(&x)
	case kTypo:
		ok = q.typo(&x)
	case kTransposedDOB:
		ok = transposeDOB(&x)
	case kDOBTypo:
		ok = q.dobTypo(&x)
	case kMoved:
		ok = q.move(&x)
	case kMissingDOB:
		x.dob, ok = "", true
	case kMissingAddress:
		x.street, x.zip, ok = "", "", true
	}
	if !ok || !q.stillAbout(&x, r) {
		return false
	}
	if kind != kExact && x.middle != "" {
		// Agencies' files often carry only the middle initial, or none.
		switch q.rng.IntN(20) {
		case 0, 1, 2:
			rn, _ := utf8.DecodeRuneInString(x.middle)
			x.middle = string(rn)
		case 3, 4:
			x.middle = ""
		}
	}
	q.out = x
	return true
}

// stillAbout refuses a variant of r that agrees with some other registry
// record on a key where it no longer agrees with r: a nickname that is a
// registered sibling's name, a typo that spells another registered person.
func (q *queryGen) stillAbout(x *query, r *regRow) bool {
	rf, rl, rd, rs := fieldHash(r.get(cFirst)), fieldHash(r.get(cLast)), fieldHash(r.get(cDOB)), fieldHash(r.get(cStreet))
	xf, xl, xd, xs := fieldHash(x.first), fieldHash(x.last), fieldHash(x.dob), fieldHash(x.street)
	if x.dob != "" {
		if k := key3(xf, xl, xd); k != key3(rf, rl, rd) && q.byFirstLastDOB.has(k) {
			return false
		}
		if x.street != "" {
			if k := key3(xf, xd, xs); k != key3(rf, rd, rs) && q.byFirstDOBStreet.has(k) {
				return false
			}
		}
	}
	if x.street != "" {
		if k := key3(xf, xl, xs); k != key3(rf, rl, rs) && q.byFirstLastStreet.has(k) {
			return false
		}
	}
	return true
}

// formatNoise changes what normalisation removes: case, spacing and
// punctuation.
func (q *queryGen) formatNoise(x *query) {
	switch q.rng.IntN(4) {
	case 0: // a system that keeps everything in capitals
		for _, f := range []*string{&x.first, &x.middle, &x.last, &x.suffix, &x.street, &x.city} {
			*f = strings.ToUpper(*f)
		}
	case 1:
		x.first, x.middle, x.last = strings.ToLower(x.first), strings.ToLower(x.middle), strings.ToLower(x.last)
	case 2:
		x.street = strings.ReplaceAll(x.street, " ", "  ")
	case 3:
		x.suffix = strings.TrimSuffix(x.suffix, ".")
		if !strings.Contains(x.street, " Apt ") {
			x.street += "." // "Main St."
		}
	}
}

func (q *queryGen) swapFirst(x *query, table map[string][]string) bool {
	vs := table[compactKey(x.first)]
	if len(vs) == 0 {
		return false
	}
	x.first = restyle(vs[q.rng.IntN(len(vs))], x.first)
	return true
}

func (q *queryGen) transliterate(x *query) bool {
	first := len(q.translit[compactKey(x.first)]) > 0
	last := len(q.translit[compactKey(x.last)]) > 0
	switch {
	case first && (!last || q.rng.IntN(2) == 0):
		return q.swapFirst(x, q.translit)
	case last:
		vs := q.translit[compactKey(x.last)]
		x.last = vs[q.rng.IntN(len(vs))]
		return true
	}
	return false
}

func (q *queryGen) diacritics(x *query) bool {
	type change struct {
		f  *string
		to string
	}
	var opts []change
	for _, f := range []*string{&x.first, &x.last} {
		if to, ok := q.accentVariant(*f); ok {
			opts = append(opts, change{f, to})
		}
	}
	if len(opts) == 0 {
		return false
	}
	if q.rng.IntN(3) > 0 {
		c := opts[q.rng.IntN(len(opts))]
		*c.f = c.to
		return true
	}
	// A system that holds ASCII only: every field loses its marks.
	for _, c := range opts {
		*c.f = c.to
	}
	x.middle = stripDiacritics(x.middle, false)
	x.street = stripDiacritics(x.street, false)
	x.city = stripDiacritics(x.city, false)
	return true
}

// accentVariant drops a name's diacritics (ä→ae in German names half the
// time, as German writes them without the marks) or, for a plain name
// the lists also spell with them, adds them.
func (q *queryGen) accentVariant(s string) (string, bool) {
	if isASCII(s) {
		to, ok := q.accent[s]
		return to, ok
	}
	k := compactKey(s)
	german := q.givenCult[k]&(3<<(2*q.german)) != 0 || q.lastCult[k]&(1<<q.german) != 0
	to := stripDiacritics(s, german && q.rng.IntN(2) == 0)
	return to, to != s
}

func (q *queryGen) compound(x *query) bool {
	vs := compoundVariants(x.last)
	if len(vs) == 0 {
		return false
	}
	x.last = vs[q.rng.IntN(len(vs))]
	return true
}

// typo makes one edit in the first or last name.
func (q *queryGen) typo(x *query) bool {
	fields := []*string{&x.first, &x.last}
	if q.rng.IntN(2) == 0 {
		fields[0], fields[1] = fields[1], fields[0]
	}
	for _, f := range fields {
		if s, ok := q.typoIn(*f); ok {
			*f = s
			return true
		}
	}
	return false
}

func (q *queryGen) typoIn(s string) (string, bool) {
	rs := []rune(s)
	var letters []int
	for i, r := range rs {
		if unicode.IsLetter(r) {
			letters = append(letters, i)
		}
	}
	if len(letters) < 3 {
		return "", false
	}
	// Half the typos spare the first letter, which is where blocking
	// on initials would hide the others.
	from := q.rng.IntN(2)
	for range 8 {
		p := letters[from+q.rng.IntN(len(letters)-from)]
		out := slices.Clone(rs)
		switch q.rng.IntN(4) {
		case 0: // substitution
			out[p] = matchCase(q.nearKey(rs[p]), rs[p])
		case 1: // deletion
			out = slices.Delete(out, p, p+1)
		case 2: // insertion after p: a neighbouring key or a doubled letter
			c := unicode.ToLower(rs[p])
			if q.rng.IntN(2) == 0 {
				c = q.nearKey(c)
			}
			out = slices.Insert(out, p+1, c)
		case 3: // transposition with the next letter
			if p+1 >= len(rs) || !unicode.IsLetter(rs[p+1]) || unicode.ToLower(rs[p]) == unicode.ToLower(rs[p+1]) {
				continue
			}
			out[p], out[p+1] = rs[p+1], rs[p]
		}
		// Keep the name's capital where it was.
		if len(out) > 0 && unicode.IsUpper(rs[0]) {
			out[0] = unicode.ToUpper(out[0])
			if len(out) > 1 && len(rs) > 1 && unicode.IsLower(rs[1]) {
				out[1] = unicode.ToLower(out[1])
			}
		}
		t := string(out)
		if compactKey(t) != compactKey(s) {
			return t, true
		}
	}
	return "", false
}

func matchCase(r, like rune) rune {
	if unicode.IsUpper(like) {
		return unicode.ToUpper(r)
	}
	return r
}

// nearKey returns a letter next to r on a QWERTY keyboard, or a random
// letter for one it does not have.
func (q *queryGen) nearKey(r rune) rune {
	const rows = "qwertyuiop asdfghjkl zxcvbnm"
	r0 := unicode.ToLower(r)
	if i := strings.IndexRune(rows, r0); i >= 0 && q.rng.IntN(4) > 0 {
		var near []rune
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(rows) && rows[j] != ' ' {
				near = append(near, rune(rows[j]))
			}
		}
		return near[q.rng.IntN(len(near))]
	}
	for {
		c := rune('a' + q.rng.IntN(26))
		if c != r0 {
			return c
		}
	}
}

func transposeDOB(x *query) bool {
	y, m, d, ok := splitDate(x.dob)
	if !ok || d > 12 || d == m {
		return false
	}
	x.dob = formatDate(daysFromCivil(y, d, m))
	return true
}

func (q *queryGen) dobTypo(x *query) bool {
	positions := [...]int{2, 3, 3, 5, 6, 8, 9, 9} // decade and year, month, day
	for range 20 {
		b := []byte(x.dob)
		p := positions[q.rng.IntN(len(positions))]
		c := byte('0' + q.rng.IntN(10))
		if c == b[p] {
			continue
		}
		b[p] = c
		if y, _, _, ok := splitDate(string(b)); ok && y >= 1900 && y <= 2025 {
			x.dob = string(b)
			return true
		}
	}
	return false
}

// move gives the person a new street and ZIP code: across town half the
// time, to another city the rest.
func (q *queryGen) move(x *query) bool {
	old := compactKey(x.street)
	for range 10 {
		var p person
		q.g.address(&p)
		if q.rng.IntN(2) == 0 && len(x.zip) == 5 {
			p.city, p.state = x.city, x.state
			z := q.rng.IntN(100)
			p.zip = x.zip[:3] + string([]byte{byte('0' + z/10), byte('0' + z%10)})
		}
		if compactKey(p.street) == old || p.zip == x.zip {
			continue
		}
		x.street, x.city, x.state, x.zip = p.street, p.city, p.state, p.zip
		return true
	}
	return false
}

// nearMiss composes a query of the kind about someone near r who is not
// in the registry.
func (q *queryGen) nearMiss(kind int, r *regRow) bool {
	var x query
	var ok bool
	switch kind {
	case kTwin, kSibling:
		x, ok = q.sibling(r, kind == kTwin)
	case kParentChild:
		x, ok = q.parentOrChild(r)
	case kNamesake, kSameNameDOB:
		x, ok = q.namesake(r, kind == kSameNameDOB)
	case kNeighbour:
		x, ok = q.neighbour(r)
	}
	if !ok || !q.unknown(&x) {
		return false
	}
	q.out = x
	return true
}

// unknown is the guarantee every not-registered query meets: no registry
// record agrees with it on normalised first name, last name, dob and street.
// (Each kind checks more; this is the floor.)
func (q *queryGen) unknown(x *query) bool {
	f, l, d, s := fieldHash(x.first), fieldHash(x.last), fieldHash(x.dob), fieldHash(x.street)
	return !(q.byFirstLastDOB.has(key3(f, l, d)) && q.byFirstLastStreet.has(key3(f, l, s)) && q.byFirstDOBStreet.has(key3(f, d, s)))
}

// sibling is a brother or sister at r's address: a twin (same dob) not in
// the registry, or one born 1 to 15 years apart. No registry record at
// that address with that dob has the first name or a variant of it.
func (q *queryGen) sibling(r *regRow, twin bool) (query, bool) {
	ci, fem := q.culture(r)
	c := &q.g.cultures[ci]
	x := fromRow(r)
	x.truth, x.suffix = "", ""
	if !gendered(c) && q.rng.IntN(2) == 0 {
		x.sex = q.g.pickSex()
		fem = q.g.female(x.sex)
	}
	if !twin {
		d0 := parseDay(x.dob)
		delta := 366 + q.rng.IntN(15*365-366+1)
		if q.rng.IntN(2) == 0 {
			delta = -delta
		}
		d := d0 + delta
		if d < minDay || d > maxBirth {
			d = d0 - delta
		}
		x.dob = formatDate(d)
	}
	hl, hd, hs := fieldHash(x.last), fieldHash(x.dob), fieldHash(x.street)
	for range 40 {
		name := q.g.given(c, fem)
		if q.related(name, r.get(cFirst)) {
			continue
		}
		if q.anyRelated(name, func(f uint64) bool {
			return q.byFirstDOBStreet.has(key3(f, hd, hs)) || q.byFirstLastDOB.has(key3(f, hl, hd))
		}) {
			continue
		}
		x.first, x.middle = name, ""
		if r.get(cMiddle) != "" {
			if m := q.g.given(c, fem); compactKey(m) != compactKey(name) {
				x.middle = m
			}
		}
		return x, true
	}
	return query{}, false
}

// parentOrChild is r's father or son (mother or daughter) of the same
// name at r's address, 20 to 35 years older or younger: for a Jr. the
// missing Sr., for a Sr. the missing Jr. It is refused when the registry
// already holds another person of that name at that address.
func (q *queryGen) parentOrChild(r *regRow) (query, bool) {
	x := fromRow(r)
	x.truth = ""
	hf, hl, hs := fieldHash(x.first), fieldHash(x.last), fieldHash(x.street)
	if q.byFirstLastStreet.count(key3(hf, hl, hs)) != 1 {
		return query{}, false
	}
	older := q.rng.IntN(2) == 0
	fixed := true
	var parent, child string
	switch x.suffix {
	case "Jr.":
		older, parent = true, "Sr."
	case "Sr.":
		older, child = false, "Jr."
	case "II":
		parent, child, fixed = "", "III", false
	case "III":
		parent, child, fixed = "II", "IV", false
	case "IV":
		parent, child, fixed = "III", "V", false
	default:
		fixed = false
		if x.sex == "M" && q.rng.IntN(2) == 0 {
			parent, child = "Sr.", "Jr."
		}
	}
	d0 := parseDay(x.dob)
	delta := 20*365 + 5 + q.rng.IntN(15*365-5)
	d := d0 + delta
	if older {
		d = d0 - delta
	}
	if d < minDay || d > maxBirth {
		if fixed {
			return query{}, false
		}
		older = !older
		if d = d0 + delta; older {
			d = d0 - delta
		}
		if d < minDay || d > maxBirth {
			return query{}, false
		}
	}
	x.dob = formatDate(d)
	x.suffix = child
	if older {
		x.suffix = parent
	}
	hd := fieldHash(x.dob)
	if q.anyRelated(x.first, func(f uint64) bool {
		return q.byFirstDOBStreet.has(key3(f, hd, hs)) || q.byFirstLastDOB.has(key3(f, hl, hd))
	}) {
		return query{}, false
	}
	return x, true
}

// namesake is another person with r's first and last name: with another
// dob and address, or (sameDOB) with r's dob at another address, which
// no standard can tell from r without the address.
func (q *queryGen) namesake(r *regRow, sameDOB bool) (query, bool) {
	ci, _ := q.culture(r)
	p := q.g.person(ci, r.get(cSex))
	x := query{first: r.get(cFirst), middle: p.middle, last: r.get(cLast), dob: p.dob, sex: r.get(cSex),
		street: p.street, city: p.city, state: p.state, zip: p.zip}
	if sameDOB {
		// A different person with the same name and date of birth: as
		// such people do, and unlike R moving house, they carry a middle
		// name of their own (R must have one to differ from).
		rm := compactKey(r.get(cMiddle))
		if rm == "" || p.middle == "" || compactKey(p.middle)[:1] == rm[:1] || q.related(p.middle, r.get(cMiddle)) {
			return query{}, false
		}
		x.dob = r.get(cDOB)
	}
	if compactKey(x.street) == compactKey(r.get(cStreet)) || !sameDOB && x.dob == r.get(cDOB) {
		return query{}, false
	}
	hl, hd, hs := fieldHash(x.last), fieldHash(x.dob), fieldHash(x.street)
	if q.anyRelated(x.first, func(f uint64) bool {
		if sameDOB {
			return q.byFirstLastStreet.has(key3(f, hl, hs))
		}
		return q.byFirstLastDOB.has(key3(f, hl, hd))
	}) {
		return query{}, false
	}
	return x, true
}

// neighbour is someone else at r's address.
func (q *queryGen) neighbour(r *regRow) (query, bool) {
	p := q.g.person(q.g.pickCulture(), q.g.pickSex())
	if compactKey(p.last) == compactKey(r.get(cLast)) || q.related(p.first, r.get(cFirst)) {
		return query{}, false
	}
	x := query{first: p.first, middle: p.middle, last: p.last, suffix: p.suffix, dob: p.dob, sex: p.sex,
		street: r.get(cStreet), city: r.get(cCity), state: r.get(cState), zip: r.get(cZip)}
	if !q.fresh(&x) {
		return query{}, false
	}
	return x, true
}

// stranger is a fresh random person.
func (q *queryGen) stranger() bool {
	p := q.g.person(q.g.pickCulture(), q.g.pickSex())
	x := query{first: p.first, middle: p.middle, last: p.last, suffix: p.suffix, dob: p.dob, sex: p.sex,
		street: p.street, city: p.city, state: p.state, zip: p.zip}
	if !q.fresh(&x) || !q.unknown(&x) {
		return false
	}
	q.out = x
	return true
}

// fresh says that no registry record has x's first name (or a variant of
// it) with x's last name and dob, or with x's dob and street.
func (q *queryGen) fresh(x *query) bool {
	hl, hd, hs := fieldHash(x.last), fieldHash(x.dob), fieldHash(x.street)
	return !q.anyRelated(x.first, func(f uint64) bool {
		return q.byFirstLastDOB.has(key3(f, hl, hd)) || q.byFirstDOBStreet.has(key3(f, hd, hs))
	})
}

// culture guesses r's naming tradition from its names, and which list of
// given names its first name comes from.
func (q *queryGen) culture(r *regRow) (int, bool) {
	gm := q.givenCult[compactKey(r.get(cFirst))]
	last := r.get(cLast)
	lm := q.lastCult[compactKey(last)]
	if i := strings.IndexAny(last, " -"); i > 0 {
		lm |= q.lastCult[compactKey(last[:i])]
	}
	ci := -1
	for c := range q.g.cultures {
		if gm&(3<<(2*c)) != 0 && lm&(1<<c) != 0 {
			ci = c
			break
		}
	}
	for c := range q.g.cultures {
		if ci < 0 && gm&(3<<(2*c)) != 0 {
			ci = c
		}
	}
	for c := range q.g.cultures {
		if ci < 0 && lm&(1<<c) != 0 {
			ci = c
		}
	}
	if ci < 0 {
		ci = 0
	}
	switch r.get(cSex) {
	case "F":
		return ci, true
	case "M":
		return ci, false
	}
	return ci, gm&(2<<(2*ci)) != 0
}

func (q *queryGen) indexCultures() {
	q.givenCult = map[string]uint32{}
	q.lastCult = map[string]uint32{}
	q.accent = map[string]string{}
	addAccent := func(s string) {
		if a := stripDiacritics(s, false); a != s {
			if _, ok := q.accent[a]; !ok {
				q.accent[a] = s
			}
		}
	}
	for ci, c := range q.g.cultures {
		if c.name == "german" {
			q.german = ci
		}
		for fem, list := range [][]string{c.male, c.female} {
			for _, s := range list {
				q.givenCult[compactKey(s)] |= 1 << (2*ci + fem)
				addAccent(s)
			}
		}
		for _, list := range [][]string{c.middleMale, c.middleFemale} {
			for _, s := range list {
				addAccent(s)
			}
		}
		for _, list := range [][]string{c.last, c.particles} {
			for _, s := range list {
				for _, form := range strings.Split(s, "|") {
					q.lastCult[compactKey(form)] |= 1 << ci
					addAccent(form)
				}
			}
		}
	}
}

// related says whether two first names are the same name: equal when
// normalised, or one a variant of the other, or both variants of a third
// (Bill and Will of William).
func (q *queryGen) related(a, b string) bool {
	ka, kb := compactKey(a), compactKey(b)
	if ka == kb {
		return true
	}
	sa := q.variantKeys(ka)
	for _, k := range q.variantKeys(kb) {
		if slices.Contains(sa, k) {
			return true
		}
	}
	return false
}

func (q *queryGen) variantKeys(k string) []string {
	out := []string{k}
	for _, t := range []map[string][]string{q.nick, q.translit} {
		for _, v := range t[k] {
			out = append(out, compactKey(v))
		}
	}
	return out
}

// anyRelated reports whether hit holds for the hash of name or of any name
// related to it.
func (q *queryGen) anyRelated(name string, hit func(first uint64) bool) bool {
	var seen []string
	for _, k := range q.variantKeys(compactKey(name)) {
		for _, k2 := range q.variantKeys(k) {
			if !slices.Contains(seen, k2) {
				seen = append(seen, k2)
				if hit(fieldHash(k2)) {
					return true
				}
			}
		}
	}
	return false
}

// variantTable reads "Formal: a, b" lines (directed: the forms map back
// to the formal name) or "a, b, c" groups (every member to the others).
func variantTable(lines []string, directed bool) map[string][]string {
	t := map[string][]string{}
	add := func(from, to string) {
		k := compactKey(from)
		if k == compactKey(to) {
			return
		}
		for _, v := range t[k] {
			if compactKey(v) == compactKey(to) {
				return
			}
		}
		t[k] = append(t[k], to)
	}
	for _, line := range lines {
		if directed {
			formal, rest, _ := strings.Cut(line, ":")
			for _, n := range strings.Split(rest, ",") {
				n = strings.TrimSpace(n)
				add(formal, n)
				add(n, formal)
			}
			continue
		}
		group := strings.Split(line, ",")
		for i := range group {
			group[i] = strings.TrimSpace(group[i])
		}
		for _, a := range group {
			for _, b := range group {
				add(a, b)
			}
		}
	}
	return t
}

// restyle writes a variant of a two-part given name the way the registry
// wrote the original: "Zhi-Hao" → "Chih-Hao", "Zhihao" → "Chihhao".
func restyle(v, orig string) string {
	i := strings.IndexByte(v, ' ')
	switch {
	case i < 0:
		return v
	case strings.Contains(orig, "-") && !strings.Contains(orig, " "):
		return strings.ReplaceAll(v, " ", "-")
	case !strings.Contains(orig, " "):
		return v[:i] + strings.ToLower(strings.ReplaceAll(v[i+1:], " ", ""))
	}
	return v
}

// compoundVariants returns what clerks make of a compound or particle
// surname: one part of it, the particles dropped or run together, the
// hyphen for a space or the other way round.
func compoundVariants(last string) []string {
	var toks []string
	var seps []byte
	start := 0
	for i := 0; i < len(last); i++ {
		if last[i] == ' ' || last[i] == '-' {
			toks = append(toks, last[start:i])
			seps = append(seps, last[i])
			start = i + 1
		}
	}
	toks = append(toks, last[start:])
	var out []string
	add := func(s string) {
		if s != "" && s != last && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(toks) == 1 {
		if i := strings.IndexByte(last, '\''); i > 0 && i < len(last)-1 { // O'Brien, D'Amours
			add(last[:i] + last[i+1:])
			add(last[:i] + " " + last[i+1:])
		}
		return out
	}
	np := 0
	for np < len(toks)-1 && particle(toks[np]) != 0 {
		np++
	}
	swapped := func() string {
		b := []byte(last)
		for i, c := range b {
			switch c {
			case ' ':
				b[i] = '-'
			case '-':
				b[i] = ' '
			}
		}
		return string(b)
	}
	core := toks[np:]
	if np > 0 {
		lead := strings.ToLower(toks[0])
		switch {
		case lead == "st" || lead == "saint":
			full := map[string]string{"st": "Saint", "saint": "St"}[lead]
			add(full + last[len(toks[0]):])
			add(swapped())
		case lead == "ó" || lead == "o":
			add("O'" + strings.Join(core, " "))
			add(strings.Join(core, " "))
		default:
			if particle(toks[0]) == dropped {
				add(strings.Join(core, " "))
			}
			joined := toks[0]
			for _, t := range toks[1:] {
				joined += strings.ToLower(t)
			}
			if lead == "mac" {
				joined = toks[0] + strings.Join(core, "")
			}
			add(capitalise(joined))
			if np == 1 && len(core) == 1 {
				add(swapped())
			}
		}
	}
	if len(core) >= 2 {
		add(core[0]) // the father's surname, or the first of a double name, most often
		for _, t := range core {
			add(t)
		}
		add(swapped())
	}
	return out
}

// Particles that clerks drop (de, van, al) and those that belong to the
// name (Abu, Ben, Mac).
const (
	dropped = 1
	kept    = 2
)

func particle(tok string) int {
	switch strings.ToLower(tok) {
	case "de", "del", "la", "las", "los", "da", "das", "do", "dos", "di", "du",
		"van", "der", "den", "ter", "ten", "von", "vom", "zu", "zum", "le", "al", "el":
		return dropped
	case "abu", "abou", "ben", "bin", "bou", "abd", "abdel", "abdul", "st", "saint", "mac", "ó", "o":
		return kept
	}
	return 0
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// stripDiacritics drops diacritics and spells the letters that do not
// decompose (ß, ł, ø, …) in plain letters; german writes ä, ö, ü as ae,
// oe, ue.
func stripDiacritics(s string, german bool) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		if german {
			if t, ok := map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue"}[r]; ok {
				b.WriteString(t)
				continue
			}
		}
		switch r {
		case 'ß':
			b.WriteString("ss")
		case 'ł':
			b.WriteByte('l')
		case 'Ł':
			b.WriteByte('L')
		case 'đ', 'ð':
			b.WriteByte('d')
		case 'Đ', 'Ð':
			b.WriteByte('D')
		case 'ø':
			b.WriteByte('o')
		case 'Ø':
			b.WriteByte('O')
		case 'æ':
			b.WriteString("ae")
		case 'Æ':
			b.WriteString("Ae")
		case 'œ':
			b.WriteString("oe")
		case 'ı':
			b.WriteByte('i')
		default:
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					b.WriteRune(d)
				}
			}
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compactKey is a name's form for comparing here: normalised, with the
// spaces taken out, so "Zhi Hao", "Zhi-Hao" and "Zhihao" are one name.
func compactKey(s string) string {
	return strings.ReplaceAll(match.Normalize(s), " ", "")
}

// fieldHash hashes compactKey(s) without building it for ASCII input.
func fieldHash(s string) uint64 {
	h := uint64(14695981039346656037)
	if !isASCII(s) {
		for _, c := range []byte(match.Normalize(s)) {
			if c != ' ' {
				h = (h ^ uint64(c)) * 1099511628211
			}
		}
		return mix64(h)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			continue
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return mix64(h)
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func key4(a, b, c, d uint64) uint64 {
	h := mix64(a ^ 0x9e3779b97f4a7c15)
	h = mix64(h ^ b*0xc2b2ae3d27d4eb4f)
	h = mix64(h ^ c*0x165667b19e3779f9)
	return mix64(h ^ d*0x27d4eb2f165667c5)
}

// key3 is a registry key. Keys are 32 bits to keep ten million rows in
// 120 MB: a false hit only makes the generator refuse a candidate query,
// never write a wrong label.
func key3(a, b, c uint64) uint32 { return uint32(key4(a, b, c, 1) >> 32) }

// keySet is a sorted multiset of keys with a table of where each 16-bit
// prefix starts, so a lookup is a short binary search.
type keySet struct {
	k     []uint32
	start []int32
}

func (s *keySet) add(k uint32) { s.k = append(s.k, k) }

func (s *keySet) build() {
	slices.Sort(s.k)
	s.start = make([]int32, 1<<16+1)
	j := 0
	for p := range 1 << 16 {
		s.start[p] = int32(j)
		for j < len(s.k) && int(s.k[j]>>16) == p {
			j++
		}
	}
	s.start[1<<16] = int32(len(s.k))
}

func (s *keySet) count(k uint32) int {
	lo, hi := int(s.start[k>>16]), int(s.start[k>>16+1])
	ks := s.k[lo:hi]
	i, found := slices.BinarySearch(ks, k)
	if !found {
		return 0
	}
	n := 0
	for ; i < len(ks) && ks[i] == k; i++ {
		n++
	}
	return n
}

func (s *keySet) has(k uint32) bool { return s.count(k) > 0 }

// splitDate parses YYYY-MM-DD and says whether it is a real date.
func splitDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return 0, 0, 0, false
		}
	}
	y, _ = strconv.Atoi(s[0:4])
	m, _ = strconv.Atoi(s[5:7])
	d, _ = strconv.Atoi(s[8:10])
	if m < 1 || m > 12 || d < 1 {
		return 0, 0, 0, false
	}
	ny, nm := y, m+1
	if nm > 12 {
		ny, nm = y+1, 1
	}
	if d > daysFromCivil(ny, nm, 1)-daysFromCivil(y, m, 1) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func validDate(s string) bool {
	_, _, _, ok := splitDate(s)
	return ok
}
