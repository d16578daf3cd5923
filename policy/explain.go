package policy

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/custodian-project/custodian"
)

// Matrix is, for one purpose, the decision for each group and field, as an
// agency that belongs only to that group would get it.
type Matrix struct {
	Purpose    string     `json:"purpose"`
	Title      string     `json:"title,omitempty"`
	PolicyHash string     `json:"policy_hash"`
	Groups     []string   `json:"groups"`
	Fields     []FieldRef `json:"fields"`
	// Sections are the matrix without a legal basis, then with a legal
	// basis of each kind in turn.
	Sections []Section `json:"sections"`
	// Rules is the legend: every rule named in a cell, in text order.
	Rules []Rule `json:"rules"`
	// AgencyRules are the ids of rules scoped to one agency: a matrix by
	// group does not show them.
	AgencyRules []string `json:"agency_rules,omitempty"`
}

// Section is the matrix under one legal basis.
type Section struct {
	LegalBasis string   `json:"legal_basis,omitempty"`  // its kind; "" means none given
	SameAsNone bool     `json:"same_as_none,omitempty"` // every cell equals the section without a legal basis
	SameAsKind string   `json:"same_as_kind,omitempty"` // else, the kind of an earlier section whose cells it repeats
	Cells      [][]Cell `json:"cells"`                  // [group][field]
}

// Cell is the decision for one group and one field.
type Cell struct {
	Effect custodian.Effect `json:"effect"`
	Rules  []string         `json:"rules,omitempty"`
	Reason string           `json:"reason,omitempty"`
	Error  bool             `json:"error,omitempty"` // denied because a rule failed to evaluate
}

// ExplainOption adjusts Explain.
type ExplainOption func(*explainConfig)

type explainConfig struct {
	title string
	kinds []string
}

// WithTitle sets the purpose's title for the header line.
func WithTitle(title string) ExplainOption {
	return func(c *explainConfig) { c.title = title }
}

// WithLegalBasisKinds sets the legal-basis kinds to show a section for,
// after the section without one. By default they are the kinds the policy
// itself names (Engine.LegalBasisKinds); with no kinds, only the section
// without a legal basis is shown.
func WithLegalBasisKinds(kinds ...string) ExplainOption {
	return func(c *explainConfig) { c.kinds = kinds }
}

// explainAgency is the id of the stand-in agency Explain evaluates with; no
// real agency has an empty id.
const explainAgency = ""

// Explain renders, for one purpose, the matrix groups × fields → release,
// review or deny with the deciding rule ids. Each group is evaluated as an
// agency that belongs only to that group.
func (e *Engine) Explain(purpose string, groups []string, fields []FieldRef, opts ...ExplainOption) Matrix {
	cfg := explainConfig{kinds: e.refs.LegalBasisKinds}
	for _, o := range opts {
		o(&cfg)
	}
	m := Matrix{
		Purpose:    purpose,
		Title:      cfg.title,
		PolicyHash: e.hash,
		Groups:     slices.Clone(groups),
		Fields:     slices.Clone(fields),
	}
	named := make([]bool, len(e.rules))
	section := func(lb *custodian.LegalBasis) Section {
		s := Section{Cells: make([][]Cell, len(groups))}
		if lb != nil {
			s.LegalBasis = lb.Kind
		}
		out := make([]custodian.FieldDecision, len(fields))
		failed := make([]bool, len(fields))
		for gi, g := range groups {
			e.decide(Principal{AgencyID: explainAgency, Groups: []string{g}}, Context{Purpose: purpose, LegalBasis: lb}, fields, out, failed)
			row := make([]Cell, len(fields))
			for fi, d := range out {
				row[fi] = Cell{Effect: d.Effect, Rules: d.Rules, Reason: d.Reason, Error: failed[fi]}
				for _, id := range d.Rules {
					if i, ok := e.byID[id]; ok {
						named[i] = true
					}
				}
			}
			s.Cells[gi] = row
		}
		return s
	}
	m.Sections = append(m.Sections, section(nil))
	for _, k := range cfg.kinds {
		s := section(&custodian.LegalBasis{Kind: k, Reference: "(explain)"})
		for _, prev := range m.Sections {
			if !prev.SameAsNone && prev.SameAsKind == "" && sameCells(s.Cells, prev.Cells) {
				s.SameAsNone, s.SameAsKind = prev.LegalBasis == "", prev.LegalBasis
				break
			}
		}
		m.Sections = append(m.Sections, s)
	}
	for i, r := range e.rules {
		if named[i] {
			rr := r.Rule
			rr.Annotations = cloneMap(r.Annotations)
			m.Rules = append(m.Rules, rr)
		}
		if r.principal.kind == scopeAgency {
			m.AgencyRules = append(m.AgencyRules, r.ID)
		}
	}
	return m
}

func sameCells(a, b [][]Cell) bool {
	for i := range a {
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			if x.Effect != y.Effect || x.Error != y.Error || !slices.Equal(x.Rules, y.Rules) {
				return false
			}
		}
	}
	return true
}

// Text is the cell as the table shows it, e.g. "release (police-identity)".
func (c Cell) Text() string {
	switch {
	case c.Error:
		return "deny: error in " + strings.Join(c.Rules, ", ")
	case len(c.Rules) == 0:
		return string(c.Effect)
	}
	return string(c.Effect) + " (" + strings.Join(c.Rules, ", ") + ")"
}

// WriteText prints the matrix as plain tables an official can read: one
// row per field, one column per group, then a legend of the rules. Fields
// are rows because a registry has more fields than a page has columns.
func (m Matrix) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	header := "Purpose " + m.Purpose
	if m.Title != "" {
		header += " — " + m.Title
	}
	fmt.Fprintln(bw, header)
	if m.PolicyHash != "" {
		fmt.Fprintf(bw, "Policy version %s\n", m.PolicyHash)
	}
	fmt.Fprintln(bw, "Each column is an agency that belongs to that group only.")

	for _, s := range m.Sections {
		fmt.Fprintln(bw)
		if s.LegalBasis == "" {
			fmt.Fprintln(bw, "Without a legal basis:")
		} else {
			fmt.Fprintf(bw, "With a legal basis of kind %s:\n", s.LegalBasis)
		}
		if s.SameAsNone {
			fmt.Fprintln(bw, "  the same as without a legal basis.")
			continue
		}
		if s.SameAsKind != "" {
			fmt.Fprintf(bw, "  the same as with a legal basis of kind %s.\n", s.SameAsKind)
			continue
		}
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  field\tclass")
		for _, g := range m.Groups {
			fmt.Fprint(tw, "\t", g)
		}
		fmt.Fprintln(tw)
		for fi, f := range m.Fields {
			fmt.Fprintf(tw, "  %s\t%s", f.Name, f.Class)
			for gi := range m.Groups {
				fmt.Fprint(tw, "\t", s.Cells[gi][fi].Text())
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "release: sent at once. review: held until a custodian reviewer approves it.")
	fmt.Fprintln(bw, "deny: not sent; \"deny\" with no rule means no rule permits it; \"error in\" means a rule failed to evaluate, so the field is denied.")
	if len(m.Rules) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "Rules:")
		for _, r := range m.Rules {
			reason := r.Reason
			if reason == "" {
				reason = "(no reason given)"
			}
			fmt.Fprintf(bw, "  %s (%s, line %d): %s\n", r.ID, r.Effect, r.Line, reason)
		}
	}
	if len(m.AgencyRules) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintf(bw, "Not shown: rules for a single agency: %s.\n", strings.Join(m.AgencyRules, ", "))
	}
	return bw.Flush()
}
