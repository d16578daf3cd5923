// Package deployment owns a custodian deployment folder: its config file,
// its SQLite store, the log signing key and the digest key, and wires them
// into a gateway.Service and an audit.Log.
package deployment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
)

// Files in a deployment folder.
const (
	ConfigFile  = "custodian.json"
	DBFile      = "custodian.db"
	SignerFile  = "log.key"    // note signer key (secret)
	VerifierKey = "log.pub"    // note verifier key (public)
	DigestFile  = "digest.key" // HMAC key of value digests (secret)
	// RegistryCacheFile is the registry prepared for the match standard,
	// kept between dry runs and trainings (personal data, like the store;
	// deleting it costs only the time to prepare it again).
	RegistryCacheFile = "match-registry.prepared"
)

// Config is the deployment's config file.
type Config struct {
	// Origin names the log in its checkpoints, e.g. "dmv.example.gov/custodian".
	Origin string `json:"origin"`
	// Listen is the default address of `custodian serve`.
	Listen string `json:"listen"`
	// Fields gives the sensitivity class of registry columns beyond (or
	// instead of) the standard ones.
	Fields map[string]string `json:"fields,omitempty"`
	// Purposes extends the catalog of the 14 DPPA uses; an entry with a
	// DPPA id replaces it (e.g. to require a legal basis).
	Purposes []custodian.Purpose `json:"purposes,omitempty"`
	// Match is the match standard.
	Match MatchConfig `json:"match"`
}

// MatchConfig configures the match standard.
type MatchConfig struct {
	// Standard is "fellegi-sunter" (the default: weights from a model the
	// custodian trains with `custodian match train`) or "exact" (every
	// required identifier equal after normalisation).
	Standard string `json:"standard,omitempty"`
	// Require names the identifiers that must agree (default first_name,
	// last_name, dob).
	Require []string `json:"require,omitempty"`
	// MinProbability and Margin are the Fellegi-Sunter release rule's
	// least match probability (default 0.999) and lead in bits over the
	// second candidate (default 10).
	MinProbability float64 `json:"min_probability,omitempty"`
	Margin         float64 `json:"margin,omitempty"`
	// Purposes gives a purpose its own release rule, e.g. a tax-law
	// purpose that requires the address to agree as well.
	Purposes map[string]match.Rule `json:"purposes,omitempty"`
}

// Standard names.
const (
	StandardFS    = "fellegi-sunter"
	StandardExact = "exact"
)

// matchRules checks the match config against the purpose catalog and
// returns the Fellegi-Sunter rules, or nil for the exact standard.
func matchRules(mc MatchConfig, purposes []custodian.Purpose) (*gateway.MatchRules, error) {
	switch mc.Standard {
	case "", StandardFS:
	case StandardExact:
		if mc.MinProbability != 0 || mc.Margin != 0 || len(mc.Purposes) > 0 {
			return nil, custodian.FieldError("match", "min_probability, margin and purposes apply to the fellegi-sunter standard only")
		}
		return nil, nil
	default:
		return nil, custodian.FieldError("match.standard", "must be %q or %q", StandardFS, StandardExact)
	}
	rules := &gateway.MatchRules{Default: match.Rule{Require: mc.Require, MinProbability: mc.MinProbability, Margin: mc.Margin}, Purposes: map[string]match.Rule{}}
	if err := rules.Default.Check(); err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, p := range purposes {
		known[p.ID] = true
	}
	for id, r := range mc.Purposes {
		if !known[id] {
			return nil, custodian.FieldError("match.purposes", "%q is not a purpose in the catalog", id)
		}
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("match.purposes.%s: %w", id, err)
		}
		rules.Purposes[id] = r
	}
	return rules, nil
}

// Deployment is an opened deployment folder.
type Deployment struct {
	Dir      string
	Config   Config
	Store    *sqlite.Store
	Service  *gateway.Service
	Log      *audit.Log
	Verifier note.Verifier
}

