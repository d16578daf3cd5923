// Package gateway is custodian's request flow: authenticate, validate,
// match, decide per field, record in the log, answer — and the staff
// actions around it (agencies, policy, review, blocks, registry import).
// Both the HTTP server and the CLI drive a *Service; it owns no I/O of its
// own beyond the Store and the clock it is given.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/policy"
)

// Store is what the flow needs from storage. Every method that changes
// state also appends its log entry in the same transaction.
type Store interface {
	BulkStore
	ImportRecords(ctx context.Context, fields []string, next func() (custodian.Record, error), keys func(custodian.Record) []string, entry func(n int) any) (int, uint64, error)
	RegistryFields(ctx context.Context) ([]string, error)
	Candidates(ctx context.Context, keys []string, maxBlock int) ([]custodian.Record, error)
	ScanRecords(ctx context.Context, fn func(id string, data []byte) error) (int64, error)
	StoreID(ctx context.Context) (string, error)
	RegistrySizeHint(ctx context.Context) (int, error)

	CreateAgency(ctx context.Context, a custodian.Agency, keyID string, keyHash []byte, entry any) (uint64, error)
	RevokeAgency(ctx context.Context, id string, entry any) (uint64, error)
	AgencyKeys(ctx context.Context) ([]custodian.AgencyKey, error)
	Agency(ctx context.Context, id string) (custodian.Agency, error)
	Agencies(ctx context.Context) ([]custodian.Agency, error)
	CreateStaff(ctx context.Context, name, role, keyID string, keyHash []byte, entry any) (uint64, error)
	StaffByKeyID(ctx context.Context, keyID string) (name, role string, hash []byte, err error)

	SavePolicy(ctx context.Context, hash, text string, entry any) (custodian.PolicyVersion, error)
	CurrentPolicy(ctx context.Context) (custodian.PolicyVersion, error)
	KeyVersion(ctx context.Context) (string, error)
	RekeyRecords(ctx context.Context, version string, keys func(custodian.Record) []string, entry func(n int) any) (int, uint64, error)
	SaveMatchModel(ctx context.Context, hash string, model []byte, entry func(version int64) any) (int64, uint64, error)
	CurrentMatchModel(ctx context.Context) (version int64, hash string, model []byte, err error)
	MatchModelVersion(ctx context.Context) (int64, error) // 0 before the first training
	Generations(ctx context.Context) (rules, registry int64, err error)

	// CreateLookup fails with custodian.ErrStale, storing nothing, when the
	// generations moved since the decision.
	CreateLookup(ctx context.Context, l *custodian.Lookup, reviews []custodian.ReviewItem, entry any, rulesGen, registryGen int64) error
	Lookup(ctx context.Context, id string) (custodian.Lookup, error)
	Reviews(ctx context.Context, state custodian.ReviewState, limit int) ([]custodian.ReviewItem, error)
	// DecideReview fails with custodian.ErrStale when the rules generation
	// moved since rulesGen.
	DecideReview(ctx context.Context, lookupID, field string, rulesGen int64, decide func(l *custodian.Lookup, item *custodian.ReviewItem, rec custodian.Record) (any, error)) (custodian.Lookup, error)

	CreateBlock(ctx context.Context, b custodian.Block, entry any) (uint64, error)
	LiftBlock(ctx context.Context, id, order string, entry any) (uint64, error)
	Blocks(ctx context.Context, active bool) ([]custodian.Block, error)
}

// Config is the deployment's part of the flow.
type Config struct {
	Purposes     []custodian.Purpose // the purpose catalog
	FieldClasses map[string]string   // field → class; fields not named are "unclassified"
	DigestSecret []byte              // key of the digests of released values kept in the log
	// Match, when set, makes the deployment's standard the Fellegi-Sunter
	// one, with the current trained model and these release rules; nil
	// keeps the deterministic standard given to New.
	Match *MatchRules
	// RegistryCache, when set, is the file where MatchRegistry keeps the
	// registry prepared for the Fellegi-Sunter standard between runs. It
	// holds personal data, as the store does.
	RegistryCache string
	// Program names the running program's code (a hash of it); a prepared
	// registry is used only by the program that prepared it. Nil: every
	// program is the same one.
	Program func() (string, error)
}

// MatchRules are the Fellegi-Sunter standard's release rules: a default
// and, per purpose, its own (a tax-law purpose requiring the address).
type MatchRules struct {
	Default  match.Rule
	Purposes map[string]match.Rule
}

