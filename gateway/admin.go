package gateway

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

// ApplyPolicy validates a Cedar policy and installs it as current; the
// previous versions stay in history and the new version's hash is logged.
func (s *Service) ApplyPolicy(ctx context.Context, text []byte) (custodian.PolicyVersion, error) {
	eng, err := policy.Parse(text)
	if err != nil {
		return custodian.PolicyVersion{}, err
	}
	pv, err := s.store.SavePolicy(ctx, eng.Hash(), string(text), map[string]any{"action": "apply", "policy_version": eng.Hash()})
	if err != nil {
		return pv, err
	}
	s.log.Info("policy applied", "policy_version", pv.Hash, "log_index", pv.LogIndex)
	return pv, nil
}

// Policy returns the installed policy, parsed.
func (s *Service) Policy(ctx context.Context) (*policy.Engine, error) {
	st, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if st.engine == nil {
		return nil, custodian.Errorf(custodian.ENotFound, "no valid policy is installed")
	}
	return st.engine, nil
}

// Explain renders the installed policy for one purpose: every group an
// agency belongs to × every registry field.
func (s *Service) Explain(ctx context.Context, purpose string) (policy.Matrix, error) {
	p, ok := s.purposes[purpose]
	if !ok {
		return policy.Matrix{}, custodian.FieldError("purpose", "unknown purpose")
	}
	eng, err := s.Policy(ctx)
	if err != nil {
		return policy.Matrix{}, err
	}
	agencies, err := s.store.Agencies(ctx)
	if err != nil {
		return policy.Matrix{}, err
	}
	var groups []string
	for _, a := range agencies {
		for _, g := range a.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	slices.Sort(groups)
	fields, err := s.store.RegistryFields(ctx)
	if err != nil {
		return policy.Matrix{}, err
	}
	refs := make([]policy.FieldRef, len(fields))
	for i, f := range fields {
		refs[i] = policy.FieldRef{Name: f, Class: s.Class(f)}
	}
	return eng.Explain(purpose, groups, refs, policy.WithTitle(p.Title)), nil
}

// Reviews lists held fields in a state ("" for all).
func (s *Service) Reviews(ctx context.Context, state custodian.ReviewState) ([]custodian.ReviewItem, error) {
	return s.store.Reviews(ctx, state, 1000)
}

// LookupForReview returns a lookup with its request, for a reviewer.
func (s *Service) LookupForReview(ctx context.Context, id string) (custodian.Lookup, error) {
	return s.store.Lookup(ctx, id)
}

// DecideReview approves or denies one held field. Approval releases the
// registry's value to the agency (visible at GET /v1/lookups/{id}) unless a
// block now covers it; both outcomes are logged with the reviewer's reason.
func (s *Service) DecideReview(ctx context.Context, who Staff, lookupID, field string, approve bool, reason string) (custodian.Lookup, error) {
	if strings.TrimSpace(reason) == "" || len(reason) > 1000 {
		return custodian.Lookup{}, custodian.FieldError("reason", "a reason of 1 to 1000 characters is required")
	}
	if who.Name == "" {
		return custodian.Lookup{}, custodian.FieldError("reviewer", "the reviewer must be named")
	}
	l, err := s.store.Lookup(ctx, lookupID)
	if err != nil {
		return l, err
	}
	for attempt := 0; ; attempt++ {
		out, err := s.decideReview(ctx, who, l, field, approve, reason)
		switch {
		case err == nil:
			s.log.Info("review decided", "lookup_id", lookupID, "field", field, "approve", approve, "reviewer", who.Name)
			return out, nil
		case !errors.Is(err, custodian.ErrStale):
			return out, err
		case attempt == 2:
			return out, custodian.Errorf(custodian.EUnavailable, "the blocks or agencies are changing; try again")
		}
	}
}

// decideReview settles a held field with the blocks and agencies in force
// now; the store refuses (custodian.ErrStale) if they change before it
// records the decision.
func (s *Service) decideReview(ctx context.Context, who Staff, l custodian.Lookup, field string, approve bool, reason string) (custodian.Lookup, error) {
	st, err := s.current(ctx)
	if err != nil {
		return custodian.Lookup{}, err
	}
	lookupID := l.ID
	if approve {
		a, ok := st.active[l.AgencyID]
		if !ok {
			return custodian.Lookup{}, custodian.Errorf(custodian.EConflict, "the agency's key is revoked; nothing more is released to it")
		}
		if b, ok := blocking(st.blocks, a, l.Request.Purpose, field); ok {
			return custodian.Lookup{}, custodian.Errorf(custodian.EConflict, "block %s (order %s) covers this field; it cannot be released", b.ID, b.Order)
		}
	}
	return s.store.DecideReview(ctx, lookupID, field, st.gen, func(l *custodian.Lookup, it *custodian.ReviewItem, rec custodian.Record) (any, error) {
		now := s.now()
		it.Reviewer, it.Note, it.DecidedAt = who.Name, reason, &now
		l.Pending = slices.DeleteFunc(l.Pending, func(f string) bool { return f == field })
		entry := map[string]any{"lookup": l.ID, "agency": l.AgencyID, "field": field, "reviewer": who.Name, "reason": reason}
		if approve {
			v, ok := rec.Values[field]
			if !ok {
				return nil, custodian.Errorf(custodian.EConflict, "the record no longer holds this field")
			}
			it.State = custodian.ReviewApproved
			l.Released[field] = v
			entry["decision"] = "approve"
			entry["released"] = s.digest.Value(l.ID, field, v)
		} else {
			it.State = custodian.ReviewDenied
			l.Withheld[field] = custodian.Withheld{Reason: "denied on review: " + reason, Rules: it.Rules}
			entry["decision"] = "deny"
		}
		l.Status = status(*l)
		return entry, nil
	})
}

// AddBlock puts a block in force from the next request on.
func (s *Service) AddBlock(ctx context.Context, kind, target, order string) (custodian.Block, error) {
	if !slices.Contains([]string{custodian.BlockAgency, custodian.BlockGroup, custodian.BlockPurpose, custodian.BlockField}, kind) {
		return custodian.Block{}, custodian.FieldError("kind", "must be agency, group, purpose or field")
	}
	if !idPattern.MatchString(target) {
		return custodian.Block{}, custodian.FieldError("target", "name the agency, group, purpose or field to block")
	}
	if strings.TrimSpace(order) == "" || len(order) > 500 {
		return custodian.Block{}, custodian.FieldError("order", "the order's reference is required")
	}
	b := custodian.Block{ID: s.newID("blk_"), Kind: kind, Target: target, Order: order, CreatedAt: s.now()}
	if _, err := s.store.CreateBlock(ctx, b, map[string]any{"action": "add", "block": b.ID, "kind": kind, "target": target, "order": order}); err != nil {
		return b, err
	}
	s.log.Info("block added", "block_id", b.ID, "kind", kind, "target", target)
	return b, nil
}

// LiftBlock lifts a block, citing the order that lifts it.
func (s *Service) LiftBlock(ctx context.Context, id, order string) error {
	if strings.TrimSpace(order) == "" || len(order) > 500 {
		return custodian.FieldError("order", "the lifting order's reference is required")
	}
	_, err := s.store.LiftBlock(ctx, id, order, map[string]any{"action": "lift", "block": id, "order": order})
	return err
}

// Blocks lists blocks (only those in force when active).
func (s *Service) Blocks(ctx context.Context, active bool) ([]custodian.Block, error) {
	return s.store.Blocks(ctx, active)
}
