package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/custodian-project/custodian"
)

// API keys look like cus_<key id>_<secret>. The key id finds the row; only
// a SHA-256 of the whole key is stored, compared in constant time.
const keyPrefix = "cus_"

func newKey() (key, keyID string, hash []byte) {
	var id [6]byte
	var secret [32]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	keyID = hex.EncodeToString(id[:])
	key = keyPrefix + keyID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	h := sha256.Sum256([]byte(key))
	return key, keyID, h[:]
}

// keyID extracts the key id, or "" when the key is not of our form.
func keyID(key string) string {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok || len(key) > 128 {
		return ""
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 12 {
		return ""
	}
	return id
}

func keyMatches(key string, hash []byte) bool {
	h := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}

var errBadKey = custodian.Errorf(custodian.EUnauthorized, "a valid API key is required")

// Authenticate returns the active agency holding key, as of the state last
// loaded: every use of the agency re-checks it against the current
// generation (Lookup at the snapshot of its candidates, GetLookup directly),
// so a key revoked by another process fails from the next request on.
func (s *Service) Authenticate(ctx context.Context, key string) (custodian.Agency, error) {
	id := keyID(key)
	if id == "" {
		return custodian.Agency{}, errBadKey
	}
	st, err := s.cached(ctx)
	if err != nil {
		return custodian.Agency{}, fmt.Errorf("authenticate: %w", err)
	}
	k, ok := st.keys[id]
	if !ok {
		// Perhaps an agency added since the state was loaded (by another
		// process): look again at the current state before refusing.
		if st, err = s.current(ctx); err != nil {
			return custodian.Agency{}, fmt.Errorf("authenticate: %w", err)
		}
		k, ok = st.keys[id]
	}
	if !ok || !keyMatches(key, k.Hash) {
		return custodian.Agency{}, errBadKey
	}
	return k.Agency, nil
}

// Staff is an authenticated member of the custodian's staff.
type Staff struct {
	Name string
	Role string // reviewer or admin
}

// Staff roles.
const (
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin"
)

// AuthenticateStaff returns the staff member holding key.
func (s *Service) AuthenticateStaff(ctx context.Context, key string) (Staff, error) {
	id := keyID(key)
	if id == "" {
		return Staff{}, errBadKey
	}
	name, role, hash, err := s.store.StaffByKeyID(ctx, id)
	if custodian.ErrorCode(err) == custodian.ENotFound {
		return Staff{}, errBadKey
	}
	if err != nil {
		return Staff{}, fmt.Errorf("authenticate staff: %w", err)
	}
	if !keyMatches(key, hash) {
		return Staff{}, errBadKey
	}
	return Staff{Name: name, Role: role}, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// AddAgency registers an agency and returns its API key, which is shown
// once and stored only hashed.
func (s *Service) AddAgency(ctx context.Context, a custodian.Agency) (string, error) {
	if !idPattern.MatchString(a.ID) {
		return "", custodian.FieldError("id", "1 to 64 letters, digits, '.', '_' or '-'")
	}
	if strings.TrimSpace(a.Name) == "" || len(a.Name) > 200 {
		return "", custodian.FieldError("name", "a name of 1 to 200 characters is required")
	}
	if len(a.Groups) == 0 {
		return "", custodian.FieldError("group", "an agency belongs to at least one group")
	}
	for _, g := range a.Groups {
		if !idPattern.MatchString(g) {
			return "", custodian.FieldError("group", "group names are 1 to 64 letters, digits, '.', '_' or '-'")
		}
	}
	a.CreatedAt = s.now()
	key, id, hash := newKey()
	_, err := s.store.CreateAgency(ctx, a, id, hash, map[string]any{
		"action": "add", "agency": a.ID, "name": a.Name, "jurisdiction": a.Jurisdiction, "groups": a.Groups, "key_id": id})
	if err != nil {
		return "", err
	}
	s.log.Info("agency added", "agency_id", a.ID)
	return key, nil
}

// RevokeAgency revokes an agency's key: its next request gets 401.
func (s *Service) RevokeAgency(ctx context.Context, id, reason string) error {
	_, err := s.store.RevokeAgency(ctx, id, map[string]any{"action": "revoke", "agency": id, "reason": reason})
	if err == nil {
		s.log.Info("agency revoked", "agency_id", id)
	}
	return err
}

// Agencies lists the agencies.
func (s *Service) Agencies(ctx context.Context) ([]custodian.Agency, error) {
	return s.store.Agencies(ctx)
}

// AddStaff registers a reviewer or administrator and returns their key.
func (s *Service) AddStaff(ctx context.Context, name, role string) (string, error) {
	if !idPattern.MatchString(name) {
		return "", custodian.FieldError("name", "1 to 64 letters, digits, '.', '_' or '-'")
	}
	if role != RoleReviewer && role != RoleAdmin {
		return "", custodian.FieldError("role", "must be reviewer or admin")
	}
	key, id, hash := newKey()
	if _, err := s.store.CreateStaff(ctx, name, role, id, hash, map[string]any{"action": "add", "staff": name, "role": role, "key_id": id}); err != nil {
		return "", err
	}
	return key, nil
}
