package match

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/custodian-project/custodian"
)

// Registry is the registry prepared for the Fellegi-Sunter standard in
// memory: every record's identifiers normalised once, and the blocking
// index as sorted key hashes (no map, no pointers: millions of keys cost
// the garbage collector nothing). Train and the dry run use it; the gateway
// finds candidates through RecordKeys in its own index. After the last Add
// it is safe for concurrent use.
type Registry struct {
	ids    []string
	chunks [][]person // personChunk persons each: growing never copies them
	seed   maphash.Seed
	mu     sync.Mutex
	keys   []blockKey // sorted by hash once sealed
	sealed bool
}

// blockKey is one record under one blocking key.
type blockKey struct {
	hash uint64
	rec  int32
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{seed: maphash.MakeSeed()} }

// Add adds a record (it must not be added twice).
func (g *Registry) Add(r custodian.Record) {
	p := recordPerson(r)
	i := int32(len(g.ids))
	g.ids = append(g.ids, r.ID)
	g.push(p)
	for _, k := range blockingKeys(&p) {
		g.keys = append(g.keys, blockKey{maphash.String(g.seed, k), i})
	}
	g.sealed = false
}

// AddAllJSON adds records given as ids and JSON objects of their values
// (as the store keeps them), decoding and preparing them in parallel.
func (g *Registry) AddAllJSON(ids []string, data [][]byte) error {
	recs := make([]custodian.Record, len(ids))
	errs := make([]error, len(ids))
	parallel(len(ids), func(i int) {
		recs[i] = custodian.Record{ID: ids[i], Values: map[string]string{}}
		errs[i] = json.Unmarshal(data[i], &recs[i].Values)
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("record %s: %w", ids[i], err)
		}
	}
	g.AddAll(recs)
	return nil
}

// AddAll adds records (none twice), preparing them in parallel.
func (g *Registry) AddAll(recs []custodian.Record) {
	ps := make([]person, len(recs))
	ks := make([][]string, len(recs))
	parallel(len(recs), func(i int) {
		ps[i] = recordPerson(recs[i])
		ks[i] = blockingKeys(&ps[i])
	})
	for i, r := range recs {
		n := int32(len(g.ids))
		g.ids = append(g.ids, r.ID)
		g.push(ps[i])
		for _, k := range ks[i] {
			g.keys = append(g.keys, blockKey{maphash.String(g.seed, k), n})
		}
	}
	g.sealed = false
}

// parallel calls fn(i) for i in [0, n) on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Len is the number of records.
func (g *Registry) Len() int { return len(g.ids) }

// personChunk is how many persons one chunk of a Registry holds.
const personChunk = 1 << 14

func (g *Registry) push(p person) {
	if len(g.chunks) == 0 || len(g.chunks[len(g.chunks)-1]) == personChunk {
		g.chunks = append(g.chunks, make([]person, 0, personChunk))
	}
	last := &g.chunks[len(g.chunks)-1]
	*last = append(*last, p)
}

// person returns record i's prepared identifiers.
func (g *Registry) person(i int32) *person { return &g.chunks[i/personChunk][i%personChunk] }

// seal sorts the keys once, after the last Add.
func (g *Registry) seal() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.sealed {
		slices.SortFunc(g.keys, func(a, b blockKey) int { return cmp.Compare(a.hash, b.hash) })
		g.sealed = true
	}
}

// block returns the records under one blocking key (a hash collision may
// add others, which the comparison then rejects).
func (g *Registry) block(key string) []blockKey {
	h := maphash.String(g.seed, key)
	i, _ := slices.BinarySearchFunc(g.keys, h, func(k blockKey, h uint64) int { return cmp.Compare(k.hash, h) })
	j := i
	for j < len(g.keys) && g.keys[j].hash == h {
		j++
	}
	return g.keys[i:j]
}