// Init creates a deployment in dir (which may exist but must not already
// hold a deployment): config, keys and an empty store.
func Init(ctx context.Context, dir, origin string) error {
	if origin == "" {
		origin = "custodian.local/log"
	}
	if strings.ContainsAny(origin, " \n+") {
		return custodian.FieldError("origin", "the log origin must have no spaces, newlines or '+'")
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return custodian.Errorf(custodian.EConflict, "%s already holds a deployment", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	skey, vkey, err := audit.GenerateKey(origin)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	var secret [32]byte
	rand.Read(secret[:])
	cfg := Config{Origin: origin, Listen: "127.0.0.1:8080", Fields: map[string]string{}}
	js, _ := json.MarshalIndent(cfg, "", "  ")
	for _, f := range []struct {
		name string
		data string
		mode fs.FileMode
	}{
		{SignerFile, skey + "\n", 0o600},
		{VerifierKey, vkey + "\n", 0o644},
		{DigestFile, hex.EncodeToString(secret[:]) + "\n", 0o600},
		{ConfigFile, string(js) + "\n", 0o644},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.data), f.mode); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, DBFile), nil)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return st.Close()
}

// Open opens the deployment in dir.
func Open(ctx context.Context, dir string, logger *slog.Logger, now func() time.Time) (*Deployment, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, custodian.Errorf(custodian.ENotFound, "%s holds no deployment (run custodian init %s)", dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open deployment: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, custodian.Errorf(custodian.EInvalid, "%s: %v", ConfigFile, err)
	}
	skey, err := readKey(dir, SignerFile)
	if err != nil {
		return nil, err
	}
	vkey, err := readKey(dir, VerifierKey)
	if err != nil {
		return nil, err
	}
	secretHex, err := readKey(dir, DigestFile)
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(secretHex)
	if err != nil || len(secret) < 16 {
		return nil, custodian.Errorf(custodian.EInvalid, "%s is not a hex key", DigestFile)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("open deployment: signer: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("open deployment: verifier: %w", err)
	}
	purposes := catalog(cfg.Purposes)
	rules, err := matchRules(cfg.Match, purposes)
	if err != nil {
		return nil, fmt.Errorf("open deployment: %s: %w", ConfigFile, err)
	}
	exactRequire := cfg.Match.Require
	if rules != nil {
		exactRequire = nil // the exact standard is not used
	}
	std, err := match.NewExact(exactRequire)
	if err != nil {
		return nil, fmt.Errorf("open deployment: match standard: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, DBFile), now)
	if err != nil {
		return nil, err
	}
	classes := custodian.DefaultFieldClasses()
	for f, c := range cfg.Fields {
		classes[f] = c
	}
	svc := gateway.New(st, std, gateway.Config{Purposes: purposes, FieldClasses: classes, DigestSecret: secret, Match: rules,
		RegistryCache: filepath.Join(dir, RegistryCacheFile), Program: sync.OnceValues(programHash)}, logger, now, nil)
	// A registry keyed for another standard is re-keyed now, logged, once.
	if err := svc.EnsureKeys(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("open deployment: %w", err)
	}
	lg := audit.New(st, signer, cfg.Origin, now, audit.WithLogger(logger))
	return &Deployment{Dir: dir, Config: cfg, Store: st, Service: svc, Log: lg, Verifier: verifier}, nil
}

// programHash names the running program by a hash of its executable, so a
// registry prepared by another build of it is never taken for this one's.
// On Linux /proc/self/exe is the file this process runs even when a new
// build has been renamed over its path since it started.
func programHash() (string, error) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		exe, xerr := os.Executable()
		if xerr != nil {
			return "", xerr
		}
		if f, err = os.Open(exe); err != nil {
			return "", err
		}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// catalog merges the configured purposes into the DPPA catalog.
func catalog(extra []custodian.Purpose) []custodian.Purpose {
	out := custodian.DPPAPurposes()
	for _, p := range extra {
		replaced := false
		for i := range out {
			if out[i].ID == p.ID {
				out[i], replaced = p, true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

func readKey(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("open deployment: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Close closes the store.
func (d *Deployment) Close() error { return d.Store.Close() }
