package policy_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

func TestDemoCasesPass(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	f, err := os.Open("testdata/demo_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := policy.ParseCases(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d demo cases", len(cases))
	}
	seen := map[custodian.Effect]bool{}
	for _, r := range e.Test(cases) {
		seen[r.Want] = true
		if !r.Pass || r.Got != r.Want {
			t.Errorf("%s", r)
		}
	}
	if len(seen) != 3 {
		t.Errorf("the demo cases cover %v, want release, review and deny", seen)
	}
}

func TestTestReportsFailures(t *testing.T) {
	e := mustParse(t, string(demoText(t)))
	cases, err := policy.ParseCases(strings.NewReader(`[
		{"name": "wrong on purpose", "groups": ["insurers"], "purpose": "dppa-6", "field": "dob", "expect": "release"},
		{"name": "right", "groups": ["in-state-police"], "purpose": "dppa-1", "field": "dob", "expect": "release"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	res := e.Test(cases)
	if res[0].Pass || res[0].Got != custodian.Review || res[0].Want != custodian.Release || res[0].Rules[0] != "insurers-identity-reviewed" {
		t.Errorf("failing case: %+v", res[0])
	}
	if !strings.HasPrefix(res[0].String(), "FAIL wrong on purpose: got review (insurers-identity-reviewed), want release") {
		t.Errorf("String() = %q", res[0].String())
	}
	if !res[1].Pass || res[1].String() != "PASS right: release (police-identity)" {
		t.Errorf("passing case: %+v, %q", res[1], res[1].String())
	}
	if res[1].Case.Agency != "test-agency" || res[1].Case.Class != "identity" {
		t.Errorf("defaults not applied: %+v", res[1].Case)
	}
}

func TestParseCasesRejects(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		want      []string
		wantField string
	}{
		{"not an array", `{"name": "x"}`, []string{"JSON array"}, ""},
		{"not JSON", `[{"name": `, []string{"JSON array"}, ""},
		{"unknown key", `[{"name": "a", "purpose": "p", "field": "dob", "expect": "deny"}, {"name": "b", "purpose": "p", "field": "dob", "expect": "deny", "fields": ["x"]}]`,
			[]string{"case 1", `unknown key "fields"`}, "cases[1].fields"},
		{"bad effect", `[{"name": "a", "purpose": "p", "field": "dob", "expect": "allow"}]`,
			[]string{"case 0", "(a)", `"allow"`, "release, review or deny"}, "cases[0].expect"},
		{"missing expect", `[{"name": "a", "purpose": "p", "field": "dob"}]`, []string{"case 0", `missing "expect"`}, "cases[0].expect"},
		{"missing name", `[{"purpose": "p", "field": "dob", "expect": "deny"}]`, []string{"case 0", `missing "name"`}, "cases[0].name"},
		{"missing purpose", `[{"name": "a", "field": "dob", "expect": "deny"}]`, []string{"case 0", `missing "purpose"`}, "cases[0].purpose"},
		{"missing field", `[{"name": "a", "purpose": "p", "expect": "deny"}]`, []string{"case 0", `missing "field"`}, "cases[0].field"},
		{"unknown field without class", `[{"name": "a", "purpose": "p", "field": "eye_colour", "expect": "deny"}]`,
			[]string{"case 0", `"eye_colour"`, `"class"`}, "cases[0].class"},
		{"wrong type", `[{"name": "a", "groups": "courts", "purpose": "p", "field": "dob", "expect": "deny"}]`,
			[]string{"case 0", `"groups" must be a list`}, "cases[0].groups"},
		{"legal basis without kind", `[{"name": "a", "purpose": "p", "field": "dob", "expect": "deny", "legal_basis": {"reference": "x"}}]`,
			[]string{"case 0", "kind"}, "cases[0].legal_basis"},
		{"unknown legal basis key", `[{"name": "a", "purpose": "p", "field": "dob", "expect": "deny", "legal_basis": {"kind": "warrant", "ref": "x"}}]`,
			[]string{"case 0", `unknown key "ref"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.ParseCases(strings.NewReader(tt.json))
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid {
				t.Fatalf("got %v, want an invalid *custodian.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ce.Message, w) {
					t.Errorf("message %q lacks %q", ce.Message, w)
				}
			}
			if tt.wantField != "" && ce.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", ce.Field, tt.wantField)
			}
		})
	}
}
