package policy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

// base exercises the three outcomes, forbid over permit, legal bases and
// rules scoped to one agency.
const base = `
@id("identity-p1")
@reason("identity for p1")
permit (principal in Group::"g", action == Action::"disclose", resource in FieldClass::"identity")
when { context.purpose == "p1" };

@id("contact-p1-reviewed")
@reason("contact for p1 after review")
permit (principal in Group::"g", action == Action::"disclose", resource in FieldClass::"contact")
when { context.purpose == "p1" && context.reviewed };

@id("photo-for-g")
@reason("photo for g")
permit (principal in Group::"g", action, resource in FieldClass::"photo");

@id("no-photo")
@reason("the photo never leaves")
forbid (principal, action, resource in FieldClass::"photo");

@id("court-order")
@reason("identity with a court order")
permit (principal in Group::"courts", action, resource in FieldClass::"identity")
when { context has legal_basis && context.legal_basis.kind == "court_order" };

@id("one-agency-dob")
permit (principal == Agency::"A1", action, resource == Field::"dob");

@id("contact-all")
@reason("contact for p2")
permit (principal in Group::"g", action, resource in FieldClass::"contact")
when { context.purpose == "p2" };

@id("contact-hold")
@reason("p2 contact is held for review")
forbid (principal, action, resource in FieldClass::"contact")
when { context.purpose == "p2" }
unless { context.reviewed };
`

func mustParse(t testing.TB, text string) *policy.Engine {
	t.Helper()
	e, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return e
}

