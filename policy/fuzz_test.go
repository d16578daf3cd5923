package policy_test

import (
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

func FuzzParse(f *testing.F) {
	f.Add(string(demoText(f)))
	f.Add(base)
	f.Add(`@id("a") permit (principal, action, resource);`)
	f.Add(`@id("a") forbid (principal, action, resource) when { context has legal_basis && context.legal_basis.kind like "*order" };`)
	f.Add(`@id("a") permit (principal is Agency in Group::"g", action in [Action::"disclose"], resource is Field) unless { context.reviewed };`)
	f.Add(`@id("a") permit (principal, action, resource) when { decimal("1.5").lessThan(decimal("2.0")) && ip("10.0.0.1").isLoopback() };`)
	f.Add("permit (principal, action, resource) when { context.purpose == };")
	f.Add("@id(\"x\")")
	f.Add("// only a comment")
	f.Fuzz(func(t *testing.T, text string) {
		e, err := policy.Parse([]byte(text))
		if err != nil {
			if custodian.ErrorCode(err) != custodian.EInvalid {
				t.Fatalf("error with code %q: %v", custodian.ErrorCode(err), err)
			}
			return
		}
		fields := []policy.FieldRef{{Name: "dob", Class: "identity"}, {Name: "photo", Class: "photo"}}
		for _, c := range []policy.Context{{Purpose: "dppa-1"}, {Purpose: "dppa-4", LegalBasis: &custodian.LegalBasis{Kind: "court_order", Reference: "r"}}} {
			got := e.Decide(policy.Principal{AgencyID: "A", Groups: []string{"g", "courts"}}, c, fields)
			if len(got) != len(fields) {
				t.Fatalf("%d decisions for %d fields", len(got), len(fields))
			}
		}
		_ = e.Explain("dppa-1", []string{"g"}, fields)
	})
}
