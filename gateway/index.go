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
	data  [][]byte // each record's stored JSON
}

// Warm builds the registry index now (serve calls it before listening).
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
	idx := &registryIndex{byKey: map[string][]int32{}}
	gen, err := s.store.ScanRecords(ctx, func(id string, data []byte, keys []string) error {
		n := int32(len(idx.ids))
		idx.ids = append(idx.ids, id)
		idx.data = append(idx.data, data)
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
			rec := custodian.Record{ID: idx.ids[n], Values: map[string]string{}}
			if err := json.Unmarshal(idx.data[n], &rec.Values); err != nil {
				return nil, fmt.Errorf("candidates: %w", err)
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
