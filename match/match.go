// Package match owns the custodian's match standard: how a query's
// identifiers are normalised, which registry records are looked up as
// candidates (blocking keys), and when a candidate counts as the subject.
// It is pure: no I/O, no clock, no globals; the store keeps the keys and
// the gateway logs Version with every decision.
package match

import "github.com/custodian-project/custodian"

// Result is what a standard decided for one query.
type Result struct {
	Outcome    custodian.Outcome
	RecordID   string   // set only when Outcome is Verified
	Candidates int      // how many distinct registry records met the standard
	Agreed     []string // identifiers compared: evidence for reviewers, never values
}

// Standard is a match standard. The deterministic Exact standard is the
// first; a probabilistic (Fellegi–Sunter) one will sit behind the same
// interface, so callers must not assume one key per query or that a key
// hit means a match.
type Standard interface {
	// Version names the standard and its parameters, e.g.
	// "exact:v1:first_name,last_name,dob". Keys depend on it: when it
	// changes, the store's key index must be rebuilt with RecordKeys.
	Version() string
	// KeyVersion names the blocking keys alone: records keyed under one
	// KeyVersion need no re-keying when Version changes otherwise (a
	// retrained model, another release rule).
	KeyVersion() string
	// Required lists the identifiers a query must carry.
	Required() []string
	// QueryKeys returns the blocking keys to look candidates up under, or
	// an EInvalid *custodian.Error whose Field is "subject.<identifier>".
	QueryKeys(q map[string]string) ([]string, error)
	// RecordKeys returns the keys a registry record is stored under; none
	// when it lacks a required identifier.
	RecordKeys(r custodian.Record) []string
	// Decide compares the query with the candidates found under its keys.
	// Candidates may repeat and may include records that do not agree.
	Decide(q map[string]string, candidates []custodian.Record) Result
}
