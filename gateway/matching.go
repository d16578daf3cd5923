package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// MatchRegistry loads the whole registry into memory for the Fellegi-Sunter
// standard: training and the dry run compare against it.
func (s *Service) MatchRegistry(ctx context.Context) (*match.Registry, error) {
	g := match.NewRegistry()
	ids := make([]string, 0, registryBatch)
	data := make([][]byte, 0, registryBatch)
	_, err := s.store.ScanRecords(ctx, func(id string, d []byte) error {
		ids, data = append(ids, id), append(data, d)
		if len(ids) < registryBatch {
			return nil
		}
		err := g.AddAllJSON(ids, data)
		ids, data = ids[:0], data[:0]
		return err
	})
	if err == nil {
		err = g.AddAllJSON(ids, data)
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
