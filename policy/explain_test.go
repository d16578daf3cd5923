package policy_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var demoGroups = []string{"in-state-police", "federal-immigration", "courts", "insurers"}

func TestExplainDemoGolden(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	titles := map[string]string{}
	for _, p := range custodian.DPPAPurposes() {
		titles[p.ID] = p.Title
	}
	var buf bytes.Buffer
	for i, purpose := range []string{"dppa-1", "dppa-4", "dppa-6"} {
		if i > 0 {
			buf.WriteString("\n" + strings.Repeat("=", 72) + "\n\n")
		}
		m := e.Explain(purpose, demoGroups, demoFields(), policy.WithTitle(titles[purpose]))
		if err := m.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
	}
	const golden = "testdata/explain_demo.golden"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run Golden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Explain output differs from %s (run with -update to accept):\n%s", golden, buf.String())
	}
}

func TestExplainMatrix(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	fields := demoFields()
	tests := []struct {
		name     string
		purpose  string
		opts     []policy.ExplainOption
		sections int
		section  int
		group    int
		field    string
		want     string
	}{
		{"police identity released", "dppa-1", nil, 3, 0, 0, "dob", "release (police-identity)"},
		{"police contact reviewed", "dppa-1", nil, 3, 0, 0, "street", "review (police-contact-reviewed)"},
		{"federal denied by default", "dppa-1", nil, 3, 0, 1, "dob", "deny"},
		{"photo forbidden for all", "dppa-4", nil, 3, 1, 2, "photo", "deny (photo-never-leaves)"},
		{"courts need a legal basis", "dppa-4", nil, 3, 0, 2, "dob", "deny"},
		{"courts with a court order", "dppa-4", nil, 3, 1, 2, "dob", "release (courts-identity)"},
		{"chosen kinds only", "dppa-4", []policy.ExplainOption{policy.WithLegalBasisKinds("warrant")}, 2, 1, 2, "dob", "deny"},
		{"no legal-basis sections", "dppa-4", []policy.ExplainOption{policy.WithLegalBasisKinds()}, 1, 0, 2, "dob", "deny"},
		{"insurers after review", "dppa-6", nil, 3, 0, 3, "license_number", "review (insurers-identity-reviewed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.Explain(tt.purpose, demoGroups, fields, tt.opts...)
			if len(m.Sections) != tt.sections {
				t.Fatalf("got %d sections, want %d", len(m.Sections), tt.sections)
			}
			fi := -1
			for i, f := range fields {
				if f.Name == tt.field {
					fi = i
				}
			}
			if got := m.Sections[tt.section].Cells[tt.group][fi].Text(); got != tt.want {
				t.Errorf("cell = %q, want %q", got, tt.want)
			}
			if m.PolicyHash != e.Hash() {
				t.Errorf("PolicyHash %q, want %q", m.PolicyHash, e.Hash())
			}
		})
	}
}

func TestExplainShowsErrorsAndAgencyRules(t *testing.T) {
	e := mustParse(t, `
@id("ok") @reason("identity for g") permit (principal in Group::"g", action, resource in FieldClass::"identity");
@id("boom") forbid (principal, action, resource == Field::"dob") when { 9223372036854775807 + 1 > 0 };
@id("just-a1") permit (principal == Agency::"A1", action, resource);
`)
	m := e.Explain("p1", []string{"g"}, []policy.FieldRef{{"dob", "identity"}, {"sex", "identity"}})
	if got := m.Sections[0].Cells[0][0]; !got.Error || got.Text() != "deny: error in boom" {
		t.Errorf("dob cell = %+v (%q), want an error deny naming boom", got, got.Text())
	}
	if got := m.Sections[0].Cells[0][1].Text(); got != "release (ok)" {
		t.Errorf("sex cell = %q", got)
	}
	var buf bytes.Buffer
	if err := m.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Purpose p1\n", "ok (permit, line 2): identity for g", "boom (forbid, line 3): (no reason given)", "Not shown: rules for a single agency: just-a1."} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, buf.String())
		}
	}
}
