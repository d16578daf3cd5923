package gateway

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// registryIndex is an in-memory copy of the registry's blocking keys and
// records as of one registry generation. Lookups read candidates from it
// instead of the store: in SQLite's WAL mode every commit (every lookup's)
// empties the readers' page caches, so registry reads from the store cost a
// page fetch each. It is rebuilt in the background when an import changes the
// registry; until then lookups read the store, so nothing stale is released.
//
// It holds no pointers per record (one byte arena, offsets, and blocking-key
// hashes sorted for binary search), so the garbage collector scans three
// slices instead of millions of strings: with a map of strings per record,
// every collection spent tens of milliseconds of CPU marking the registry,
// which showed in the lookups' tail latency.
type registryIndex struct {
	gen   int64
	cols  []string         // every column any record has
	colAt map[string]int32 // cols' positions
	seed  maphash.Seed
	arena []byte   // records back to back: see appendRecord
	recs  []uint64 // each record's offset in arena
	keys  []keyRef // by hash; several records can share a key
	// prepared holds records prepared for the Fellegi-Sunter standard,
	// each the first time it is a candidate; preparing costs more than
	// comparing, and a record is a candidate in many lookups.
	prepared []atomic.Pointer[match.Prepared]
}

type keyRef struct {
	hash uint64
	rec  uint32
}

// Warm builds the registry index now.
func (s *Service) Warm(ctx context.Context) error {
	idx, err := s.buildIndex(ctx)
	if err != nil {
		return err
	}
	s.index.Store(idx)
	return nil
}

