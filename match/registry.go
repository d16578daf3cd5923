package match

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/custodian-project/custodian"
)

// Registry is the registry prepared for the Fellegi-Sunter standard in
// memory: every record's identifiers normalised once, and the blocking
// index as sorted key hashes. Train and the dry run use it; the gateway
// finds candidates through RecordKeys in its own index. After the last Add
// it is safe for concurrent use.
//
// It is built for registries of tens of millions of records:
//   - a record is a rec of indices into tables of distinct prepared names
//     and interned strings (a registry holds few distinct names, streets
//     and postcodes): no pointers for the garbage collector to follow;
//   - recs are stored in fixed chunks, so growing never copies them;
//   - a blocking key is one uint64 (hash and record number), sorted once;
//   - WriteSnapshot and ReadSnapshot keep a prepared registry between runs.
type Registry struct {
	ids  []string
	recs [][]rec // personChunk records each
	// The tables recs index: each distinct interned string and prepared
	// name once. Index 0 is "" and the missing name.
	strTab  []string
	nameTab []*nameInfo
	tabMu   sync.Mutex    // guards the tables' growth while records are added
	strs    cache[uint32] // strTab index by string
	names   cache[uint32] // nameTab index by the name as written
	mu      sync.Mutex
	keys    []uint64 // keyHash<<recBits | record number; sorted once sealed
	dir     []uint32 // where keys with each value of their top dirBits bits start
	sealed  atomic.Bool
	// dirBits is how many top bits index dir.
	dirBits uint
	// maxBlock is the largest block a query's key may bring in (0: no
	// limit); see candidates.
	maxBlock int
	sink     atomic.Uint64 // see keep
}

// rec is a registry record's prepared identifiers as indices into the
// registry's tables (see person). It holds no pointers, so ten million of
// them cost the garbage collector nothing, and it takes 36 bytes, so
// reading a candidate is one cache miss, not three.
type rec struct {
	first, middle, last      uint32 // nameTab
	num, street, zip, suffix uint32 // strTab: streetNum, streetKey, zip, suffix
	dob                      date
	sex                      byte
}

// recBits is how many low bits of a blocking key entry hold the record
// number; the other 64-recBits are the key's hash. A hash collision only
// adds candidates, which the comparison rejects.
const recBits = 28

// MaxRecords is the most records a Registry holds: record numbers never
// fill recBits with ones, so noKey is no entry.
const MaxRecords = 1<<recBits - 1

const noKey = ^uint64(0)

// DefaultMaxBlock is the largest block of a single blocking key that a
// query compares (see Registry.candidates).
const DefaultMaxBlock = 64

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{maxBlock: DefaultMaxBlock, strTab: []string{""}, nameTab: []*nameInfo{&noName}}
}

// SetMaxBlock sets the largest block a query's blocking key may bring in
// (0: no limit).
func (g *Registry) SetMaxBlock(n int) { g.maxBlock = max(n, 0) }

// Grow makes room for n more records.
func (g *Registry) Grow(n int) {
	g.ids = reserve(g.ids, n)
	g.keys = reserve(g.keys, n*len(blockRules))
}

// reserve is slices.Grow without clearing the new capacity: memory fresh
// from the system is zero already, and clearing the keys' 800 MB at ten
// million records cost seconds of page faults up front.
func reserve[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), len(s)+n)
	copy(out, s)
	return out
}

// AddAllJSON adds records given as ids and JSON objects of their values
// (as the store keeps them), decoding and preparing them in parallel.
func (g *Registry) AddAllJSON(ids []string, data [][]byte) error {
	ps := make([]rec, len(ids))
	errs := make([]error, len(ids))
	parallel(len(ids), func(i int) {
		var fields [32]field
		fs, err := flatJSON(data[i], fields[:0])
		if err != nil {
			// Not the flat object of strings the store writes: the
			// general decoder says what is wrong, or reads it after all.
			v := map[string]string{}
			if errs[i] = json.Unmarshal(data[i], &v); errs[i] != nil {
				return
			}
			ps[i] = g.prepare(func(id string) string { return v[id] })
		} else {
			ps[i] = g.prepare(func(id string) string { return lookupField(fs, id) })
		}
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("record %s: %w", ids[i], err)
		}
	}
	return g.push(ids, ps)
}

