// Package policy owns the custodian's rules as Cedar policy: it parses and
// validates a policy text against the custodian's vocabulary, decides each
// requested field (release, review or deny), renders the groups × fields
// matrix an official can read, and runs expected-decision cases.
//
// It wraps github.com/cedar-policy/cedar-go. Cedar skips a policy whose
// evaluation errors, so an erroring forbid would fail open; this package
// treats any evaluation error as deny.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/custodian-project/custodian"
)

// Schema is the vocabulary every policy is validated against, in Cedar
// schema syntax. The legal basis is optional: a rule must test
// `context has legal_basis` before reading it.
const Schema = `// custodian policy vocabulary
entity Group;
entity Agency in [Group];
entity FieldClass;
entity Field in [FieldClass];

action disclose appliesTo {
  principal: [Agency],
  resource: [Field],
  context: {
    purpose: String,
    reviewed: Bool,
    legal_basis?: { kind: String, reference: String },
  },
};
`

// Entity types, the action and context attributes of the vocabulary.
const (
	typeAgency     = types.EntityType("Agency")
	typeGroup      = types.EntityType("Group")
	typeField      = types.EntityType("Field")
	typeFieldClass = types.EntityType("FieldClass")

	attrPurpose    = "purpose"
	attrReviewed   = "reviewed"
	attrLegalBasis = "legal_basis"
	attrKind       = "kind"
	attrReference  = "reference"
)

var actionDisclose = types.NewEntityUID("Action", "disclose")

// Annotation keys every rule carries (@id) or may carry (@reason).
const (
	annotationID     = "id"
	annotationReason = "reason"
)

// maxProblems caps how many problems one Parse error lists.
const maxProblems = 20

// Rule is one policy statement as an official sees it.
type Rule struct {
	ID          string            `json:"id"`
	Effect      string            `json:"effect"` // "permit" or "forbid"
	Reason      string            `json:"reason,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"` // all annotations, @id and @reason included
	Line        int               `json:"line"`
	Column      int               `json:"column"`
}

// Engine is a parsed, validated policy. It is immutable and safe for
// concurrent use.
type Engine struct {
	text  []byte
	hash  string
	rules []rule
	byID  map[string]int
	refs  References
}

// rule is a compiled policy with what Decide needs to skip it cheaply.
type rule struct {
	Rule
	pid      cedar.PolicyID
	policy   *cedar.Policy
	forbid   bool
	reviewed bool // its outcome may depend on context.reviewed
	// principal and resource say which requests the scope can match at
	// all; a rule whose scope cannot match is false without evaluating its
	// conditions, so skipping it changes neither outcome nor errors.
	principal scopeMatch
	resource  scopeMatch
}

// scopeMatch is a conservative summary of a scope: anything not recognised
// is scopeAny, i.e. always evaluated.
type scopeMatch struct {
	kind scopeKind
	id   string
}

type scopeKind uint8

const (
	scopeAny    scopeKind = iota // evaluate for every request
	scopeAgency                  // principal is Agency::id
	scopeGroup                   // principal is in Group::id
	scopeField                   // resource is Field::id
	scopeClass                   // resource is in FieldClass::id
)

// Parse parses and validates a policy text. Every statement must carry a
// unique @id; each is validated against Schema (entity types, the action,
// context attributes and their types, guarded access to legal_basis).
// Errors are *custodian.Error with Code EInvalid.
func Parse(text []byte) (*Engine, error) {
	e, err := parse(text)
	if err != nil {
		return nil, err
	}
	var problems []string
	v, err := validator()
	if err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	for i := range e.rules {
		r := &e.rules[i]
		for _, msg := range validateRule(v, r.policy) {
			problems = append(problems, fmt.Sprintf("rule %q (line %d:%d): %s", r.ID, r.Line, r.Column, msg))
		}
	}
	if len(problems) > 0 {
		return nil, invalid(problems)
	}
	return e, nil
}

