package match

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/custodian-project/custodian"
)

// DefaultRequired is what Exact requires when it is given nothing.
func DefaultRequired() []string { return []string{"first_name", "last_name", "dob"} }

// Exact is the deterministic standard: a query is Verified when exactly one
// registry record agrees with it on every required identifier, after
// Normalize (dates compared as calendar dates), Ambiguous when more than one
// does, and NoMatch otherwise. It never guesses: a nickname, a typo or a
// transposed date is a NoMatch.
type Exact struct {
	required []string
	version  string
}

var _ Standard = (*Exact)(nil)

// NewExact returns the exact standard over the named identifiers, in the
// order given (the order is part of Version and of the keys). Any registry
// column may be named, including custodian.KeyField; an empty list means
// DefaultRequired. Identifiers are compared as dates when IsDate says so.
func NewExact(required []string) (*Exact, error) {
	if len(required) == 0 {
		required = DefaultRequired()
	}
	seen := make(map[string]bool, len(required))
	for _, id := range required {
		if !validIdentifier(id) {
			return nil, custodian.FieldError("match.required", "identifier %q must be letters, digits, '_', '-' or '.'", id)
		}
		if seen[id] {
			return nil, custodian.FieldError("match.required", "identifier %q is listed twice", id)
		}
		seen[id] = true
	}
	req := append([]string(nil), required...)
	return &Exact{required: req, version: "exact:v1:" + strings.Join(req, ",")}, nil
}

func validIdentifier(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// IsDate reports whether an identifier holds a date and is compared with
// ParseDate rather than Normalize: "dob", "date_of_birth", and any name
// ending in "_date" or "_dob".
func IsDate(identifier string) bool {
	id := strings.ToLower(identifier)
	return id == "dob" || id == "date_of_birth" || strings.HasSuffix(id, "_date") || strings.HasSuffix(id, "_dob")
}

// Version implements Standard.
func (e *Exact) Version() string { return e.version }

// KeyVersion implements Standard: the keys are the version's.
func (e *Exact) KeyVersion() string { return e.version }

// Required implements Standard; the slice is the caller's to keep.
func (e *Exact) Required() []string { return append([]string(nil), e.required...) }

// QueryKeys implements Standard: one key, or an EInvalid error naming
// "subject.<identifier>" for the first identifier missing or malformed.
func (e *Exact) QueryKeys(q map[string]string) ([]string, error) {
	vals, err := e.canonical(func(id string) string { return q[id] })
	if err != nil {
		return nil, err
	}
	return []string{e.key(vals)}, nil
}

// RecordKeys implements Standard: one key, or none when the record lacks a
// required identifier or holds a malformed date.
func (e *Exact) RecordKeys(r custodian.Record) []string {
	vals, err := e.canonical(func(id string) string { return recordValue(r, id) })
	if err != nil {
		return nil
	}
	return []string{e.key(vals)}
}

// Decide implements Standard. Agreement is re-checked value by value, so a
// hash collision or a candidate found under another key cannot verify; a
// record listed twice counts once. An invalid query is a NoMatch.
func (e *Exact) Decide(q map[string]string, candidates []custodian.Record) Result {
	res := Result{Outcome: custodian.NoMatch, Agreed: e.Required()}
	want, err := e.canonical(func(id string) string { return q[id] })
	if err != nil {
		return res
	}
	var seen map[string]bool
	for _, c := range candidates {
		got, err := e.canonical(func(id string) string { return recordValue(c, id) })
		if err != nil || !slices.Equal(want, got) {
			continue
		}
		if c.ID != "" {
			if seen[c.ID] {
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[c.ID] = true
		}
		res.Candidates++
		res.RecordID = c.ID
	}
	switch res.Candidates {
	case 0:
		res.RecordID = ""
	case 1:
		res.Outcome = custodian.Verified
	default:
		res.Outcome = custodian.Ambiguous
		res.RecordID = ""
	}
	return res
}

// canonical returns the compared form of each required identifier:
// Normalize for text, YYYY-MM-DD for dates.
func (e *Exact) canonical(get func(string) string) ([]string, error) {
	vals := make([]string, len(e.required))
	for i, id := range e.required {
		field := "subject." + id
		v := get(id)
		if strings.TrimSpace(v) == "" {
			return nil, custodian.FieldError(field, "is required by the match standard")
		}
		if IsDate(id) {
			t, err := ParseDate(strings.TrimSpace(v))
			if err != nil {
				return nil, custodian.FieldError(field, "must be a date YYYY-MM-DD between %d and %d", minYear, maxYear)
			}
			vals[i] = t.Format(dateLayout)
			continue
		}
		n := Normalize(v)
		if n == "" {
			return nil, custodian.FieldError(field, "must contain letters or digits")
		}
		vals[i] = n
	}
	return vals, nil
}

const dateLayout = "2006-01-02"

// key is the hex SHA-256 of the version and the canonical values: fixed
// size, and keys of another standard (or version) never collide with these.
func (e *Exact) key(vals []string) string {
	h := sha256.New()
	h.Write([]byte(e.version))
	h.Write([]byte{0})
	// 0x1f cannot occur in Normalize's output or in a formatted date.
	h.Write([]byte(strings.Join(vals, "\x1f")))
	return hex.EncodeToString(h.Sum(nil))
}

// recordValue reads an identifier from a record; the key column falls back
// to Record.ID when the values do not repeat it.
func recordValue(r custodian.Record, id string) string {
	v := r.Values[id]
	if v == "" && id == custodian.KeyField {
		return r.ID
	}
	return v
}
