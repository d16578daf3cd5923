package sqlite

import (
	"encoding/json"
	"slices"

	"github.com/custodian-project/custodian"
)

// A lookup's decisions are stored with each distinct reason once (several
// fields decided by one rule share its reason), and its withheld fields
// only where they differ from what the decisions say (a denial on review):
// the rest is derived on load. Every lookup row is written inside the
// single writer's transaction, so its size is paid on the serial path.

type storedDecisions struct {
	Reasons []string         `json:"reasons,omitempty"`
	Fields  []storedDecision `json:"fields"`
}

type storedDecision struct {
	Field  string           `json:"f"`
	Effect custodian.Effect `json:"e"`
	Rules  []string         `json:"r,omitempty"`
	Reason int              `json:"x"` // index into Reasons, -1 for none
}

func packDecisions(ds []custodian.FieldDecision) storedDecisions {
	out := storedDecisions{Fields: make([]storedDecision, len(ds))}
	for i, d := range ds {
		x := -1
		if d.Reason != "" {
			if x = slices.Index(out.Reasons, d.Reason); x < 0 {
				out.Reasons = append(out.Reasons, d.Reason)
				x = len(out.Reasons) - 1
			}
		}
		out.Fields[i] = storedDecision{d.Field, d.Effect, d.Rules, x}
	}
	return out
}

func (s storedDecisions) unpack() []custodian.FieldDecision {
	out := make([]custodian.FieldDecision, len(s.Fields))
	for i, d := range s.Fields {
		out[i] = custodian.FieldDecision{Field: d.Field, Effect: d.Effect, Rules: d.Rules}
		if d.Reason >= 0 && d.Reason < len(s.Reasons) {
			out[i].Reason = s.Reasons[d.Reason]
		}
	}
	return out
}

// derivedWithheld is what the decisions alone withhold.
func derivedWithheld(ds []custodian.FieldDecision) map[string]custodian.Withheld {
	out := map[string]custodian.Withheld{}
	for _, d := range ds {
		if d.Effect == custodian.Deny {
			out[d.Field] = custodian.Withheld{Reason: d.Reason, Rules: d.Rules}
		}
	}
	return out
}

// withheldOverrides keeps the entries of w that the decisions do not imply.
func withheldOverrides(ds []custodian.FieldDecision, w map[string]custodian.Withheld) map[string]custodian.Withheld {
	derived := derivedWithheld(ds)
	out := map[string]custodian.Withheld{}
	for f, v := range w {
		if d, ok := derived[f]; !ok || d.Reason != v.Reason || !slices.Equal(d.Rules, v.Rules) {
			out[f] = v
		}
	}
	return out
}

// unpackLookup fills the lookup's decisions and withheld fields from their
// stored forms.
func unpackLookup(l *custodian.Lookup, decisions, overrides string) error {
	var sd storedDecisions
	if err := json.Unmarshal([]byte(decisions), &sd); err != nil {
		return err
	}
	l.Decisions = sd.unpack()
	l.Withheld = derivedWithheld(l.Decisions)
	var ov map[string]custodian.Withheld
	if err := json.Unmarshal([]byte(overrides), &ov); err != nil {
		return err
	}
	for f, v := range ov {
		l.Withheld[f] = v
	}
	return nil
}