// Service runs the flow. It is safe for concurrent use.
type Service struct {
	store    Store
	std      match.Standard
	cfg      Config
	purposes map[string]custodian.Purpose
	log      *slog.Logger
	now      func() time.Time
	newID    func(prefix string) string
	digest   *audit.Digester // of released values, under cfg.DigestSecret

	mu    sync.RWMutex
	state *rules // policy, blocks and registry fields as of a generation

	index    atomic.Pointer[registryIndex]
	indexing atomic.Bool

	bulkWake chan struct{} // a job was submitted: RunBulk looks at once
}

// rules is the policy, the blocks in force, the registry's columns and the
// active agencies' keys, reloaded when the store's generation changes (any
// process that changes them bumps it), so they hold from the next request.
type rules struct {
	gen     int64
	regGen  int64          // the registry's generation when the rules were loaded
	engine  *policy.Engine // nil when no policy is installed: everything is denied
	version string
	blocks  []custodian.Block
	fields  map[string]bool                // the registry's columns
	keys    map[string]custodian.AgencyKey // active agencies by key id
	active  map[string]custodian.Agency    // active agencies by agency id
	keyVer  string                         // the registry's key version
	fs      *fsStandards                   // the Fellegi-Sunter standards (nil: none trained, or not configured)
}

// fsStandards is the Fellegi-Sunter standard of one trained model, under
// the default rule and each purpose's.
type fsStandards struct {
	model     int64
	def       *match.FS
	byPurpose map[string]*match.FS
	outdated  error // the model does not fit this version of the standard: nothing matches until it is trained again
}

// New returns a Service. now and newID may be nil for the real clock and
// random ids.
func New(store Store, std match.Standard, cfg Config, logger *slog.Logger, now func() time.Time, newID func(prefix string) string) *Service {
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = RandomID
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ps := map[string]custodian.Purpose{}
	for _, p := range cfg.Purposes {
		ps[p.ID] = p
	}
	return &Service{store: store, std: std, cfg: cfg, purposes: ps, log: logger, now: now, newID: newID, digest: audit.NewDigester(cfg.DigestSecret),
		bulkWake: make(chan struct{}, 1)}
}

// RandomID returns prefix, 12 hex digits of the time in milliseconds and
// 16 random hex digits. Ids that grow with time keep the store's inserts at
// the right edge of its indexes: a few pages written per commit, not one
// random page per lookup.
func RandomID(prefix string) string {
	var b [14]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return prefix + hex.EncodeToString(b[:])
}

// Purposes returns the purpose catalog.
func (s *Service) Purposes() []custodian.Purpose { return s.cfg.Purposes }

// Class returns a field's sensitivity class.
func (s *Service) Class(field string) string {
	if c, ok := s.cfg.FieldClasses[field]; ok {
		return c
	}
	return "unclassified"
}

// cached returns the state last loaded, loading it if there is none. The
// lookup path checks it against the generation its candidates were read at.
func (s *Service) cached(ctx context.Context) (*rules, error) {
	s.mu.RLock()
	r := s.state
	s.mu.RUnlock()
	if r != nil {
		return r, nil
	}
	return s.current(ctx)
}

