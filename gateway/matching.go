package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// MatchRegistry returns the whole registry in memory, prepared for the
// Fellegi-Sunter standard: training and the dry run compare against it.
//
// With Config.RegistryCache set, a registry prepared before is read from
// that file when it was prepared from this store at its present generation
// by this program (cached is true); otherwise the registry is prepared from
// the store and the file written again. A file that is stale, damaged or
// cannot be written costs only time: the store is the truth.
func (s *Service) MatchRegistry(ctx context.Context) (g *match.Registry, cached bool, err error) {
	path := s.cfg.RegistryCache
	if path == "" {
		g, _, err := s.prepareRegistry(ctx)
		return g, false, err
	}
	s.removeStaleTemps(path)
	_, gen, err := s.store.Generations(ctx)
	if err != nil {
		return nil, false, err
	}
	stamp, err := s.registryStamp(ctx, gen)
	if err != nil {
		s.log.Warn("match registry: the prepared copy is neither read nor written", "err", err)
		g, _, err := s.prepareRegistry(ctx)
		return g, false, err
	}
	if g, err := readSnapshot(path, stamp); err == nil {
		return g, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.log.Info("match registry: the prepared copy is not used, preparing the registry again", "reason", err)
	}
	g, gen, err = s.prepareRegistry(ctx)
	if err != nil {
		return nil, false, err
	}
	// Stamped with the generation the scan read, which may be newer than
	// the one above.
	if stamp, err = s.registryStamp(ctx, gen); err == nil {
		err = writeSnapshot(g, path, stamp)
	}
	if err != nil {
		s.log.Warn("match registry: the prepared copy was not written", "err", err)
	}
	return g, false, nil
}

// dropPreparedRegistry removes the prepared copy of the registry, if any.
func (s *Service) dropPreparedRegistry() {
	if path := s.cfg.RegistryCache; path != "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("match registry: the stale prepared copy was not removed", "err", err)
		}
	}
}

// removeStaleTemps removes temporary files of the prepared copy that a
// killed run left (they hold personal data); a file younger than an hour
// may be another run's, still being written.
func (s *Service) removeStaleTemps(path string) {
	temps, _ := filepath.Glob(path + ".*.tmp")
	for _, t := range temps {
		if st, err := os.Stat(t); err == nil && s.now().Sub(st.ModTime()) > time.Hour {
			if err := os.Remove(t); err != nil {
				s.log.Warn("match registry: a stale temporary file was not removed", "err", err)
			}
		}
	}
}

// registryStamp names what a prepared registry was prepared from: the
// program, the store and the registry's generation.
func (s *Service) registryStamp(ctx context.Context, gen int64) (string, error) {
	id, err := s.store.StoreID(ctx)
	if err != nil {
		return "", err
	}
	program := "unknown"
	if s.cfg.Program != nil {
		if program, err = s.cfg.Program(); err != nil {
			return "", fmt.Errorf("match registry: %w", err)
		}
	}
	return fmt.Sprintf("program %s store %s generation %d blocking %s", program, id, gen, match.BlockingVersion), nil
}

func readSnapshot(path, stamp string) (*match.Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return match.ReadSnapshot(bufio.NewReaderSize(f, 1<<20), st.Size(), stamp)
}

// writeSnapshot writes g to path through a temporary file, so that a
// reader sees the old copy or the new one, never half of one.
func writeSnapshot(g *match.Registry, path, stamp string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, nothing
	w := bufio.NewWriterSize(f, 1<<20)
	err = g.WriteSnapshot(w, stamp)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// On the disk before the rename: after a crash the name must not
		// hold a file whose end was never written.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}

// prepareRegistry reads the whole registry from the store and prepares it,
// returning the registry generation it read. Reading the store and
// preparing the records overlap: one batch is prepared (on every core)
// while the next is read.
func (s *Service) prepareRegistry(ctx context.Context) (*match.Registry, int64, error) {
	g := match.NewRegistry()
	n, err := s.store.RegistrySizeHint(ctx)
	if err != nil {
		return nil, 0, err
	}
	g.Grow(min(n, match.MaxRecords))
	type batch struct {
		ids  []string
		data [][]byte
	}
	batches := make(chan batch, 1)
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = g.AddAllJSON(b.ids, b.data); err != nil {
					failed.Store(true)
				}
			}
		}
		done <- err
	}()
	b := batch{}
	gen, err := s.store.ScanRecords(ctx, func(id string, d []byte) error {
		if failed.Load() {
			return errors.New("stopped") // the preparer's error is the one to report
		}
		b.ids, b.data = append(b.ids, id), append(b.data, d)
		if len(b.ids) == registryBatch {
			batches <- b
			b = batch{make([]string, 0, registryBatch), make([][]byte, 0, registryBatch)}
		}
		return nil
	})
	if err == nil && len(b.ids) > 0 {
		batches <- b
	}
	close(batches)
	if perr := <-done; perr != nil {
		err = perr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("match registry: %w", err)
	}
	return g, gen, nil
}

// registryBatch is how many records prepareRegistry prepares at a time.
const registryBatch = 8192

// TrainedModel is a stored match model.
type TrainedModel struct {
	Version  int64
	Hash     string
	LogIndex uint64
	Model    *match.Model
}

// TrainMatchModel estimates a match model from the registry (and sample
// queries, when given, as unlabelled candidate pairs), stores it as the
// current version and logs its hash.
func (s *Service) TrainMatchModel(ctx context.Context, queries []map[string]string, opt match.TrainOptions) (TrainedModel, error) {
	g, _, err := s.MatchRegistry(ctx)
	if err != nil {
		return TrainedModel{}, err
	}
	m, err := match.Train(g, queries, opt)
	if err != nil {
		return TrainedModel{}, custodian.Errorf(custodian.EInvalid, "%v", err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return TrainedModel{}, err
	}
	hash := m.Hash()
	v, idx, err := s.store.SaveMatchModel(ctx, hash, raw, func(version int64) any {
		return map[string]any{"action": "train", "model_version": version, "model_hash": hash,
			"records": m.Training.Records, "sample_queries": len(queries), "candidate_pairs": m.Training.CandidatePairs}
	})
	if err != nil {
		return TrainedModel{}, err
	}
	s.log.Info("match model trained", "model_version", v, "model_hash", hash, "records", m.Training.Records, "log_index", idx)
	return TrainedModel{Version: v, Hash: hash, LogIndex: idx, Model: m}, nil
}

// MatchModel returns the current match model (custodian.ENotFound before
// the first training).
func (s *Service) MatchModel(ctx context.Context) (TrainedModel, error) {
	v, hash, raw, err := s.store.CurrentMatchModel(ctx)
	if err != nil {
		return TrainedModel{}, err
	}
	var m match.Model
	if err := json.Unmarshal(raw, &m); err != nil {
		return TrainedModel{}, fmt.Errorf("match model %d: %w", v, err)
	}
	return TrainedModel{Version: v, Hash: hash, Model: &m}, nil
}
