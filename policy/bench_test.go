package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/custodian-project/custodian/policy"
)

func BenchmarkDecideDemo13Fields(b *testing.B) {
	e := mustParse(b, string(demoText(b)))
	fields := demoFields()
	p := policy.Principal{AgencyID: "IL0160000", Groups: []string{"in-state-police"}}
	c := policy.Context{Purpose: "dppa-1"}
	b.ReportAllocs()
	for b.Loop() {
		e.Decide(p, c, fields)
	}
}

// generated writes n rules over 100 groups and the 14 DPPA purposes. With
// scoped, each names its group and class in the scope, as the demo does;
// otherwise the same tests sit in the condition, so every rule is
// evaluated for every field (the worst case).
func generated(n int, scoped bool) string {
	classes := []string{"identity", "contact", "photo", "physical"}
	var sb strings.Builder
	for i := range n {
		g, cls, purpose := fmt.Sprintf("group-%d", i%100), classes[i%len(classes)], fmt.Sprintf("dppa-%d", i%14+1)
		review := ""
		if i%3 == 0 {
			review = " && context.reviewed"
		}
		effect := "permit"
		if i%50 == 49 {
			effect = "forbid"
		}
		fmt.Fprintf(&sb, "@id(\"r%d\")\n@reason(\"generated rule %d\")\n", i, i)
		if scoped {
			fmt.Fprintf(&sb, "%s (principal in Group::%q, action == Action::\"disclose\", resource in FieldClass::%q)\nwhen { context.purpose == %q%s };\n\n",
				effect, g, cls, purpose, review)
		} else {
			fmt.Fprintf(&sb, "%s (principal, action == Action::\"disclose\", resource)\nwhen { principal in Group::%q && resource in FieldClass::%q && context.purpose == %q%s };\n\n",
				effect, g, cls, purpose, review)
		}
	}
	return sb.String()
}

func BenchmarkDecide1200Policies13Fields(b *testing.B) {
	for _, scoped := range []bool{true, false} {
		b.Run(fmt.Sprintf("scoped=%v", scoped), func(b *testing.B) {
			e := mustParse(b, generated(1200, scoped))
			fields := demoFields()
			p := policy.Principal{AgencyID: "A", Groups: []string{"group-7", "group-21"}}
			c := policy.Context{Purpose: "dppa-8"}
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(p, c, fields)
			}
		})
	}
}

func BenchmarkParseDemo(b *testing.B) {
	text := demoText(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
