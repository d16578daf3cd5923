package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custodian-project/custodian"
)

// registryIndex is an in-memory copy of the registry's blocking keys and
// records as of one registry generation. Lookups read candidates from it
// instead of the store: in SQLite's WAL mode every commit (every lookup's)
// empties the readers' page caches, so registry reads from the store cost a
// page fetch each. It is rebuilt in the background when an import changes the
// registry; until then lookups read the store, so nothing stale is released.
type registryIndex struct {
	gen   int64
	byKey map[string][]int32
	ids   []string
	cols  []string         // every column any record has
	vals  [][]string       // each record's values, by cols ("" where absent)
	colAt map[string]int32 // cols' positions
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
	idx := &registryIndex{byKey: map[string][]int32{}, colAt: map[string]int32{}}
	values := map[string]string{}
	gen, err := s.store.ScanRecords(ctx, func(id string, data []byte, keys []string) error {
		clear(values)
		if err := json.Unmarshal(data, &values); err != nil {
			return fmt.Errorf("record %s: %w", id, err)
		}
		row := make([]string, len(idx.cols), len(idx.cols)+1)
		for c, v := range values {
			at, ok := idx.colAt[c]
			if !ok {
				at = int32(len(idx.cols))
				idx.colAt[c] = at
				idx.cols = append(idx.cols, c)
			}
			for int(at) >= len(row) {
				row = append(row, "")
			}
			row[at] = v
		}
		n := int32(len(idx.ids))
		idx.ids = append(idx.ids, id)
		idx.vals = append(idx.vals, row)
		for _, k := range keys {
			idx.byKey[k] = append(idx.byKey[k], n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index registry: %w", err)
	}
	idx.gen = gen
	s.log.Info("registry indexed", "records", len(idx.ids), "keys", len(idx.byKey), "generation", gen, "ms", time.Since(start).Milliseconds())
	return idx, nil
}

// candidates returns the records under keys as of registry generation gen:
// from the index when it is at gen, otherwise from the store (starting a
// rebuild of the index).
func (s *Service) candidates(ctx context.Context, keys []string, gen int64) ([]custodian.Record, error) {
	idx := s.index.Load()
	if idx == nil || idx.gen != gen {
		s.rebuildIndex()
		return s.store.Candidates(ctx, keys)
	}
	var out []custodian.Record
	for _, k := range keys {
		for _, n := range idx.byKey[k] {
			if containsID(out, idx.ids[n]) {
				continue
			}
			rec := custodian.Record{ID: idx.ids[n], Values: make(map[string]string, len(idx.vals[n]))}
			for c, v := range idx.vals[n] {
				if v != "" {
					rec.Values[idx.cols[c]] = v
				}
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

func containsID(rs []custodian.Record, id string) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
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
