package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/policy"
)

// Limits on a lookup request.
const (
	MaxFields     = 64
	MaxValueLen   = 256
	MaxSubjectLen = 32
)

var legalKinds = []string{custodian.BasisWarrant, custodian.BasisCourtOrder, custodian.BasisSubpoena}

// validate checks a request against the catalog and the registry's fields.
// Errors name the offending field and never echo personal data.
func (s *Service) validate(req custodian.LookupRequest, fields map[string]bool) error {
	if err := s.validateRequest(req, fields); err != nil {
		return err
	}
	return validateSubject(req.Subject, fields)
}

// validateRequest checks what a lookup and a bulk job share: the purpose,
// the legal basis it needs, and the fields asked for.
func (s *Service) validateRequest(req custodian.LookupRequest, fields map[string]bool) error {
	p, ok := s.purposes[req.Purpose]
	switch {
	case req.Purpose == "":
		return custodian.FieldError("purpose", "a purpose is required")
	case !ok:
		return custodian.FieldError("purpose", "unknown purpose; see GET /v1/purposes")
	}
	if lb := req.LegalBasis; lb != nil {
		if !slices.Contains(legalKinds, lb.Kind) {
			return custodian.FieldError("legal_basis.kind", "must be one of %s", strings.Join(legalKinds, ", "))
		}
		if strings.TrimSpace(lb.Reference) == "" || len(lb.Reference) > MaxValueLen {
			return custodian.FieldError("legal_basis.reference", "a reference of 1 to %d characters is required", MaxValueLen)
		}
	}
	if len(p.LegalBasis) > 0 {
		if req.LegalBasis == nil {
			return custodian.FieldError("legal_basis", "purpose %s requires a legal basis of kind %s", p.ID, strings.Join(p.LegalBasis, " or "))
		}
		if !slices.Contains(p.LegalBasis, req.LegalBasis.Kind) {
			return custodian.FieldError("legal_basis.kind", "purpose %s requires a legal basis of kind %s", p.ID, strings.Join(p.LegalBasis, " or "))
		}
	}
	if len(req.Fields) == 0 {
		return custodian.FieldError("fields", "name at least one field to disclose")
	}
	if len(req.Fields) > MaxFields {
		return custodian.FieldError("fields", "at most %d fields", MaxFields)
	}
	seen := map[string]bool{}
	for _, f := range req.Fields {
		if !fields[f] {
			return custodian.FieldError("fields", "unknown field %q", custodian.EchoName(f))
		}
		if seen[f] {
			return custodian.FieldError("fields", "field %q named twice", f)
		}
		seen[f] = true
	}
	return nil
}

// validateSubject checks a subject's identifiers against the registry's
// columns; a lookup's subject and every row of a bulk job pass it.
func validateSubject(subject map[string]string, fields map[string]bool) error {
	if len(subject) == 0 {
		return custodian.FieldError("subject", "the subject's identifiers are required")
	}
	if len(subject) > MaxSubjectLen {
		return custodian.FieldError("subject", "too many identifiers")
	}
	for k, v := range subject {
		if !fields[k] {
			return custodian.FieldError("subject", "unknown identifier %q", custodian.EchoName(k))
		}
		if len(v) > MaxValueLen {
			return custodian.FieldError("subject."+k, "at most %d characters", MaxValueLen)
		}
		if k == "dob" && v != "" {
			if _, err := match.ParseDate(v); err != nil {
				return custodian.FieldError("subject.dob", "must be a date YYYY-MM-DD")
			}
		}
	}
	return nil
}

// Lookup runs one request through the whole flow for an authenticated
// agency. The answer is returned only after its log entry is committed; on
// any error nothing is released.
func (s *Service) Lookup(ctx context.Context, a custodian.Agency, req custodian.LookupRequest) (custodian.Lookup, error) {
	st, err := s.cached(ctx)
	if err != nil {
		return custodian.Lookup{}, fmt.Errorf("lookup: %w", err)
	}
	id := s.newID("lk_")
	for attempt := 0; ; attempt++ {
		l, err := s.lookupAt(ctx, st, a, req, id)
		if code := custodian.ErrorCode(err); (code == custodian.EInvalid || code == custodian.EUnavailable) && attempt == 0 {
			// Refused by the state this service holds: perhaps an import
			// added the column since, or a match model was trained in
			// another process. Refuse only by the current state.
			fresh, ferr := s.current(ctx)
			if ferr != nil {
				return custodian.Lookup{}, fmt.Errorf("lookup: %w", ferr)
			}
			if fresh.gen != st.gen {
				st = fresh
				continue
			}
		}
		if !errors.Is(err, custodian.ErrStale) {
			return l, err
		}
		// The policy, blocks, agencies or registry changed after this
		// service loaded them (perhaps in another process): the store
		// refused to record the decision. Reload and decide again.
		if attempt == 2 {
			return custodian.Lookup{}, custodian.Errorf(custodian.EUnavailable, "the registry or policy is changing; try again")
		}
		if st, err = s.current(ctx); err != nil {
			return custodian.Lookup{}, fmt.Errorf("lookup: %w", err)
		}
	}
}