// current returns the policy and blocks in force, reloading them when the
// store says they changed (a CLI in another process may have changed them).
func (s *Service) current(ctx context.Context) (*rules, error) {
	gen, regGen, err := s.store.Generations(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	r := s.state
	s.mu.RUnlock()
	if r != nil && r.gen == gen && r.regGen == regGen {
		return r, nil
	}
	if r != nil && r.gen == gen {
		// Only the registry moved: the rules stand.
		nr := *r
		nr.regGen = regGen
		if nr.keyVer, err = s.store.KeyVersion(ctx); err != nil { // a re-key moves the registry's generation
			return nil, err
		}
		s.mu.Lock()
		s.state = &nr
		s.mu.Unlock()
		return &nr, nil
	}
	nr := &rules{gen: gen, regGen: regGen}
	pv, err := s.store.CurrentPolicy(ctx)
	switch {
	case custodian.ErrorCode(err) == custodian.ENotFound:
	case err != nil:
		return nil, err
	default:
		eng, err := policy.Parse([]byte(pv.Text))
		if err != nil {
			// An installed policy that no longer parses denies everything.
			s.log.Error("installed policy does not parse", "policy_version", pv.Hash, "err", err)
		} else {
			nr.engine, nr.version = eng, pv.Hash
		}
	}
	if nr.blocks, err = s.store.Blocks(ctx, true); err != nil {
		return nil, err
	}
	keys, err := s.store.AgencyKeys(ctx)
	if err != nil {
		return nil, err
	}
	nr.keys = make(map[string]custodian.AgencyKey, len(keys))
	nr.active = make(map[string]custodian.Agency, len(keys))
	for _, k := range keys {
		nr.keys[k.KeyID] = k
		nr.active[k.Agency.ID] = k.Agency
	}
	fields, err := s.store.RegistryFields(ctx)
	if err != nil {
		return nil, err
	}
	nr.fields = make(map[string]bool, len(fields))
	for _, f := range fields {
		nr.fields[f] = true
	}
	if nr.keyVer, err = s.store.KeyVersion(ctx); err != nil {
		return nil, err
	}
	if nr.fs, err = s.loadFS(ctx, r); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.state = nr
	s.mu.Unlock()
	return nr, nil
}

// keyFunc returns the version and function of the registry's blocking keys
// under the deployment's standard.
func (s *Service) keyFunc() (string, func(custodian.Record) []string) {
	if s.cfg.Match != nil {
		return match.BlockingVersion, match.BlockingKeys
	}
	return s.std.KeyVersion(), s.std.RecordKeys
}

// EnsureKeys re-keys the registry, logged, when its records are keyed for
// another standard than the deployment's (a changed config, or a registry
// from before key versions); otherwise it does nothing.
func (s *Service) EnsureKeys(ctx context.Context) error {
	want, keys := s.keyFunc()
	cur, err := s.store.KeyVersion(ctx)
	if err != nil || cur == want {
		return err
	}
	n, idx, err := s.store.RekeyRecords(ctx, want, keys, func(n int) any {
		return map[string]any{"action": "rekey", "key_version": want, "previous_key_version": cur, "records": n}
	})
	if err != nil {
		return err
	}
	s.log.Info("registry re-keyed", "key_version", want, "records", n, "log_index", idx)
	return nil
}

// loadFS builds the Fellegi-Sunter standards of the current model, reusing
// prev's when the model has not changed.
func (s *Service) loadFS(ctx context.Context, prev *rules) (*fsStandards, error) {
	if s.cfg.Match == nil {
		return nil, nil
	}
	v, err := s.store.MatchModelVersion(ctx)
	if err != nil || v == 0 {
		return nil, err
	}
	if prev != nil && prev.fs != nil && prev.fs.model == v {
		return prev.fs, nil
	}
	tm, err := s.MatchModel(ctx)
	if err != nil {
		return nil, err
	}
	fs := &fsStandards{model: tm.Version, byPurpose: map[string]*match.FS{}}
	if fs.def, err = match.NewFS(tm.Model, s.cfg.Match.Default); errors.Is(err, match.ErrModelOutdated) {
		s.log.Error("match model does not fit this version of the standard; lookups and bulk jobs are unavailable until it is trained again", "model_version", tm.Version, "err", err.Error())
		fs.outdated = err
		return fs, nil
	} else if err != nil {
		return nil, fmt.Errorf("match model %d: %w", tm.Version, err)
	}
	for p, rule := range s.cfg.Match.Purposes {
		if fs.byPurpose[p], err = match.NewFS(tm.Model, rule); err != nil {
			return nil, fmt.Errorf("match model %d, purpose %s: %w", tm.Version, p, err)
		}
	}
	return fs, nil
}

// standard returns the match standard for a purpose, or an EUnavailable
// error when the deployment cannot match yet.
func (s *Service) standard(st *rules, purpose string) (match.Standard, error) {
	if want, _ := s.keyFunc(); st.keyVer != want {
		return nil, custodian.Errorf(custodian.EUnavailable, "the registry is being re-keyed for the match standard; try again shortly")
	}
	if s.cfg.Match == nil {
		return s.std, nil
	}
	if st.fs == nil {
		return nil, custodian.Errorf(custodian.EUnavailable, "no match model has been trained yet")
	}
	if st.fs.outdated != nil {
		return nil, custodian.Errorf(custodian.EUnavailable, "the match model was trained for an earlier version of the match standard and must be trained again")
	}
	if f, ok := st.fs.byPurpose[purpose]; ok {
		return f, nil
	}
	return st.fs.def, nil
}