func demoText(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../cmd/custodian/demo.cedar") // the demo deployment's policy
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	e := mustParse(t, base)
	g := policy.Principal{AgencyID: "X", Groups: []string{"g"}}
	tests := []struct {
		name       string
		p          policy.Principal
		c          policy.Context
		field      policy.FieldRef
		want       custodian.Effect
		wantRules  []string
		wantReason string
	}{
		{"release when allowed without review", g, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", "identity"},
			custodian.Release, []string{"identity-p1"}, "identity for p1"},
		{"review when allowed only after review", g, policy.Context{Purpose: "p1"}, policy.FieldRef{"street", "contact"},
			custodian.Review, []string{"contact-p1-reviewed"}, "contact for p1 after review"},
		{"deny by default for another purpose", g, policy.Context{Purpose: "p9"}, policy.FieldRef{"dob", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"deny by default for another group", policy.Principal{AgencyID: "X", Groups: []string{"h"}}, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"deny by default with no groups", policy.Principal{AgencyID: "X"}, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"forbid wins over permit", g, policy.Context{Purpose: "p1"}, policy.FieldRef{"photo", "photo"},
			custodian.Deny, []string{"no-photo"}, "the photo never leaves"},
		{"forbid unless reviewed means review, naming both rules", g, policy.Context{Purpose: "p2"}, policy.FieldRef{"zip", "contact"},
			custodian.Review, []string{"contact-all", "contact-hold"}, "contact for p2; p2 contact is held for review"},
		{"legal basis of the right kind", policy.Principal{AgencyID: "C", Groups: []string{"courts"}},
			policy.Context{Purpose: "p4", LegalBasis: &custodian.LegalBasis{Kind: "court_order", Reference: "2025-CV-1"}}, policy.FieldRef{"last_name", "identity"},
			custodian.Release, []string{"court-order"}, "identity with a court order"},
		{"legal basis of another kind", policy.Principal{AgencyID: "C", Groups: []string{"courts"}},
			policy.Context{Purpose: "p4", LegalBasis: &custodian.LegalBasis{Kind: "subpoena", Reference: "S-1"}}, policy.FieldRef{"last_name", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"no legal basis", policy.Principal{AgencyID: "C", Groups: []string{"courts"}},
			policy.Context{Purpose: "p4"}, policy.FieldRef{"last_name", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"rule for one agency applies to it", policy.Principal{AgencyID: "A1"}, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", "identity"},
			custodian.Release, []string{"one-agency-dob"}, "permitted by one-agency-dob"},
		{"rule for one agency does not apply to another", policy.Principal{AgencyID: "A2"}, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", "identity"},
			custodian.Deny, nil, "no rule permits this"},
		{"field without a class is denied", g, policy.Context{Purpose: "p1"}, policy.FieldRef{"dob", ""},
			custodian.Deny, nil, "the field has no sensitivity class, so the policy cannot decide it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Decide(tt.p, tt.c, []policy.FieldRef{tt.field})
			if len(got) != 1 {
				t.Fatalf("got %d decisions, want 1", len(got))
			}
			d := got[0]
			if d.Field != tt.field.Name || d.Effect != tt.want || !slices.Equal(d.Rules, tt.wantRules) || d.Reason != tt.wantReason {
				t.Errorf("got %+v, want {Field:%s Effect:%s Rules:%v Reason:%s}", d, tt.field.Name, tt.want, tt.wantRules, tt.wantReason)
			}
		})
	}
}

func TestDecideManyFieldsKeepsOrder(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	fields := demoFields()
	got := e.Decide(policy.Principal{AgencyID: "IL0160000", Groups: []string{"in-state-police"}}, policy.Context{Purpose: "dppa-1"}, fields)
	if len(got) != len(fields) {
		t.Fatalf("got %d decisions, want %d", len(got), len(fields))
	}
	want := map[string]custodian.Effect{custodian.ClassIdentity: custodian.Release, custodian.ClassContact: custodian.Review, custodian.ClassPhoto: custodian.Deny}
	for i, f := range fields {
		if got[i].Field != f.Name || got[i].Effect != want[f.Class] {
			t.Errorf("field %d: got %s %s, want %s %s", i, got[i].Field, got[i].Effect, f.Name, want[f.Class])
		}
	}
}

// TestErroringPolicyDenies shows the adapter fails closed: Cedar skips a
// policy whose evaluation errors, which for a forbid would release the field.
func TestErroringPolicyDenies(t *testing.T) {
	const permit = `
@id("identity") permit (principal in Group::"g", action, resource in FieldClass::"identity");
`
	overflow := "9223372036854775807 + 1 > 0" // passes validation, errors at evaluation
	tests := []struct {
		name      string
		text      string
		validated bool // the text passes Parse; else it is built with ParseUnvalidated
		wantRules []string
	}{
		{"erroring forbid", permit + `
@id("bad-forbid") forbid (principal, action, resource in FieldClass::"identity") when { ` + overflow + ` };`,
			true, []string{"bad-forbid"}},
		{"erroring permit beside a good permit", permit + `
@id("bad-permit") permit (principal, action, resource) when { ` + overflow + ` };`,
			true, []string{"bad-permit"}},
		{"forbid that errors only with review", permit + `
@id("bad-when-reviewed") forbid (principal, action, resource) when { context.reviewed && ` + overflow + ` };`,
			true, []string{"bad-when-reviewed"}},
		{"forbid reading an absent legal basis", permit + `
@id("unguarded") forbid (principal, action, resource) when { context.legal_basis.kind == "warrant" };`,
			false, []string{"unguarded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *policy.Engine
			if tt.validated {
				e = mustParse(t, tt.text)
			} else {
				if _, err := policy.Parse([]byte(tt.text)); err == nil {
					t.Fatal("Parse accepted a rule the validator should reject")
				}
				var err error
				if e, err = policy.ParseUnvalidated([]byte(tt.text)); err != nil {
					t.Fatal(err)
				}
			}
			d := e.Decide(policy.Principal{AgencyID: "X", Groups: []string{"g"}}, policy.Context{Purpose: "p1"},
				[]policy.FieldRef{{Name: "dob", Class: "identity"}})[0]
			if d.Effect != custodian.Deny || !slices.Equal(d.Rules, tt.wantRules) || !strings.Contains(d.Reason, "failed to evaluate") {
				t.Errorf("got %+v, want deny by %v for an evaluation error", d, tt.wantRules)
			}
			// Cedar on its own would have allowed it: that is the hole this closes.
			ps, err := cedar.NewPolicySetFromBytes("p", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			ents := cedar.EntityMap{
				cedar.NewEntityUID("Agency", "X"):  {UID: cedar.NewEntityUID("Agency", "X"), Parents: cedar.NewEntityUIDSet(cedar.NewEntityUID("Group", "g"))},
				cedar.NewEntityUID("Field", "dob"): {UID: cedar.NewEntityUID("Field", "dob"), Parents: cedar.NewEntityUIDSet(cedar.NewEntityUID("FieldClass", "identity"))},
			}
			dec, diag := cedar.Authorize(ps, ents, cedar.Request{
				Principal: cedar.NewEntityUID("Agency", "X"), Action: cedar.NewEntityUID("Action", "disclose"),
				Resource: cedar.NewEntityUID("Field", "dob"),
				Context:  cedar.NewRecord(cedar.RecordMap{"purpose": cedar.String("p1"), "reviewed": cedar.True}),
			})
			if dec != cedar.Allow || len(diag.Errors) == 0 {
				t.Errorf("plain Cedar: got %v with %d errors; this case no longer shows the fail-open hole", dec, len(diag.Errors))
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	ok := `@id("ok") permit (principal, action == Action::"disclose", resource);`
	tests := []struct {
		name string
		text string
		want []string // substrings of the message
	}{
		{"empty", "", []string{"empty"}},
		{"only comments", "// nothing here\n\n", []string{"empty"}},
		{"missing @id", "permit (principal, action, resource);", []string{"no @id", "line 1:1"}},
		{"empty @id", `@id("") permit (principal, action, resource);`, []string{`@id("")`}},
		{"@id with spaces", `@id("a rule") permit (principal, action, resource);`, []string{`@id("a rule")`}},
		{"duplicate @id", ok + "\n" + ok, []string{`duplicate @id "ok"`, "line 2:1", "first used at line 1:1"}},
		{"duplicate annotation", `@id("a") @id("b") permit (principal, action, resource);`, []string{"syntax error", "line 1:", "duplicate annotation"}},
		{"syntax error", ok + "\n@id(\"x\") permit (principal, action, resource) when { context.purpose == };", []string{"syntax error", "line 2:"}},
		{"unknown entity type", `@id("t") permit (principal in Team::"x", action, resource);`, []string{`rule "t"`, "Team"}},
		{"unknown action", `@id("v") permit (principal, action == Action::"view", resource);`, []string{`rule "v"`, `Action::"view"`}},
		{"unknown context attribute", `@id("c") permit (principal, action, resource) when { context.foo == "x" };`, []string{`rule "c"`, "foo"}},
		{"type mismatch", `@id("m") permit (principal, action, resource) when { context.reviewed == "yes" };`, []string{"Bool", "String"}},
		{"unknown entity attribute", `@id("a") permit (principal, action, resource) when { principal.name == "x" };`, []string{"name", "Agency"}},
		{"unguarded legal basis", `@id("lb") permit (principal, action, resource) when { context.legal_basis.kind == "warrant" };`, []string{`rule "lb"`, "legal_basis"}},
		{"several problems listed", "permit (principal, action, resource);\n" + `@id("z") permit (principal, action, resource);` + "\npermit (principal, action, resource);", []string{"2 problems", "line 1:1", "line 3:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := policy.Parse([]byte(tt.text))
			if err == nil {
				t.Fatalf("Parse accepted it: %v", e.Rules())
			}
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid {
				t.Fatalf("got %T %v, want *custodian.Error with code invalid", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ce.Message, w) {
					t.Errorf("message %q does not contain %q", ce.Message, w)
				}
			}
		})
	}
}

func TestParseDemo(t *testing.T) {
	text := demoText(t)
	e := mustParse(t, string(text))
	sum := sha256.Sum256(text)
	if e.Hash() != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash %s is not the SHA-256 of the text", e.Hash())
	}
	got := e.Text()
	if string(got) != string(text) {
		t.Error("Text differs from the parsed text")
	}
	got[0] ^= 0xff
	if string(e.Text()) != string(text) {
		t.Error("changing the result of Text changed the engine")
	}
	var ids []string
	for _, r := range e.Rules() {
		ids = append(ids, r.ID)
		if r.Reason == "" {
			t.Errorf("rule %s has no @reason", r.ID)
		}
	}
	wantIDs := []string{"police-identity", "police-contact-reviewed", "courts-identity", "courts-contact", "insurers-identity-reviewed", "photo-never-leaves"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("rules %v, want %v", ids, wantIDs)
	}
	if r, ok := e.Rule("photo-never-leaves"); !ok || r.Effect != "forbid" || r.Annotations["id"] != "photo-never-leaves" {
		t.Errorf("Rule(photo-never-leaves) = %+v, %v", r, ok)
	}
	if _, ok := e.Rule("nope"); ok {
		t.Error("Rule(nope) found a rule")
	}
	if got := e.LegalBasisKinds(); !slices.Equal(got, []string{"court_order", "subpoena"}) {
		t.Errorf("LegalBasisKinds = %v", got)
	}
	refs := e.References()
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"groups", refs.Groups, []string{"in-state-police", "courts", "insurers"}},
		{"classes", refs.Classes, []string{"identity", "contact", "photo"}},
		{"purposes", refs.Purposes, []string{"dppa-1", "dppa-4", "dppa-6"}},
		{"agencies", refs.Agencies, nil},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("References %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	other := mustParse(t, `@id("x") permit (principal == Agency::"A1", action, resource == Field::"dob")
when { ["p1", "p2"].contains(context.purpose) && principal in [Group::"g1", Group::"g2"] };`).References()
	if !slices.Equal(other.Agencies, []string{"A1"}) || !slices.Equal(other.Fields, []string{"dob"}) ||
		!slices.Equal(other.Purposes, []string{"p1", "p2"}) || !slices.Equal(other.Groups, []string{"g1", "g2"}) {
		t.Errorf("References = %+v", other)
	}
}

func TestDecideConcurrent(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	fields := demoFields()
	want := e.Decide(policy.Principal{AgencyID: "A", Groups: []string{"in-state-police"}}, policy.Context{Purpose: "dppa-1"}, fields)
	done := make(chan []custodian.FieldDecision)
	for range 8 {
		go func() {
			var last []custodian.FieldDecision
			for range 50 {
				last = e.Decide(policy.Principal{AgencyID: "A", Groups: []string{"in-state-police"}}, policy.Context{Purpose: "dppa-1"}, fields)
			}
			done <- last
		}()
	}
	for range 8 {
		got := <-done
		for i := range got {
			if got[i].Effect != want[i].Effect || !slices.Equal(got[i].Rules, want[i].Rules) {
				t.Fatalf("field %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	}
}

// demoFields are the demo registry's columns with their classes.
func demoFields() []policy.FieldRef {
	classes := custodian.DefaultFieldClasses()
	var out []policy.FieldRef
	for _, f := range []string{"record_id", "first_name", "middle_name", "last_name", "suffix", "dob", "sex", "license_number", "street", "city", "state", "zip", "photo"} {
		out = append(out, policy.FieldRef{Name: f, Class: classes[f]})
	}
	return out
}