// AddAll adds records (none twice), preparing them in parallel.
func (g *Registry) AddAll(recs []custodian.Record) error {
	ps := make([]rec, len(recs))
	ids := make([]string, len(recs))
	parallel(len(recs), func(i int) {
		ps[i] = g.prepare(func(id string) string { return recs[i].Values[id] })
		ids[i] = recs[i].ID
	})
	return g.push(ids, ps)
}

// push appends prepared persons and their blocking keys.
func (g *Registry) push(ids []string, ps []rec) error {
	if len(g.ids)+len(ids) > MaxRecords {
		return fmt.Errorf("match registry: more than %d records", MaxRecords)
	}
	// Each record's keys in its own stretch of one slice; noKey marks a
	// rule without a key.
	nr := len(blockRules)
	keys := make([]uint64, len(ps)*nr)
	for i := range keys {
		keys[i] = noKey
	}
	first := len(g.ids)
	parallel(len(ps), func(i int) {
		var buf [128]byte
		n := uint64(first + i)
		p := g.expand(&ps[i])
		for r := range blockRules {
			if k := appendRuleKey(buf[:0], &blockRules[r], &p); k != nil {
				keys[i*nr+r] = keyHash(k)<<recBits | n
			}
		}
	})
	// The batch's ids as substrings of one string: one object, not one
	// per record.
	var all strings.Builder
	for _, id := range ids {
		all.WriteString(id)
	}
	joined, at := all.String(), 0
	for i := range ps {
		g.ids = append(g.ids, joined[at:at+len(ids[i])])
		at += len(ids[i])
		if len(g.recs) == 0 || len(g.recs[len(g.recs)-1]) == personChunk {
			g.recs = append(g.recs, make([]rec, 0, personChunk))
		}
		last := &g.recs[len(g.recs)-1]
		*last = append(*last, ps[i])
	}
	for _, k := range keys {
		if k != noKey {
			g.keys = append(g.keys, k)
		}
	}
	g.sealed.Store(false)
	return nil
}

// keyHash is the hash of a full blocking key, in the top 64-recBits bits.
// It is the same in every run (FNV-1a, then a finaliser that mixes every
// bit into the top ones), so a dry run over the same data gives the same
// decisions and probabilities each time: a hash that is random per process
// makes its rare collisions, which bring an unrelated record into a block,
// fall on different queries in each run.
func keyHash(k []byte) uint64 { return hash64(k) >> recBits }

