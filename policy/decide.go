package policy

import (
	"iter"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/custodian-project/custodian"
)

// Principal is the requesting agency: its id and the groups it belongs to.
type Principal struct {
	AgencyID string
	Groups   []string
}

// Context is what the request declares. LegalBasis is nil when the request
// gave none; the policy then sees no legal_basis attribute at all.
type Context struct {
	Purpose    string
	LegalBasis *custodian.LegalBasis
}

// FieldRef names a requested field and its sensitivity class. A field with
// no class is denied: a rule on its class could not apply to it.
type FieldRef struct {
	Name, Class string
}

// Reasons used when no rule supplies one.
const (
	reasonDefault  = "no rule permits this"
	reasonNoClass  = "the field has no sensitivity class, so the policy cannot decide it"
	reasonInternal = "the policy could not be evaluated"
)

// Decide decides each field for one request: one decision per field, in
// the same order. A field is released when the policy allows it without
// review, held for review when it allows it only with context.reviewed
// true, and denied otherwise. Forbid wins; any evaluation error in either
// evaluation denies the field, naming the rule that failed.
func (e *Engine) Decide(p Principal, c Context, fields []FieldRef) []custodian.FieldDecision {
	out := make([]custodian.FieldDecision, len(fields))
	e.decide(p, c, fields, out, nil)
	return out
}

// decide fills out (and failed, when not nil, with whether a field was
// denied because of an evaluation error).
func (e *Engine) decide(p Principal, c Context, fields []FieldRef, out []custodian.FieldDecision, failed []bool) {
	defer func() {
		// Fail closed: should the evaluator ever panic, nothing is released.
		if r := recover(); r != nil {
			for i, f := range fields {
				out[i] = custodian.FieldDecision{Field: f.Name, Effect: custodian.Deny, Reason: reasonInternal}
				if failed != nil {
					failed[i] = true
				}
			}
		}
	}()

	// The rules whose principal scope can match this agency, in text order.
	cand := make([]int32, 0, len(e.rules))
	for i := range e.rules {
		if matchPrincipal(e.rules[i].principal, p) {
			cand = append(cand, int32(i))
		}
	}

	parents := make([]types.EntityUID, len(p.Groups))
	for i, g := range p.Groups {
		parents[i] = types.NewEntityUID(typeGroup, types.String(g))
	}
	ev := &evaluator{e: e, ents: requestEntities{agency: types.Entity{
		UID:     types.NewEntityUID(typeAgency, types.String(p.AgencyID)),
		Parents: types.NewEntityUIDSet(parents...),
	}}}
	ev.seq = ev.iterate
	reqs := [2]cedar.Request{
		{Principal: ev.ents.agency.UID, Action: actionDisclose, Context: requestContext(c, false)},
		{Principal: ev.ents.agency.UID, Action: actionDisclose, Context: requestContext(c, true)},
	}
	// Per field, the rules whose scope can match it are split: those that
	// cannot read context.reviewed (same) are evaluated once, those that
	// can (reviewed) without and with review. Together they give exactly
	// what Cedar would decide over all of them, at less cost.
	same := make([]int32, 0, len(cand))
	reviewed := make([]int32, 0, len(cand))
	var classes classCache

	for i, f := range fields {
		if f.Class == "" {
			out[i] = custodian.FieldDecision{Field: f.Name, Effect: custodian.Deny, Reason: reasonNoClass}
			continue
		}
		same, reviewed = same[:0], reviewed[:0]
		for _, j := range cand {
			r := &e.rules[j]
			if !matchResource(r.resource, f) {
				continue
			}
			if r.reviewed {
				reviewed = append(reviewed, j)
			} else {
				same = append(same, j)
			}
		}
		ev.ents.field = types.Entity{
			UID:     types.NewEntityUID(typeField, types.String(f.Name)),
			Parents: classes.get(f.Class),
		}
		reqs[0].Resource, reqs[1].Resource = ev.ents.field.UID, ev.ents.field.UID

		r0 := ev.eval(same, reqs[0])
		r1 := r0
		if len(reviewed) > 0 {
			r0, r1 = merge(r0, ev.eval(reviewed, reqs[0])), merge(r0, ev.eval(reviewed, reqs[1]))
		}
		dec, bad := e.outcome(r0, r1)
		dec.Field = f.Name
		out[i] = dec
		if failed != nil {
			failed[i] = bad
		}
	}
}

// result is Cedar's answer over some rules, as rule indexes in text order.
type result struct {
	permits []int32 // the permits that allowed it, when no forbid applied
	forbids []int32 // the forbids that applied
	errs    []cedar.DiagnosticError
}

// evaluator runs Cedar over a chosen list of rules for one agency.
type evaluator struct {
	e    *Engine
	ents requestEntities
	idx  []int32
	seq  iter.Seq2[cedar.PolicyID, *cedar.Policy] // ev.iterate, bound once per call
}

// All makes evaluator a cedar.PolicyIterator over the rules in idx.
func (ev *evaluator) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return ev.seq }

func (ev *evaluator) iterate(yield func(cedar.PolicyID, *cedar.Policy) bool) {
	for _, i := range ev.idx {
		r := &ev.e.rules[i]
		if !yield(r.pid, r.policy) {
			return
		}
	}
}