// lookupAt decides a lookup with the state st and records it, provided st
// is still current when the record is written (else custodian.ErrStale).
func (s *Service) lookupAt(ctx context.Context, st *rules, a custodian.Agency, req custodian.LookupRequest, id string) (custodian.Lookup, error) {
	// The agency was authenticated against the state some moments ago;
	// decide with it as st has it (revoked: nothing).
	a, ok := st.active[a.ID]
	if !ok {
		return custodian.Lookup{}, errBadKey
	}
	if err := s.validate(req, st.fields); err != nil {
		return custodian.Lookup{}, err
	}
	d, err := s.disclose(ctx, st, a, req)
	if err != nil {
		return custodian.Lookup{}, err
	}
	l := custodian.Lookup{
		ID: id, AgencyID: a.ID, Request: req, Outcome: d.match.Outcome, RecordID: d.match.RecordID,
		PolicyVersion: st.version, CreatedAt: s.now(), Decisions: d.decisions,
		Released: d.released, Pending: d.pending, Withheld: d.withheld,
	}
	var reviews []custodian.ReviewItem
	for _, dec := range l.Decisions {
		if dec.Effect == custodian.Review {
			reviews = append(reviews, custodian.ReviewItem{LookupID: l.ID, Field: dec.Field, Rules: dec.Rules, Reason: dec.Reason,
				State: custodian.ReviewPending, CreatedAt: l.CreatedAt})
		}
	}
	m, std := d.match, d.standard
	l.Status = status(l)
	if err := s.store.CreateLookup(ctx, &l, reviews, s.lookupEntry(l, m, std), st.gen, st.regGen); err != nil {
		if errors.Is(err, custodian.ErrStale) {
			return custodian.Lookup{}, err
		}
		return custodian.Lookup{}, fmt.Errorf("lookup: %w", err)
	}
	s.log.Info("lookup", "lookup_id", l.ID, "agency_id", a.ID, "purpose", req.Purpose, "outcome", l.Outcome,
		"status", l.Status, "released", len(l.Released), "pending", len(l.Pending), "log_index", l.LogIndex)
	return l, nil
}

// disclosure is what the flow decided for one subject: the match, and per
// field the decision and what it releases, holds or withholds.
type disclosure struct {
	match     match.Result
	standard  string // the match standard's version
	decisions []custodian.FieldDecision
	released  map[string]string
	pending   []string
	withheld  map[string]custodian.Withheld
}

// disclose matches a validated request's subject under the purpose's
// standard and decides each field: one piece of code for a lookup and for
// every row of a bulk job. It records nothing.
func (s *Service) disclose(ctx context.Context, st *rules, a custodian.Agency, req custodian.LookupRequest) (disclosure, error) {
	std, err := s.standard(st, req.Purpose)
	if err != nil {
		return disclosure{}, err
	}
	keys, err := std.QueryKeys(req.Subject)
	if err != nil {
		return disclosure{}, err
	}
	d := disclosure{standard: std.Version(), released: map[string]string{}, pending: []string{}, withheld: map[string]custodian.Withheld{}}
	var rec custodian.Record
	indexed := false
	if f, ok := std.(*match.FS); ok {
		d.match, rec, indexed = s.decideIndexed(f, req.Subject, keys, st.regGen)
	}
	if !indexed {
		cands, err := s.candidates(ctx, keys, st.regGen)
		if err != nil {
			return disclosure{}, fmt.Errorf("match: %w", err)
		}
		d.match = std.Decide(req.Subject, cands)
		for _, c := range cands {
			if c.ID == d.match.RecordID {
				rec = c
			}
		}
	}
	if d.match.Outcome == custodian.Verified {
		d.decisions = s.decide(st, a, req)
	} else {
		reason := "no verified match: " + string(d.match.Outcome)
		for _, f := range req.Fields {
			d.decisions = append(d.decisions, custodian.FieldDecision{Field: f, Effect: custodian.Deny, Reason: reason})
		}
	}
	for _, dec := range d.decisions {
		switch dec.Effect {
		case custodian.Release:
			d.released[dec.Field] = rec.Values[dec.Field]
		case custodian.Review:
			d.pending = append(d.pending, dec.Field)
		default:
			d.withheld[dec.Field] = custodian.Withheld{Reason: dec.Reason, Rules: dec.Rules}
		}
	}
	return d, nil
}