// hash64 is FNV-1a with a finaliser that mixes every bit into every other:
// the same in every run of the program, unlike maphash.
func hash64(k []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
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

// person returns record i's prepared identifiers.
func (g *Registry) person(i int32) person { return g.expand(&g.recs[i/personChunk][i%personChunk]) }

// expand turns a rec's indices into the person they stand for.
func (g *Registry) expand(r *rec) person {
	return person{
		first: g.nameTab[r.first], middle: g.nameTab[r.middle], last: g.nameTab[r.last],
		address: address{streetNum: g.strTab[r.num], streetKey: g.strTab[r.street], zip: g.strTab[r.zip]},
		suffix:  g.strTab[r.suffix], dob: r.dob, sex: r.sex,
	}
}

// seal sorts the keys once, after the last Add: the two halves of the hash
// space on two cores, when there are two.
func (g *Registry) seal() {
	if g.sealed.Load() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sealed.Load() {
		return
	}
	// Partition in place around the middle of the hash space, then sort
	// each side on its own.
	const mid = uint64(1) << 63
	i, j := 0, len(g.keys)-1
	for i <= j {
		switch {
		case g.keys[i] < mid:
			i++
		case g.keys[j] >= mid:
			j--
		default:
			g.keys[i], g.keys[j] = g.keys[j], g.keys[i]
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.Sort(g.keys[:i]) })
	slices.Sort(g.keys[i:])
	wg.Wait()
	g.index()
}

// index builds the directory of the sorted keys and seals the registry.
func (g *Registry) index() {
	// The directory: where each value of the top dirBits bits starts, about
	// eight entries apart, so a lookup searches a few entries instead of
	// the whole (a binary search of a hundred million keys is 27 cache
	// misses).
	g.dirBits = uint(min(max(bits.Len(uint(len(g.keys)/8)), 1), 26))
	g.dir = make([]uint32, 1<<g.dirBits+1)
	k := 0
	for b := range g.dir {
		for k < len(g.keys) && g.keys[k]>>(64-g.dirBits) < uint64(b) {
			k++
		}
		g.dir[b] = uint32(k)
	}
	g.sealed.Store(true)
}

// block returns the entries under one key hash (a hash collision may add
// others, which the comparison then rejects).
func (g *Registry) block(h uint64) []uint64 {
	lo, hi := g.bucket(h)
	return within(g.keys[lo:hi], h)
}

// bucket returns where the directory bucket of key hash h starts and ends
// in the keys: every entry under h is in it.
func (g *Registry) bucket(h uint64) (lo, hi uint32) {
	b := (h << recBits) >> (64 - g.dirBits)
	return g.dir[b], g.dir[b+1]
}

// within returns the entries under key hash h in its bucket.
func within(bucket []uint64, h uint64) []uint64 {
	i, _ := slices.BinarySearch(bucket, h<<recBits)
	j := i
	for j < len(bucket) && bucket[j]>>recBits == h {
		j++
	}
	return bucket[i:j]
}

// ruleBlock returns the records sharing rule r's key with p (nil when p has
// no key under r).
func (g *Registry) ruleBlock(r *blockRule, p *person) []uint64 {
	var buf [128]byte
	k := appendRuleKey(buf[:0], r, p)
	if k == nil {
		return nil
	}
	return g.block(keyHash(k))
}

// entryRecord is the record number of a key entry.
func entryRecord(e uint64) int32 { return int32(e & (1<<recBits - 1)) }

// candidates returns the distinct records sharing a blocking key with q.
//
// A key shared by more than maxBlock records is left out when q has other
// keys: a name's sound and a year of birth can be shared by thousands of
// people in a national registry, and comparing them all would cost more
// than every other key together while adding almost nothing: the subject,
// when registered, nearly always shares a narrower key too (date and
// initial, date and postcode, house and street). When q's other keys find
// nobody, the narrowest wide key is used. The evaluation counts what blocking
// loses.
func (g *Registry) candidates(q *person, buf []int32) []int32 {
	g.seal()
	buf = buf[:0]
	// In three passes, so that the cache misses of one pass (a directory
	// entry, then a bucket's first keys, for each rule) are independent
	// loads the processor overlaps instead of taking one after another.
	var hs [maxRules]uint64
	var has [maxRules]bool
	var lo, hi [maxRules]uint32
	var kbuf [128]byte
	for r := range blockRules {
		if k := appendRuleKey(kbuf[:0], &blockRules[r], q); k != nil {
			hs[r], has[r] = keyHash(k), true
		}
	}
	for r, h := range hs {
		if has[r] {
			lo[r], hi[r] = g.bucket(h)
		}
	}
	var touch uint64
	for r := range hs {
		if lo[r] < hi[r] {
			touch += g.keys[lo[r]]
		}
	}
	g.keep(touch)
	var narrowest []uint64
	wide := false
	for r, h := range hs {
		if !has[r] {
			continue
		}
		b := within(g.keys[lo[r]:hi[r]], h)
		if g.maxBlock > 0 && len(b) > g.maxBlock {
			if narrowest == nil || len(b) < len(narrowest) {
				narrowest = b
			}
			wide = true
			continue
		}
		for _, e := range b {
			buf = append(buf, entryRecord(e))
		}
	}
	if wide && len(buf) == 0 {
		for _, e := range narrowest {
			buf = append(buf, entryRecord(e))
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// maxRules is the most blocking rules candidates looks up
// (TestBlockingRulesFit).
const maxRules = 16

// keep uses v, so that the compiler keeps loads made only to bring memory
// into the cache.
func (g *Registry) keep(v uint64) {
	if v == 1 {
		g.sink.Store(v)
	}
}

// MatchAll decides queries against the whole registry, in parallel.
func (f *FS) MatchAll(g *Registry, qs []map[string]string) []Decision {
	out := make([]Decision, len(qs))
	parallel(len(qs), func(i int) { out[i] = f.Match(g, qs[i]) })
	return out
}

// Match decides a query against the whole registry (the dry run's path).
func (f *FS) Match(g *Registry, q map[string]string) Decision {
	qp := newPersonWith(func(id string) string { return q[id] }, g.name, newAddress)
	idx := g.candidates(&qp, nil)
	// Every candidate's record first, in a loop of independent loads the
	// processor overlaps: they are scattered over the whole registry.
	var touch uint64
	for _, i := range idx {
		touch += uint64(g.recs[i/personChunk][i%personChunk].first)
	}
	g.keep(touch)
	ps := make([]person, len(idx))
	cands := make([]*person, len(idx))
	ids := make([]string, len(idx))
	for j, i := range idx {
		ps[j], cands[j], ids[j] = g.person(i), &ps[j], g.ids[i]
	}
	return f.decide(&qp, cands, ids)
}

// cache keeps one value per distinct string: a registry's strings and
// prepared names (a registry holds few distinct names, streets and
// postcodes). It is safe for concurrent use: shards, each with its own
// lock.
type cache[V any] struct {
	once   sync.Once
	seed   maphash.Seed
	shards [64]struct {
		mu sync.Mutex
		m  map[string]V
	}
}

// peek returns the value kept for key, if any.
func (c *cache[V]) peek(key string) (V, bool) {
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	sh := &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.m[key]
	return v, ok
}

// get returns the value kept for key, making it with mk the first time.
func (c *cache[V]) get(key string, mk func(string) V) V {
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	sh := &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v, ok := sh.m[key]; ok {
		return v
	}
	if sh.m == nil {
		sh.m = map[string]V{}
	}
	// A copy: key may be part of a record's whole JSON (flatJSON), which
	// the map would otherwise keep alive.
	key = strings.Clone(key)
	v := mk(key)
	sh.m[key] = v
	return v
}

// prepare prepares a record for the registry: each distinct name is
// prepared once (normalised, coded, looked up in the variant table) and
// shared, and the other strings are interned.
func (g *Registry) prepare(get func(string) string) rec {
	p := newPersonWith(get, func(string) *nameInfo { return &noName }, newAddress)
	return rec{
		first: g.nameID(get("first_name")), middle: g.nameID(get("middle_name")), last: g.nameID(get("last_name")),
		num: g.intern(p.streetNum), street: g.intern(p.streetKey), zip: g.intern(p.zip), suffix: g.intern(p.suffix),
		dob: p.dob, sex: p.sex,
	}
}

// nameID returns the index of s's prepared name, preparing it the first
// time.
func (g *Registry) nameID(s string) uint32 {
	if s == "" {
		return 0
	}
	return g.names.get(s, func(s string) uint32 {
		n := g.prepareName(s)
		g.tabMu.Lock()
		defer g.tabMu.Unlock()
		g.nameTab = append(g.nameTab, &n)
		return uint32(len(g.nameTab) - 1)
	})
}

// prepareName prepares a registry name, its strings interned.
func (g *Registry) prepareName(s string) nameInfo {
	n := newNameInfo(s).withVariants(loadVariants())
	n.norm, n.core, n.phonetic = g.str(n.norm), g.str(n.core), g.str(n.phonetic)
	return n
}

// name returns the prepared name of s for a query: the registry's when a
// record bears it (most queries' names), else prepared afresh. No record
// may be added meanwhile.
func (g *Registry) name(s string) *nameInfo {
	if s == "" {
		return &noName
	}
	if i, ok := g.names.peek(s); ok {
		return g.nameTab[i]
	}
	n := newNameInfo(s).withVariants(loadVariants())
	return &n
}

// intern returns the index of s in the string table, adding it the first
// time.
func (g *Registry) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	return g.strs.get(s, func(s string) uint32 {
		g.tabMu.Lock()
		defer g.tabMu.Unlock()
		g.strTab = append(g.strTab, s)
		return uint32(len(g.strTab) - 1)
	})
}

// str returns the registry's copy of s.
func (g *Registry) str(s string) string {
	i := g.intern(s)
	g.tabMu.Lock()
	defer g.tabMu.Unlock()
	return g.strTab[i]
}

// field is one member of a flat JSON object.
type field struct{ key, value string }

// lookupField returns the value of key in fs: the last, as encoding/json
// keeps the last of duplicate members.
func lookupField(fs []field, key string) string {
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].key == key {
			return fs[i].value
		}
	}
	return ""
}