// parse builds an Engine without validating the rules against Schema.
func parse(text []byte) (*Engine, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, custodian.Errorf(custodian.EInvalid, "policy is empty: it has no rules")
	}
	list, err := cedar.NewPolicyListFromBytes("policy", text)
	if err != nil {
		return nil, custodian.Errorf(custodian.EInvalid, "policy syntax error %s", syntaxMessage(err))
	}
	if len(list) == 0 {
		return nil, custodian.Errorf(custodian.EInvalid, "policy is empty: it has no rules")
	}
	sum := sha256.Sum256(text)
	e := &Engine{
		text:  bytes.Clone(text),
		hash:  hex.EncodeToString(sum[:]),
		rules: make([]rule, 0, len(list)),
		byID:  make(map[string]int, len(list)),
	}
	var problems []string
	for _, p := range list {
		pos := p.Position()
		r := rule{policy: p, forbid: p.Effect() == cedar.Forbid}
		r.Line, r.Column = pos.Line, pos.Column
		r.Effect = "permit"
		if r.forbid {
			r.Effect = "forbid"
		}
		ann := p.Annotations()
		r.Annotations = make(map[string]string, len(ann))
		for k, v := range ann {
			r.Annotations[string(k)] = string(v)
		}
		id, ok := r.Annotations[annotationID]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the %s at line %d:%d has no @id; every rule needs @id(\"...\")", r.Effect, r.Line, r.Column))
			continue
		case !validID(id):
			problems = append(problems, fmt.Sprintf("the %s at line %d:%d has @id(%q); an id is 1 to 100 letters, digits, '-', '_', '.', ':' or '/'", r.Effect, r.Line, r.Column, id))
			continue
		}
		if j, dup := e.byID[id]; dup {
			first := e.rules[j]
			problems = append(problems, fmt.Sprintf("duplicate @id %q at line %d:%d (first used at line %d:%d)", id, r.Line, r.Column, first.Line, first.Column))
			continue
		}
		r.ID = id
		r.pid = cedar.PolicyID(id)
		r.Reason = strings.TrimSpace(r.Annotations[annotationReason])
		a := (*xast.Policy)(p.AST())
		r.principal = principalScope(a.Principal)
		r.resource = resourceScope(a.Resource)
		r.reviewed = dependsOnReviewed(a)
		e.refs.add(a)
		e.byID[id] = len(e.rules)
		e.rules = append(e.rules, r)
	}
	if len(problems) > 0 {
		return nil, invalid(problems)
	}
	return e, nil
}

