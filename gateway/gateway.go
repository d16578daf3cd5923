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
	ImportRecords(ctx context.Context, fields []string, next func() (custodian.Record, error), keys func(custodian.Record) []string, entry func(n int) any) (int, uint64, error)
	RegistryFields(ctx context.Context) ([]string, error)
	Candidates(ctx context.Context, keys []string) ([]custodian.Record, error)
	ScanRecords(ctx context.Context, fn func(id string, data []byte, keys []string) error) (int64, error)

	CreateAgency(ctx context.Context, a custodian.Agency, keyID string, keyHash []byte, entry any) (uint64, error)
	RevokeAgency(ctx context.Context, id string, entry any) (uint64, error)
	AgencyKeys(ctx context.Context) ([]custodian.AgencyKey, error)
	Agency(ctx context.Context, id string) (custodian.Agency, error)
	Agencies(ctx context.Context) ([]custodian.Agency, error)
	CreateStaff(ctx context.Context, name, role, keyID string, keyHash []byte, entry any) (uint64, error)
	StaffByKeyID(ctx context.Context, keyID string) (name, role string, hash []byte, err error)

	SavePolicy(ctx context.Context, hash, text string, entry any) (custodian.PolicyVersion, error)
	CurrentPolicy(ctx context.Context) (custodian.PolicyVersion, error)
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
	return &Service{store: store, std: std, cfg: cfg, purposes: ps, log: logger, now: now, newID: newID, digest: audit.NewDigester(cfg.DigestSecret)}
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
	s.mu.Lock()
	s.state = nr
	s.mu.Unlock()
	return nr, nil
}