func (s *Service) buildIndex(ctx context.Context) (*registryIndex, error) {
	start := time.Now()
	idx := &registryIndex{colAt: map[string]int32{}, seed: maphash.MakeSeed()}
	values := map[string]string{}
	_, keyFn := s.keyFunc()
	gen, err := s.store.ScanRecords(ctx, func(id string, data []byte) error {
		clear(values)
		if err := json.Unmarshal(data, &values); err != nil {
			return fmt.Errorf("record %s: %w", id, err)
		}
		if len(idx.recs) == math.MaxUint32 {
			return fmt.Errorf("more than %d records", math.MaxUint32)
		}
		n := uint32(len(idx.recs))
		idx.recs = append(idx.recs, uint64(len(idx.arena)))
		idx.arena = idx.appendRecord(idx.arena, id, values)
		for _, k := range keyFn(custodian.Record{ID: id, Values: values}) {
			idx.keys = append(idx.keys, keyRef{maphash.String(idx.seed, k), n})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index registry: %w", err)
	}
	slices.SortFunc(idx.keys, func(a, b keyRef) int { return cmp.Compare(a.hash, b.hash) })
	idx.prepared = make([]atomic.Pointer[match.Prepared], len(idx.recs))
	idx.gen = gen
	s.log.Info("registry indexed", "records", len(idx.recs), "keys", len(idx.keys), "bytes", len(idx.arena), "generation", gen, "ms", time.Since(start).Milliseconds())
	return idx, nil
}

// appendRecord appends a record as: uvarint length and bytes of its id,
// uvarint count of its non-empty values, then each as uvarint column
// position, uvarint length and bytes.
func (idx *registryIndex) appendRecord(b []byte, id string, values map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	nonEmpty := 0
	for _, v := range values {
		if v != "" {
			nonEmpty++
		}
	}
	b = binary.AppendUvarint(b, uint64(nonEmpty))
	for c, v := range values {
		if v == "" {
			continue
		}
		at, ok := idx.colAt[c]
		if !ok {
			at = int32(len(idx.cols))
			idx.colAt[c] = at
			idx.cols = append(idx.cols, c)
		}
		b = binary.AppendUvarint(b, uint64(at))
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// record decodes record n.
func (idx *registryIndex) record(n uint32) custodian.Record {
	b := idx.arena[idx.recs[n]:]
	str := func() string {
		l, k := binary.Uvarint(b)
		v := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return v
	}
	id := str()
	count, k := binary.Uvarint(b)
	b = b[k:]
	rec := custodian.Record{ID: id, Values: make(map[string]string, count)}
	for range count {
		c, k := binary.Uvarint(b)
		b = b[k:]
		rec.Values[idx.cols[c]] = str()
	}
	return rec
}

// candidates returns the records under keys as of registry generation gen:
// from the index when it is at gen, otherwise from the store (starting a
// rebuild of the index). Two keys with one hash give extra candidates,
// which the match standard then rejects: it compares the values. A key
// shared by more than match.DefaultMaxBlock records is left out unless
// the other keys find nobody, as in the dry run (match.Registry).
func (s *Service) candidates(ctx context.Context, keys []string, gen int64) ([]custodian.Record, error) {
	idx := s.indexAt(gen)
	if idx == nil {
		return s.store.Candidates(ctx, keys, match.DefaultMaxBlock)
	}
	ns := idx.lookup(keys)
	out := make([]custodian.Record, len(ns))
	for i, n := range ns {
		out[i] = idx.record(n)
	}
	return out, nil
}

// decideIndexed decides a query with the Fellegi-Sunter standard against
// the index's prepared records, when the index is at gen (ok false
// otherwise), and returns the verified record.
func (s *Service) decideIndexed(f *match.FS, q map[string]string, keys []string, gen int64) (res match.Result, rec custodian.Record, ok bool) {
	idx := s.indexAt(gen)
	if idx == nil {
		return res, rec, false
	}
	ns := idx.lookup(keys)
	cands := make([]*match.Prepared, len(ns))
	for i, n := range ns {
		if cands[i] = idx.prepared[n].Load(); cands[i] == nil {
			cands[i] = match.Prepare(idx.record(n))
			idx.prepared[n].Store(cands[i])
		}
	}
	res = f.DecidePrepared(q, cands)
	if res.Outcome == custodian.Verified {
		i := slices.IndexFunc(cands, func(c *match.Prepared) bool { return c.ID() == res.RecordID })
		rec = idx.record(ns[i])
	}
	return res, rec, true
}

// indexAt returns the index if it is at registry generation gen, or nil
// after starting a rebuild.
func (s *Service) indexAt(gen int64) *registryIndex {
	idx := s.index.Load()
	if idx == nil || idx.gen != gen {
		s.rebuildIndex()
		return nil
	}
	return idx
}

// lookup returns the distinct records under keys, leaving out the wide
// keys as the store's Candidates does.
func (idx *registryIndex) lookup(keys []string) []uint32 {
	var blocks, wide [][]keyRef
	found := 0
	for _, k := range keys {
		h := maphash.String(idx.seed, k)
		i, _ := slices.BinarySearchFunc(idx.keys, h, func(r keyRef, h uint64) int { return cmp.Compare(r.hash, h) })
		j := i
		for j < len(idx.keys) && idx.keys[j].hash == h {
			j++
		}
		if j-i > match.DefaultMaxBlock {
			wide = append(wide, idx.keys[i:j])
		} else {
			blocks = append(blocks, idx.keys[i:j])
			found += j - i
		}
	}
	if found == 0 && len(wide) > 0 {
		blocks = append(blocks, slices.MinFunc(wide, func(a, b []keyRef) int { return cmp.Compare(len(a), len(b)) }))
	}
	var recs []uint32
	for _, b := range blocks {
		for _, r := range b {
			recs = append(recs, r.rec)
		}
	}
	slices.Sort(recs) // a fallback block can hold thousands: no quadratic search
	return slices.Compact(recs)
}

// WarmInBackground starts building the registry index and returns at once
// (serve calls it: a 1M-record registry takes about 11 s, during which
// lookups read the store).
func (s *Service) WarmInBackground() { s.rebuildIndex() }

// rebuildIndex rebuilds the index in the background, once at a time.
func (s *Service) rebuildIndex() {
	if !s.indexing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.indexing.Store(false)
		idx, err := s.buildIndex(context.Background())
		if err != nil {
			s.log.Error("registry index rebuild failed; lookups read the store", "err", err.Error())
			return
		}
		s.index.Store(idx)
	}()
}
