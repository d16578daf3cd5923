package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/custodian-project/custodian"
)

// Case is one expected decision, as written in a cases file (a JSON array
// of these objects).
type Case struct {
	Name       string                `json:"name"`
	Agency     string                `json:"agency,omitempty"` // default "test-agency"
	Groups     []string              `json:"groups"`
	Purpose    string                `json:"purpose"`
	LegalBasis *custodian.LegalBasis `json:"legal_basis,omitempty"`
	Field      string                `json:"field"`
	Class      string                `json:"class,omitempty"` // default from custodian.DefaultFieldClasses
	Expect     custodian.Effect      `json:"expect"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case   Case             `json:"case"`
	Pass   bool             `json:"pass"`
	Got    custodian.Effect `json:"got"`
	Want   custodian.Effect `json:"want"`
	Rules  []string         `json:"rules,omitempty"`
	Reason string           `json:"reason,omitempty"`
}

// String is one line for a test report, e.g.
// "PASS police get dob: release (police-identity)".
func (r CaseResult) String() string {
	rules := ""
	if len(r.Rules) > 0 {
		rules = " (" + strings.Join(r.Rules, ", ") + ")"
	}
	if r.Pass {
		return fmt.Sprintf("PASS %s: %s%s", r.Case.Name, r.Got, rules)
	}
	return fmt.Sprintf("FAIL %s: got %s%s, want %s; %s", r.Case.Name, r.Got, rules, r.Want, r.Reason)
}

const defaultCaseAgency = "test-agency"

// ParseCases reads a cases file: a JSON array of cases. Unknown keys, a
// missing name, purpose, field or expect, a bad expect and a field with no
// known class are errors naming the case by index (from 0).
func ParseCases(r io.Reader) ([]Case, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, custodian.Errorf(custodian.EInvalid, "cases must be a JSON array of objects: %s", jsonMessage(err))
	}
	classes := custodian.DefaultFieldClasses()
	cases := make([]Case, 0, len(raw))
	for i, msg := range raw {
		fail := func(key, format string, args ...any) error {
			return custodian.FieldError(fmt.Sprintf("cases[%d].%s", i, key), "case %d: %s", i, fmt.Sprintf(format, args...))
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			var te *json.UnmarshalTypeError
			switch {
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				key := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
				return nil, fail(key, "unknown key %q (keys: name, agency, groups, purpose, legal_basis, field, class, expect)", key)
			case errors.As(err, &te):
				return nil, fail(te.Field, "%q must be a %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
			default:
				return nil, custodian.Errorf(custodian.EInvalid, "case %d: %s", i, jsonMessage(err))
			}
		}
		if c.Name == "" {
			return nil, fail("name", "missing \"name\"")
		}
		named := func(key, format string, args ...any) error {
			return fail(key, "(%s) %s", c.Name, fmt.Sprintf(format, args...))
		}
		switch {
		case c.Purpose == "":
			return nil, named("purpose", "missing \"purpose\"")
		case c.Field == "":
			return nil, named("field", "missing \"field\"")
		case c.Expect == "":
			return nil, named("expect", "missing \"expect\" (release, review or deny)")
		}
		switch c.Expect {
		case custodian.Release, custodian.Review, custodian.Deny:
		default:
			return nil, named("expect", "\"expect\" is %q; it must be release, review or deny", c.Expect)
		}
		if c.LegalBasis != nil && c.LegalBasis.Kind == "" {
			return nil, named("legal_basis", "\"legal_basis\" needs a \"kind\"")
		}
		if c.Class == "" {
			cls, ok := classes[c.Field]
			if !ok {
				return nil, named("class", "field %q is not a standard field; give its \"class\"", c.Field)
			}
			c.Class = cls
		}
		if c.Agency == "" {
			c.Agency = defaultCaseAgency
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// jsonMessage drops encoding/json's "json: " prefix.
func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "list"
	case "ptr", "struct":
		return "object"
	}
	return k
}

// Test runs each case through Decide and reports the outcome, in order.
func (e *Engine) Test(cases []Case) []CaseResult {
	out := make([]CaseResult, len(cases))
	classes := custodian.DefaultFieldClasses()
	for i, c := range cases {
		if c.Class == "" {
			c.Class = classes[c.Field]
		}
		d := e.Decide(
			Principal{AgencyID: c.Agency, Groups: c.Groups},
			Context{Purpose: c.Purpose, LegalBasis: c.LegalBasis},
			[]FieldRef{{Name: c.Field, Class: c.Class}},
		)[0]
		out[i] = CaseResult{
			Case: c, Pass: d.Effect == c.Expect,
			Got: d.Effect, Want: c.Expect,
			Rules: d.Rules, Reason: d.Reason,
		}
	}
	return out
}