// decide is the per-field decision: blocks first (they override every
// permit), then the policy; no policy means deny.
func (s *Service) decide(st *rules, a custodian.Agency, req custodian.LookupRequest) []custodian.FieldDecision {
	refs := make([]policy.FieldRef, len(req.Fields))
	for i, f := range req.Fields {
		refs[i] = policy.FieldRef{Name: f, Class: s.Class(f)}
	}
	var out []custodian.FieldDecision
	if st.engine == nil {
		for _, f := range req.Fields {
			out = append(out, custodian.FieldDecision{Field: f, Effect: custodian.Deny, Reason: "no policy is installed"})
		}
		return out
	}
	out = st.engine.Decide(policy.Principal{AgencyID: a.ID, Groups: a.Groups},
		policy.Context{Purpose: req.Purpose, LegalBasis: req.LegalBasis}, refs)
	for i := range out {
		if b, ok := blocking(st.blocks, a, req.Purpose, out[i].Field); ok {
			out[i] = custodian.FieldDecision{Field: out[i].Field, Effect: custodian.Deny,
				Rules: []string{"block:" + b.ID}, Reason: "blocked by order " + b.Order}
		}
	}
	return out
}

// blocking returns the first block in force that covers this disclosure.
func blocking(blocks []custodian.Block, a custodian.Agency, purpose, field string) (custodian.Block, bool) {
	for _, b := range blocks {
		switch {
		case b.Kind == custodian.BlockAgency && b.Target == a.ID,
			b.Kind == custodian.BlockGroup && slices.Contains(a.Groups, b.Target),
			b.Kind == custodian.BlockPurpose && b.Target == purpose,
			b.Kind == custodian.BlockField && b.Target == field:
			return b, true
		}
	}
	return custodian.Block{}, false
}

func status(l custodian.Lookup) custodian.Status {
	switch {
	case l.Outcome != custodian.Verified:
		return custodian.StatusWithheld
	case len(l.Pending) > 0:
		return custodian.StatusPendingReview
	case len(l.Released) > 0:
		return custodian.StatusReleased
	default:
		return custodian.StatusDenied
	}
}

// lookupEntry is what the log keeps of a lookup: ids, the decision and its
// rules, and digests (never values) of the query and of what was released.
type lookupEntry struct {
	Lookup             string                `json:"lookup"`
	Agency             string                `json:"agency"`
	Purpose            string                `json:"purpose"`
	LegalBasis         *custodian.LegalBasis `json:"legal_basis,omitempty"`
	SubjectIdentifiers []string              `json:"subject_identifiers"`
	SubjectDigest      string                `json:"subject_digest"`
	Outcome            custodian.Outcome     `json:"outcome"`
	Candidates         int                   `json:"candidates"`
	MatchStandard      string                `json:"match_standard"`
	Record             string                `json:"record"`
	PolicyVersion      string                `json:"policy_version"`
	Decisions          []loggedDecision      `json:"decisions"`
	Released           map[string]string     `json:"released"` // field → digest
	Status             custodian.Status      `json:"status"`
}

func (s *Service) lookupEntry(l custodian.Lookup, m match.Result, standard string) lookupEntry {
	released := make(map[string]string, len(l.Released))
	for f, v := range l.Released {
		released[f] = s.digest.Value(l.ID, f, v)
	}
	subj := make([]string, 0, len(l.Request.Subject))
	for k := range l.Request.Subject {
		subj = append(subj, k)
	}
	sort.Strings(subj)
	var q strings.Builder
	for _, k := range subj {
		fmt.Fprintf(&q, "%d:%s%d:%s", len(k), k, len(l.Request.Subject[k]), l.Request.Subject[k])
	}
	return lookupEntry{
		Lookup: l.ID, Agency: l.AgencyID, Purpose: l.Request.Purpose, LegalBasis: l.Request.LegalBasis,
		SubjectIdentifiers: subj, SubjectDigest: s.digest.Value(l.ID, "subject", q.String()),
		Outcome: l.Outcome, Candidates: m.Candidates, MatchStandard: standard,
		Record: l.RecordID, PolicyVersion: l.PolicyVersion, Decisions: loggedDecisions(l.Decisions),
		Released: released, Status: l.Status,
	}
}

// loggedDecision is a decision as the log keeps it: the rule ids name the
// reasons, which the logged policy version holds.
type loggedDecision struct {
	Field  string           `json:"field"`
	Effect custodian.Effect `json:"effect"`
	Rules  []string         `json:"rules,omitempty"`
}

func loggedDecisions(ds []custodian.FieldDecision) []loggedDecision {
	out := make([]loggedDecision, len(ds))
	for i, d := range ds {
		out[i] = loggedDecision{d.Field, d.Effect, d.Rules}
	}
	return out
}

// GetLookup returns a lookup to the agency that made it; to anyone else it
// does not exist.
func (s *Service) GetLookup(ctx context.Context, a custodian.Agency, id string) (custodian.Lookup, error) {
	st, err := s.current(ctx)
	if err != nil {
		return custodian.Lookup{}, err
	}
	if _, ok := st.active[a.ID]; !ok {
		return custodian.Lookup{}, errBadKey
	}
	l, err := s.store.Lookup(ctx, id)
	if err != nil {
		return l, err
	}
	if l.AgencyID != a.ID {
		return custodian.Lookup{}, custodian.Errorf(custodian.ENotFound, "lookup not found")
	}
	return l, nil
}