// candidates returns the distinct records sharing a blocking key with q.
func (g *Registry) candidates(q *person, buf []int32) []int32 {
	g.seal()
	buf = buf[:0]
	for _, k := range blockingKeys(q) {
		for _, b := range g.block(k) {
			buf = append(buf, b.rec)
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// MatchAll decides queries against the whole registry, in parallel.
func (f *FS) MatchAll(g *Registry, qs []map[string]string) []Decision {
	out := make([]Decision, len(qs))
	parallel(len(qs), func(i int) { out[i] = f.Match(g, qs[i]) })
	return out
}

// Match decides a query against the whole registry (the dry run's path).
func (f *FS) Match(g *Registry, q map[string]string) Decision {
	qp := newPerson(func(id string) string { return q[id] })
	idx := g.candidates(&qp, nil)
	cands := make([]*person, len(idx))
	ids := make([]string, len(idx))
	for j, i := range idx {
		cands[j], ids[j] = g.person(i), g.ids[i]
	}
	return f.decide(&qp, cands, ids)
}

// TrainOptions bound the estimation.
type TrainOptions struct {
	RandomPairs   int    // pairs sampled for u (default 50 per record, 100,000 to 1,000,000)
	MaxRecords    int    // registry records whose blocked pairs feed EM (default 200,000)
	MaxIterations int    // EM iterations (default 100)
	Seed          uint64 // the sample's seed
}

// Train estimates a model from the registry without labels. u comes from
// random pairs of registry records (almost all of which are different
// people). m comes from expectation-maximisation over blocked candidate
// pairs, with u held fixed: the pairs of registry records that share a
// blocking key, and the pairs of each sample query (if any) with its
// candidates. Value frequencies for the term-frequency adjustment and the
// prior (one over the registry's size) come from the registry.
func Train(g *Registry, queries []map[string]string, opt TrainOptions) (*Model, error) {
	n := g.Len()
	if n < 2 {
		return nil, fmt.Errorf("match train: the registry needs at least 2 records, has %d", n)
	}
	g.seal()
	if opt.RandomPairs <= 0 {
		// Fifty pairs per record, between 100,000 and a million: enough
		// for the common levels, and the prior holds the rare ones.
		opt.RandomPairs = min(max(50*n, 100_000), 1_000_000)
	}
	if opt.MaxRecords <= 0 {
		opt.MaxRecords = 200_000
	}
	if opt.MaxIterations <= 0 {
		opt.MaxIterations = 100
	}
	m := &Model{Prior: 1 / float64(n), TF: map[string]map[string]float64{}}

	// u: level frequencies over random pairs (every pair, in a registry
	// small enough), shrunk toward the prior.
	counts, sampled := randomPairCounts(g, opt.RandomPairs, opt.Seed)
	for i, c := range comparisons {
		p := ComparisonParams{Name: c.name}
		total := sum(counts[i])
		for j, name := range c.levels {
			u := (counts[i][j] + uPriorWeight*c.uPrior[j]) / (total + uPriorWeight)
			p.Levels = append(p.Levels, LevelParams{Name: name, U: max(u, 1e-9)})
		}
		m.Comparisons = append(m.Comparisons, p)
	}

	// Term frequencies.
	for _, c := range comparisons {
		if c.tf == nil {
			continue
		}
		freq := map[string]float64{}
		for i := range int32(n) {
			if v := c.tf(g.person(i)); v != "" {
				freq[v]++
			}
		}
		// Shrunk toward the prior u of exact agreement like u itself: in
		// ten records every name is one in ten, which says little.
		u0 := c.uPrior[0]
		for v := range freq {
			freq[v] = (freq[v] + uPriorWeight*u0) / (float64(n) + uPriorWeight)
		}
		m.TF[c.name] = freq
	}

	// m: one EM session per blocking rule, over the pairs that rule
	// blocks, leaving out the comparisons its key is made of (they agree by
	// construction there). Each comparison's m is the average over the
	// sessions that estimated it, weighted by their expected matches.
	for i, c := range comparisons {
		for j := range m.Comparisons[i].Levels {
			m.Comparisons[i].Levels[j].M = c.prior[j]
		}
	}
	mSum := make([][]float64, len(comparisons))
	wSum := make([]float64, len(comparisons))
	for i, c := range comparisons {
		mSum[i] = make([]float64, len(c.levels))
	}
	pairs, iters := 0, 0
	var shares []float64
	step := max(1, n/opt.MaxRecords)
	for _, rule := range blockRules {
		var mask pattern
		for _, name := range rule.uses {
			mask |= 0xf << (4 * comparisonIndex(name))
		}
		patterns := map[pattern]float64{}
		add := func(q *person, skipTo int) {
			k := rule.key(q)
			if k == "" {
				return
			}
			for _, b := range g.block(rule.name + ":" + k) {
				if int(b.rec) > skipTo {
					patterns[patternOf(q, g.person(b.rec))&^mask]++
					pairs++
				}
			}
		}
		for a := 0; a < n; a += step {
			add(g.person(int32(a)), a)
		}
		for _, q := range queries {
			qp := newPerson(func(id string) string { return q[id] })
			add(&qp, -1)
		}
		if len(patterns) == 0 {
			continue
		}
		est := cloneParams(m.Comparisons)
		it, share, matched := em(est, patterns, opt.MaxIterations)
		iters += it
		shares = append(shares, share)
		for i := range est {
			if matched[i] <= 0 {
				continue
			}
			for j, l := range est[i].Levels {
				mSum[i][j] += matched[i] * l.M
			}
			wSum[i] += matched[i]
		}
	}
	if pairs == 0 {
		return nil, fmt.Errorf("match train: no candidate pairs: the registry's records share no blocking key")
	}
	var fromPrior []string
	for i := range m.Comparisons {
		lv := m.Comparisons[i].Levels
		if wSum[i] == 0 {
			fromPrior = append(fromPrior, comparisons[i].name) // never observed: it never weighs either
			continue
		}
		est := make([]float64, len(lv))
		for j := range lv {
			est[j] = max(mSum[i][j]/wSum[i], 1e-6)
		}
		// EM finds whatever class of pairs stands out. A registry without
		// duplicates has no matches among its own pairs, and EM then takes
		// households or namesakes for them: most of its "matches" disagree
		// on the identifier. Such an estimate is not m; the prior stands.
		if est[0] < est[len(est)-1] {
			fromPrior = append(fromPrior, comparisons[i].name)
			continue
		}
		for j := range lv {
			lv[j].M = est[j]
		}
		capDifferent(lv, comparisons[i].maxDifferent)
	}
	m.Training = TrainingInfo{Records: n, RandomPairs: sampled, CandidatePairs: pairs, Iterations: iters, MatchShare: median(shares), MFromPrior: fromPrior}
	if err := m.check(); err != nil {
		return nil, err
	}
	// The prior counts that a query may be about someone the registry does
	// not hold: the share of sample queries whose best candidate is more
	// likely than not the subject, or one half without a sample.
	share := defaultRegisteredShare
	if len(queries) > 0 {
		f, err := NewFS(m, Rule{Require: []string{}, MinProbability: 0.5, Margin: 0})
		if err != nil {
			return nil, err
		}
		step := max(1, len(queries)/shareSample)
		found, asked := 0, 0
		for i := 0; i < len(queries); i += step {
			asked++
			if f.Match(g, queries[i]).Probability > 0.5 {
				found++
			}
		}
		share = min(max(float64(found)/float64(asked), 0.01), 1)
	}
	m.Training.RegisteredShare = share
	m.Prior = share / float64(n)
	if m.Prior >= 1 {
		m.Prior = 0.5
	}
	return m, nil
}

// uChunks is how many independent streams the random pairs are drawn in,
// run in parallel; a fixed number, so the sample (and the model) does not
// depend on the machine's cores.
const uChunks = 16

// randomPairCounts counts the comparison levels of random pairs of
// registry records (every pair when there are no more than pairs), and
// returns the counts and how many pairs they cover.
func randomPairCounts(g *Registry, pairs int, seed uint64) ([][]float64, int) {
	n := g.Len()
	newCounts := func() [][]float64 {
		c := make([][]float64, len(comparisons))
		for i, cmp := range comparisons {
			c[i] = make([]float64, len(cmp.levels))
		}
		return c
	}
	count := func(c [][]float64, a, b int) {
		for i := range comparisons {
			if l := comparisons[i].level(g.person(int32(a)), g.person(int32(b))); l >= 0 {
				c[i][l]++
			}
		}
	}
	parts := make([][][]float64, uChunks)
	total := pairs
	all := n * (n - 1) / 2
	if all <= pairs {
		total = all
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range parts {
		parts[k] = newCounts()
		wg.Add(1)
		sem <- struct{}{}
		go func(k int, c [][]float64) {
			defer func() { <-sem; wg.Done() }()
			if all <= pairs {
				for a := k; a < n; a += uChunks { // every pair, rows dealt out
					for b := a + 1; b < n; b++ {
						count(c, a, b)
					}
				}
				return
			}
			rng := rand.New(rand.NewPCG(seed, uint64(k)+0x75))
			for range pairs/uChunks + boolInt(k < pairs%uChunks) {
				a, b := rng.IntN(n), rng.IntN(n-1)
				if b >= a {
					b++
				}
				count(c, a, b)
			}
		}(k, parts[k])
	}
	wg.Wait()
	out := newCounts()
	for _, c := range parts {
		for i := range c {
			for j := range c[i] {
				out[i][j] += c[i][j]
			}
		}
	}
	return out, total
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// capDifferent keeps m of the worst level ("different") at most max (0:
// no ceiling), giving the excess to the other levels in proportion. EM
// cannot tell an unregistered twin or sibling from the registered person
// when everything else agrees; left alone it concludes that a person's own
// records often carry a wholly different given name, and the twin in the
// registry then weighs almost as much as the subject.
func capDifferent(lv []LevelParams, max float64) {
	last := len(lv) - 1
	if max <= 0 || lv[last].M <= max {
		return
	}
	excess, rest := lv[last].M-max, 1-lv[last].M
	lv[last].M = max
	for j := range lv[:last] {
		if rest > 0 {
			lv[j].M += excess * lv[j].M / rest
		} else {
			lv[j].M += excess / float64(last)
		}
	}
}

func cloneParams(cs []ComparisonParams) []ComparisonParams {
	out := make([]ComparisonParams, len(cs))
	for i, c := range cs {
		out[i] = ComparisonParams{Name: c.Name, Levels: append([]LevelParams(nil), c.Levels...)}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// pattern is the levels of one pair, 4 bits per comparison (level+1, so 0
// is missing).
type pattern uint32

func patternOf(q, r *person) pattern {
	var p pattern
	for i := range comparisons {
		p |= pattern(comparisons[i].level(q, r)+1) << (4 * i)
	}
	return p
}

func (p pattern) level(i int) int { return int(p>>(4*i)&0xf) - 1 }

// defaultRegisteredShare is the prior share of queries about registered
// people when training has no sample queries to estimate it from; shareSample
// bounds the sample queries it is estimated on.
const (
	defaultRegisteredShare = 0.5
	shareSample            = 20_000
)

// uPriorWeight is how many pseudo-pairs at the prior u the random pairs
// are weighed against.
const uPriorWeight = 1000

// priorWeight is how many pseudo-matches at the prior m each EM session
// adds to the pairs' expected matches.
const priorWeight = 50

// em estimates m, with u fixed, from pattern counts. It returns the
// iterations run, the share of matches among the pairs, and per comparison
// the expected matches that observed it (0: not estimated, m unchanged).
func em(cs []ComparisonParams, patterns map[pattern]float64, maxIter int) (int, float64, []float64) {
	share := 0.1
	type row struct {
		p pattern
		n float64
	}
	rows := make([]row, 0, len(patterns))
	total := 0.0
	for p, n := range patterns {
		rows = append(rows, row{p, n})
		total += n
	}
	sums := make([][]float64, len(cs))
	for i := range sums {
		sums[i] = make([]float64, len(cs[i].Levels))
	}
	observed := make([]float64, len(cs))
	iter := 0
	for iter < maxIter {
		iter++
		for i := range sums {
			clear(sums[i])
		}
		matched := 0.0
		for _, r := range rows {
			lm, lu := math.Log(share), math.Log(1-share)
			for i := range cs {
				if l := r.p.level(i); l >= 0 {
					lm += math.Log(cs[i].Levels[l].M)
					lu += math.Log(cs[i].Levels[l].U)
				}
			}
			w := r.n / (1 + math.Exp(lu-lm)) // expected matches among these pairs
			matched += w
			for i := range cs {
				if l := r.p.level(i); l >= 0 {
					sums[i][l] += w
				}
			}
		}
		next := min(max(matched/total, 1e-9), 1-1e-9)
		change := math.Abs(next - share)
		share = next
		for i := range cs {
			t := sum(sums[i])
			observed[i] = t
			if t <= 0 {
				continue // not observed in these pairs: m stays
			}
			lv := cs[i].Levels
			prior := comparisons[i].prior
			for j := range lv {
				nm := max((sums[i][j]+priorWeight*prior[j])/(t+priorWeight), 1e-6)
				change = max(change, math.Abs(nm-lv[j].M))
				lv[j].M = nm
			}
		}
		if change < 1e-7 {
			break
		}
	}
	return iter, share, observed
}

func sum(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}

// blockRule is one blocking rule: records sharing its key are compared.
// uses names the comparisons its key is made of; in EM, a rule's pairs say
// nothing about those (they agree by construction), so they are left out.
type blockRule struct {
	name string
	uses []string
	key  func(p *person) string
}

// blockRules are the union of the standard's blocking rules: a pair of
// records is compared only when it shares at least one key. Each survives a
// different kind of error in the other identifiers; blocking that loses a
// true match loses it for good, which the evaluation reports.
var blockRules = []blockRule{
	// Names that sound alike, whatever the date and address.
	// In either order: given name and surname are often swapped.
	{"np", []string{"first_name", "last_name"}, func(p *person) string {
		a, b := p.last.phonetic, p.first.phonetic
		if b < a {
			a, b = b, a
		}
		return join(a, b)
	}},
	// Date of birth and postcode: names garbled or swapped.
	{"dz", []string{"dob", "address"}, func(p *person) string { return join(dobKey(p.dob, false), p.zip) }},
	// Date of birth and surname initial: first-name variants and typos.
	{"di", []string{"dob", "last_name"}, func(p *person) string { return join(dobKey(p.dob, false), initial(p.last.initial)) }},
	// Date with day and month in either order, and first initial:
	// transposed dates, surname changes.
	{"dt", []string{"dob", "first_name"}, func(p *person) string { return join(dobKey(p.dob, true), initial(p.first.initial)) }},
	// Surname sound and year of birth: nicknames, a wrong day or month.
	{"ly", []string{"last_name", "dob"}, func(p *person) string { return join(p.last.phonetic, yearKey(p.dob)) }},
	// House number and street: names and dates garbled, postcode mistyped.
	{"sa", []string{"address"}, func(p *person) string { return join(p.streetNum, p.streetKey) }},
	// Date of birth and house number: the rest of the address and the
	// names garbled.
	{"dn", []string{"dob", "address"}, func(p *person) string { return join(dobKey(p.dob, false), p.streetNum) }},
	// First-name sound and year of birth: a surname missing, changed or garbled.
	{"fy", []string{"first_name", "dob"}, func(p *person) string { return join(p.first.phonetic, yearKey(p.dob)) }},
	// Postcode and surname sound: a missing or wrong date.
	{"zl", []string{"address", "last_name"}, func(p *person) string { return join(p.zip, p.last.phonetic) }},
	// Postcode and first-name sound: a missing date and a changed surname.
	{"zf", []string{"address", "first_name"}, func(p *person) string { return join(p.zip, p.first.phonetic) }},
}

// blockingKeys returns a record's key under each blocking rule that has one.
func blockingKeys(p *person) []string {
	keys := make([]string, 0, len(blockRules))
	for _, r := range blockRules {
		if k := r.key(p); k != "" {
			keys = append(keys, r.name+":"+k)
		}
	}
	return keys
}

// join joins key parts, or returns "" when any part is empty.
func join(parts ...string) string {
	for _, x := range parts {
		if x == "" {
			return ""
		}
	}
	return strings.Join(parts, "|")
}

func dobKey(d date, sorted bool) string {
	if !d.ok() {
		return ""
	}
	m, dd := d.m, d.d
	if sorted && dd < m {
		m, dd = dd, m
	}
	return fmt.Sprintf("%04d%02d%02d", d.y, m, dd)
}

func yearKey(d date) string {
	if !d.ok() {
		return ""
	}
	return strconv.Itoa(d.y)
}

func initial(b byte) string {
	if b == 0 {
		return ""
	}
	return string(rune(b))
}
