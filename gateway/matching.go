package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// MatchRegistry loads the whole registry into memory for the Fellegi-Sunter
// standard: training and the dry run compare against it. Reading the store
// and preparing the records overlap: one batch is prepared (on every core)
// while the next is read.
func (s *Service) MatchRegistry(ctx context.Context) (*match.Registry, error) {
	g := match.NewRegistry()
	n, err := s.store.RegistrySizeHint(ctx)
	if err != nil {
		return nil, err
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
	_, err = s.store.ScanRecords(ctx, func(id string, d []byte) error {
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
		return nil, fmt.Errorf("match registry: %w", err)
	}
	return g, nil
}

// registryBatch is how many records MatchRegistry prepares at a time.
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
	g, err := s.MatchRegistry(ctx)
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