func (ev *evaluator) eval(idx []int32, req cedar.Request) result {
	if len(idx) == 0 {
		return result{}
	}
	ev.idx = idx
	dec, diag := cedar.Authorize(ev, &ev.ents, req)
	var r result
	if len(diag.Reasons) > 0 {
		ids := make([]int32, len(diag.Reasons))
		for i, dr := range diag.Reasons {
			ids[i] = int32(ev.e.byID[string(dr.PolicyID)])
		}
		if dec == cedar.Allow {
			r.permits = ids
		} else {
			r.forbids = ids
		}
	}
	r.errs = diag.Errors
	return r
}

// merge combines results over two disjoint lists of rules as Cedar would
// over their union: any forbid denies; else any permit allows.
func merge(a, b result) result {
	r := result{forbids: union(a.forbids, b.forbids)}
	if len(r.forbids) == 0 {
		r.permits = union(a.permits, b.permits)
	}
	switch {
	case len(a.errs) == 0:
		r.errs = b.errs
	case len(b.errs) == 0:
		r.errs = a.errs
	default:
		r.errs = append(slices.Clip(a.errs), b.errs...)
	}
	return r
}

// union merges two ascending lists.
func union(a, b []int32) []int32 {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]int32, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// outcome combines the evaluation without review (r0) and with it (r1).
func (e *Engine) outcome(r0, r1 result) (custodian.FieldDecision, bool) {
	if len(r0.errs) > 0 || len(r1.errs) > 0 {
		var ids, msgs []string
		for _, errs := range [2][]cedar.DiagnosticError{r0.errs, r1.errs} {
			for _, de := range errs {
				id := string(de.PolicyID)
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
					msgs = append(msgs, "rule "+id+" failed to evaluate ("+de.Message+")")
				}
			}
		}
		return custodian.FieldDecision{
			Effect: custodian.Deny,
			Rules:  ids,
			Reason: strings.Join(msgs, "; ") + "; denied to fail closed",
		}, true
	}
	allowed := func(r result) bool { return len(r.forbids) == 0 && len(r.permits) > 0 }
	switch {
	case allowed(r0):
		return e.decision(custodian.Release, r0.permits), false
	case allowed(r1):
		// The permits that allow it after review, and any forbid that
		// held it back until then.
		return e.decision(custodian.Review, union(r1.permits, r0.forbids)), false
	case len(r1.forbids) > 0:
		return e.decision(custodian.Deny, r1.forbids), false
	case len(r0.forbids) > 0:
		return e.decision(custodian.Deny, r0.forbids), false
	}
	return custodian.FieldDecision{Effect: custodian.Deny, Reason: reasonDefault}, false
}

func (e *Engine) decision(eff custodian.Effect, idx []int32) custodian.FieldDecision {
	ids := make([]string, len(idx))
	reason := ""
	n := 0
	for i, j := range idx {
		r := &e.rules[j]
		ids[i] = r.ID
		if r.Reason == "" || slices.ContainsFunc(idx[:i], func(k int32) bool { return e.rules[k].Reason == r.Reason }) {
			continue
		}
		if n > 0 {
			reason += "; "
		}
		reason += r.Reason
		n++
	}
	if reason == "" {
		verb := "forbidden by "
		switch eff {
		case custodian.Release:
			verb = "permitted by "
		case custodian.Review:
			verb = "permitted after review by "
		}
		reason = verb + strings.Join(ids, ", ")
	}
	return custodian.FieldDecision{Effect: eff, Rules: ids, Reason: reason}
}

func matchPrincipal(s scopeMatch, p Principal) bool {
	switch s.kind {
	case scopeAgency:
		return s.id == p.AgencyID
	case scopeGroup:
		return slices.Contains(p.Groups, s.id)
	}
	return true
}

func matchResource(s scopeMatch, f FieldRef) bool {
	switch s.kind {
	case scopeField:
		return s.id == f.Name
	case scopeClass:
		return s.id == f.Class
	}
	return true
}

// requestContext builds the context record; legal_basis is absent when
// the request gave none.
func requestContext(c Context, reviewed bool) types.Record {
	m := types.RecordMap{
		attrPurpose:  types.String(c.Purpose),
		attrReviewed: types.Boolean(reviewed),
	}
	if c.LegalBasis != nil {
		m[attrLegalBasis] = types.NewRecord(types.RecordMap{
			attrKind:      types.String(c.LegalBasis.Kind),
			attrReference: types.String(c.LegalBasis.Reference),
		})
	}
	return types.NewRecord(m)
}

// requestEntities holds the only two entities a decision can look up: the
// agency (parents: its groups) and the field (parent: its class).
type requestEntities struct {
	agency, field types.Entity
}

func (r *requestEntities) Get(uid types.EntityUID) (types.Entity, bool) {
	switch uid {
	case r.agency.UID:
		return r.agency, true
	case r.field.UID:
		return r.field, true
	}
	return types.Entity{}, false
}

// classCache reuses one parent set per field class within a call.
type classCache struct {
	names []string
	sets  []types.EntityUIDSet
}

func (c *classCache) get(class string) types.EntityUIDSet {
	for i, n := range c.names {
		if n == class {
			return c.sets[i]
		}
	}
	s := types.NewEntityUIDSet(types.NewEntityUID(typeFieldClass, types.String(class)))
	c.names = append(c.names, class)
	c.sets = append(c.sets, s)
	return s
}