func invalid(problems []string) *custodian.Error {
	if len(problems) == 1 {
		return custodian.Errorf(custodian.EInvalid, "policy: %s", problems[0])
	}
	n, more := len(problems), ""
	if n > maxProblems {
		more = fmt.Sprintf("; and %d more", n-maxProblems)
		problems = problems[:maxProblems]
	}
	return custodian.Errorf(custodian.EInvalid, "policy has %d problems: %s%s", n, strings.Join(problems, "; "), more)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$`)

// validID keeps ids safe to quote in cells, logs and withheld reasons.
func validID(id string) bool { return idPattern.MatchString(id) }

var (
	inputPos  = regexp.MustCompile(`<input>:(\d+):(\d+)`)
	nearToken = regexp.MustCompile(`^at line (\d+:\d+) (".*?"): `)
)

// syntaxMessage turns cedar-go's parse error into "at line L:C near "x": why".
func syntaxMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "parser error: ")
	msg = strings.TrimPrefix(msg, "parse error ")
	if !strings.HasPrefix(msg, "at ") && inputPos.MatchString(msg) {
		msg = "at " + msg
	}
	msg = inputPos.ReplaceAllString(msg, "line $1:$2")
	// "at line 2:3 ";": invalid primary" → "at line 2:3 near ";": invalid primary"
	if m := nearToken.FindStringSubmatchIndex(msg); m != nil {
		msg = "at line " + msg[m[2]:m[3]] + " near " + msg[m[4]:m[5]] + ": " + msg[m[1]:]
	}
	return msg
}

// validator resolves Schema. It is built per Parse: parsing is rare and
// this keeps the package free of shared state.
func validator() (*validate.Validator, error) {
	var s schema.Schema
	s.SetFilename("custodian.cedarschema")
	if err := s.UnmarshalCedar([]byte(Schema)); err != nil {
		return nil, err
	}
	rs, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	return validate.New(rs, validate.WithStrict()), nil
}

// validateRule returns the validator's complaints about one policy. The
// validator is experimental, so a panic in it is reported, not propagated.
func validateRule(v *validate.Validator, p *cedar.Policy) (msgs []string) {
	defer func() {
		if r := recover(); r != nil {
			msgs = []string{"the rule could not be validated (validator failure); simplify it"}
		}
	}()
	err := v.Policy("", (*xast.Policy)(p.AST()))
	if err == nil {
		return nil
	}
	for _, e := range flatten(err) {
		msg := e.Error()
		if strings.Contains(msg, "optional attribute `"+attrLegalBasis+"`") {
			msg += " (a request may give no legal basis: test `context has legal_basis && ...` first)"
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

func flatten(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Hash is the hex SHA-256 of the exact policy text: the policy version.
func (e *Engine) Hash() string { return e.hash }

// Text returns a copy of the exact policy text.
func (e *Engine) Text() []byte { return bytes.Clone(e.text) }

// Rules lists the rules in the order they appear in the text.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Rule
		out[i].Annotations = cloneMap(r.Annotations)
	}
	return out
}

// Rule returns the rule with the given @id, e.g. to read a rule's other
// annotations for the rules a decision names.
func (e *Engine) Rule(id string) (Rule, bool) {
	i, ok := e.byID[id]
	if !ok {
		return Rule{}, false
	}
	r := e.rules[i].Rule
	r.Annotations = cloneMap(r.Annotations)
	return r, true
}

// LegalBasisKinds lists the legal-basis kinds the rules compare
// context.legal_basis.kind with, in order of appearance.
func (e *Engine) LegalBasisKinds() []string { return slices.Clone(e.refs.LegalBasisKinds) }

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// principalScope summarises a principal scope. Agencies' only parents are
// groups, and groups have none, so `in Group::g` means g is one of the
// agency's groups.
func principalScope(s xast.IsPrincipalScopeNode) scopeMatch {
	switch sc := s.(type) {
	case xast.ScopeTypeEq:
		if sc.Entity.Type == typeAgency {
			return scopeMatch{scopeAgency, string(sc.Entity.ID)}
		}
	case xast.ScopeTypeIn:
		return inScope(sc.Entity, typeAgency, typeGroup, scopeAgency, scopeGroup)
	case xast.ScopeTypeIsIn:
		if sc.Type == typeAgency {
			return inScope(sc.Entity, typeAgency, typeGroup, scopeAgency, scopeGroup)
		}
	}
	return scopeMatch{}
}

// resourceScope summarises a resource scope: a field's only parent is its
// class.
func resourceScope(s xast.IsResourceScopeNode) scopeMatch {
	switch sc := s.(type) {
	case xast.ScopeTypeEq:
		if sc.Entity.Type == typeField {
			return scopeMatch{scopeField, string(sc.Entity.ID)}
		}
	case xast.ScopeTypeIn:
		return inScope(sc.Entity, typeField, typeFieldClass, scopeField, scopeClass)
	case xast.ScopeTypeIsIn:
		if sc.Type == typeField {
			return inScope(sc.Entity, typeField, typeFieldClass, scopeField, scopeClass)
		}
	}
	return scopeMatch{}
}

func inScope(uid types.EntityUID, self, parent types.EntityType, selfKind, parentKind scopeKind) scopeMatch {
	switch uid.Type {
	case self:
		return scopeMatch{selfKind, string(uid.ID)}
	case parent:
		return scopeMatch{parentKind, string(uid.ID)}
	}
	return scopeMatch{}
}

// isContext reports whether n is the variable `context`.
func isContext(n xast.IsNode) bool {
	v, ok := n.(xast.NodeTypeVariable)
	return ok && v.Name == "context"
}

// dependsOnReviewed reports whether a policy may read context.reviewed:
// it names the attribute, or uses `context` other than to read or test
// purpose or legal_basis. Policies that cannot read it decide the same
// with and without review, so Decide evaluates them once.
func dependsOnReviewed(p *xast.Policy) bool {
	dep := false
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			var arg xast.IsNode
			var name types.String
			switch x := n.(type) {
			case xast.NodeTypeAccess:
				arg, name = x.Arg, x.Value
			case xast.NodeTypeHas:
				arg, name = x.Arg, x.Value
			case xast.NodeTypeVariable:
				if isContext(x) {
					dep = true
				}
				return false
			default:
				return true
			}
			if isContext(arg) {
				if name != attrPurpose && name != attrLegalBasis {
					dep = true
				}
				return false
			}
			return true
		})
	}
	return dep
}

// comparedLiterals finds string literals compared with the expression
// that is matches (==, != or [..].contains).
func comparedLiterals(p *xast.Policy, is func(xast.IsNode) bool) []string {
	var out []string
	add := func(n xast.IsNode) {
		if v, ok := n.(xast.NodeValue); ok {
			if s, ok := v.Value.(types.String); ok {
				out = append(out, string(s))
			}
		}
	}
	addSet := func(n xast.IsNode) {
		switch s := n.(type) {
		case xast.NodeTypeSet:
			for _, el := range s.Elements {
				add(el)
			}
		case xast.NodeValue:
			if set, ok := s.Value.(types.Set); ok {
				for v := range set.All() {
					add(xast.NodeValue{Value: v})
				}
			}
		}
	}
	pair := func(l, r xast.IsNode) {
		if is(l) {
			add(r)
		}
		if is(r) {
			add(l)
		}
	}
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch x := n.(type) {
			case xast.NodeTypeEquals:
				pair(x.Left, x.Right)
			case xast.NodeTypeNotEquals:
				pair(x.Left, x.Right)
			case xast.NodeTypeContains:
				if is(x.Right) {
					addSet(x.Left)
				}
			}
			return true
		})
	}
	return out
}

// isKindAccess matches context.legal_basis.kind.
func isKindAccess(n xast.IsNode) bool {
	a, ok := n.(xast.NodeTypeAccess)
	if !ok || a.Value != attrKind {
		return false
	}
	b, ok := a.Arg.(xast.NodeTypeAccess)
	return ok && b.Value == attrLegalBasis && isContext(b.Arg)
}

// isPurposeAccess matches context.purpose.
func isPurposeAccess(n xast.IsNode) bool {
	a, ok := n.(xast.NodeTypeAccess)
	return ok && a.Value == attrPurpose && isContext(a.Arg)
}

// entityRefs lists the entities a policy names, in its scope or its
// conditions.
func entityRefs(p *xast.Policy) []types.EntityUID {
	var out []types.EntityUID
	scope := func(n any) {
		switch sc := n.(type) {
		case xast.ScopeTypeEq:
			out = append(out, sc.Entity)
		case xast.ScopeTypeIn:
			out = append(out, sc.Entity)
		case xast.ScopeTypeIsIn:
			out = append(out, sc.Entity)
		}
	}
	scope(p.Principal)
	scope(p.Resource)
	var value func(v types.Value)
	value = func(v types.Value) {
		switch x := v.(type) {
		case types.EntityUID:
			out = append(out, x)
		case types.Set:
			for el := range x.All() {
				value(el)
			}
		}
	}
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			if v, ok := n.(xast.NodeValue); ok {
				value(v.Value)
			}
			return true
		})
	}
	return out
}

// References are the names a policy uses, each once, in order of
// appearance: for `policy check` to compare with the agency directory,
// the registry schema and the purpose catalog. A misspelt group or purpose
// is valid Cedar that never matches.
type References struct {
	Groups          []string `json:"groups,omitempty"`
	Agencies        []string `json:"agencies,omitempty"`
	Fields          []string `json:"fields,omitempty"`
	Classes         []string `json:"classes,omitempty"`
	Purposes        []string `json:"purposes,omitempty"`
	LegalBasisKinds []string `json:"legal_basis_kinds,omitempty"`
}

// References lists the groups, agencies, fields, classes, purposes and
// legal-basis kinds the rules name.
func (e *Engine) References() References {
	r := e.refs
	return References{
		Groups: slices.Clone(r.Groups), Agencies: slices.Clone(r.Agencies),
		Fields: slices.Clone(r.Fields), Classes: slices.Clone(r.Classes),
		Purposes: slices.Clone(r.Purposes), LegalBasisKinds: slices.Clone(r.LegalBasisKinds),
	}
}

func addUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

func (r *References) add(p *xast.Policy) {
	for _, uid := range entityRefs(p) {
		id := string(uid.ID)
		switch uid.Type {
		case typeGroup:
			r.Groups = addUnique(r.Groups, id)
		case typeAgency:
			r.Agencies = addUnique(r.Agencies, id)
		case typeField:
			r.Fields = addUnique(r.Fields, id)
		case typeFieldClass:
			r.Classes = addUnique(r.Classes, id)
		}
	}
	r.Purposes = addUnique(r.Purposes, comparedLiterals(p, isPurposeAccess)...)
	r.LegalBasisKinds = addUnique(r.LegalBasisKinds, comparedLiterals(p, isKindAccess)...)
}
