package match

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

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
			p := g.person(i)
			if v := c.tf(&p); v != "" {
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
	// The sample queries, prepared once for every rule, their names through
	// the registry's cache.
	qps := make([]person, len(queries))
	for i, q := range queries {
		qps[i] = newPersonWith(func(id string) string { return q[id] }, g.name, newAddress)
	}
	for ri := range blockRules {
		rule := &blockRules[ri]
		var mask pattern
		for _, name := range rule.uses {
			mask |= 0xf << (4 * comparisonIndex(name))
		}
		patterns := map[pattern]float64{}
		add := func(q *person, skipTo int) {
			for _, e := range g.ruleBlock(rule, q) {
				if r := entryRecord(e); int(r) > skipTo {
					rp := g.person(r)
					patterns[patternOf(q, &rp)&^mask]++
					pairs++
				}
			}
		}
		for a := 0; a < n; a += step {
			p := g.person(int32(a))
			add(&p, a)
		}
		for i := range qps {
			add(&qps[i], -1)
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
		pa, pb := g.person(int32(a)), g.person(int32(b))
		for i := range comparisons {
			if l := comparisons[i].level(&pa, &pb); l >= 0 {
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
	}
	// In the patterns' order, not the map's: sums in another order differ
	// in their last bits, and the same registry would give models with
	// other hashes.
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.p, b.p) })
	for _, r := range rows {
		total += r.n
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
