// Package custodian holds the domain of the disclosure gateway: agencies,
// purposes, lookups, per-field decisions, reviews and the errors users see.
// Subpackages say how: policy (Cedar), match (the match standard), audit
// (the Merkle log), sqlite (the embedded store), gateway (the request flow),
// web (HTTP), cmd/custodian (the binary).
package custodian

import (
	"time"
)

// Outcome is what matching a query against the registry found.
type Outcome string

const (
	Verified  Outcome = "verified"  // exactly one record meets the standard
	Ambiguous Outcome = "ambiguous" // more than one candidate meets it
	NoMatch   Outcome = "no_match"  // none does
)

// Status is where a lookup stands for the requesting agency.
type Status string

const (
	StatusReleased      Status = "released"       // every requested field was decided; some released
	StatusPendingReview Status = "pending_review" // some fields wait for a reviewer
	StatusDenied        Status = "denied"         // the policy released nothing
	StatusWithheld      Status = "withheld"       // no verified match, so nothing could be released
)

// Effect is the policy's decision for one field.
type Effect string

const (
	Release Effect = "release"
	Review  Effect = "review"
	Deny    Effect = "deny"
)

// Field classes tag the sensitivity of registry fields.
const (
	ClassIdentity  = "identity"
	ClassContact   = "contact"
	ClassPhysical  = "physical"
	ClassPhoto     = "photo"
	ClassFinancial = "financial"
)

// KeyField is the registry's key column.
const KeyField = "record_id"

// DefaultFieldClasses maps the standard registry column names to their class.
func DefaultFieldClasses() map[string]string {
	return map[string]string{
		"record_id": ClassIdentity, "first_name": ClassIdentity, "middle_name": ClassIdentity,
		"last_name": ClassIdentity, "suffix": ClassIdentity, "dob": ClassIdentity,
		"sex": ClassIdentity, "license_number": ClassIdentity,
		"street": ClassContact, "city": ClassContact, "state": ClassContact, "zip": ClassContact,
		"photo": ClassPhoto,
	}
}

// Record is one row of the custodian's registry: field name → value.
type Record struct {
	ID     string
	Values map[string]string
}

// Agency is a requesting agency.
type Agency struct {
	ID           string    `json:"id"` // like an originating-agency identifier
	Name         string    `json:"name"`
	Jurisdiction string    `json:"jurisdiction,omitempty"`
	Groups       []string  `json:"groups"`
	Revoked      bool      `json:"revoked"`
	CreatedAt    time.Time `json:"created_at"`
}

// AgencyKey is an agency's API key as stored: its id and SHA-256, never the key.
type AgencyKey struct {
	Agency Agency
	KeyID  string
	Hash   []byte
}

// Purpose is an entry of the purpose catalog.
type Purpose struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// LegalBasis lists the kinds of legal basis that satisfy this purpose
	// (e.g. "warrant", "court_order", "subpoena"); empty means none is needed.
	LegalBasis []string `json:"legal_basis,omitempty"`
}

// LegalBasis is the legal authority a request cites.
type LegalBasis struct {
	Kind      string `json:"kind"`
	Reference string `json:"reference"`
}

// LookupRequest is what an agency asks for in one lookup.
type LookupRequest struct {
	Purpose    string            `json:"purpose"`
	LegalBasis *LegalBasis       `json:"legal_basis,omitempty"`
	Subject    map[string]string `json:"subject"`
	Fields     []string          `json:"fields"`
}

// FieldDecision is the decision for one requested field.
type FieldDecision struct {
	Field  string   `json:"field"`
	Effect Effect   `json:"effect"`
	Rules  []string `json:"rules,omitempty"`  // ids of the rules that decided it
	Reason string   `json:"reason,omitempty"` // plain-language reason
}

// Withheld says why a field was not released.
type Withheld struct {
	Reason string   `json:"reason"`
	Rules  []string `json:"rules,omitempty"`
}

// ReviewState is the state of one held field.
type ReviewState string

const (
	ReviewPending  ReviewState = "pending"
	ReviewApproved ReviewState = "approved"
	ReviewDenied   ReviewState = "denied"
)

// ReviewItem is one field of one lookup held for a reviewer.
type ReviewItem struct {
	LookupID  string      `json:"lookup_id"`
	AgencyID  string      `json:"agency_id"`
	Purpose   string      `json:"purpose"`
	Field     string      `json:"field"`
	Rules     []string    `json:"rules,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	State     ReviewState `json:"state"`
	Reviewer  string      `json:"reviewer,omitempty"`
	Note      string      `json:"note,omitempty"` // the reviewer's reason
	CreatedAt time.Time   `json:"created_at"`
	DecidedAt *time.Time  `json:"decided_at,omitempty"`
}

// Lookup is one request and everything decided about it.
type Lookup struct {
	ID            string              `json:"id"`
	AgencyID      string              `json:"-"`
	Request       LookupRequest       `json:"-"`
	Outcome       Outcome             `json:"outcome"`
	RecordID      string              `json:"-"` // the verified record, never sent to the agency
	Decisions     []FieldDecision     `json:"-"`
	PolicyVersion string              `json:"policy_version"`
	Released      map[string]string   `json:"fields"`
	Pending       []string            `json:"pending"`
	Withheld      map[string]Withheld `json:"withheld"`
	Status        Status              `json:"status"`
	LogIndex      uint64              `json:"log_index"`
	CreatedAt     time.Time           `json:"created_at"`
}

// Block is an order (court or executive) that stops a flow: every field for
// the named agency, group, purpose or field is denied while it is in force.
type Block struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // agency, group, purpose, field
	Target    string     `json:"target"`
	Order     string     `json:"order"` // the order's reference
	CreatedAt time.Time  `json:"created_at"`
	LiftedAt  *time.Time `json:"lifted_at,omitempty"`
	LiftOrder string     `json:"lift_order,omitempty"`
}

// Block kinds.
const (
	BlockAgency  = "agency"
	BlockGroup   = "group"
	BlockPurpose = "purpose"
	BlockField   = "field"
)

// PolicyVersion is one installed version of the Cedar policy.
type PolicyVersion struct {
	Hash      string    `json:"hash"` // hex SHA-256 of the text
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	LogIndex  uint64    `json:"log_index"`
}

// BulkJob is an agency's bulk verification: an uploaded file of subjects,
// decided row by row like single lookups, asynchronously. Nothing of it is
// released until it is done (and, when any field needs review, approved by
// two different reviewers).
type BulkJob struct {
	ID         string       `json:"id"`
	AgencyID   string       `json:"-"`
	Purpose    string       `json:"purpose"`
	LegalBasis *LegalBasis  `json:"legal_basis,omitempty"`
	Fields     []string     `json:"fields"`
	State      BulkState    `json:"state"`
	Total      int          `json:"rows_total"`
	Done       int          `json:"rows_done"`
	FileSHA256 string       `json:"file_sha256"`
	CreatedAt  time.Time    `json:"created_at"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	Summary    *BulkSummary `json:"summary,omitempty"` // when done or awaiting review
	Error      string       `json:"error,omitempty"`   // when failed
	LogIndex   uint64       `json:"log_index"`         // the submission's log entry
}

// BulkState is where a bulk job stands.
type BulkState string

// Bulk job states.
const (
	BulkQueued  BulkState = "queued"
	BulkRunning BulkState = "running"
	BulkReview  BulkState = "awaiting_review" // decided; held fields need two reviewers
	BulkDone    BulkState = "done"            // the result can be read
	BulkFailed  BulkState = "failed"          // nothing was released
)

// BulkSummary counts a finished job's outcomes.
type BulkSummary struct {
	Submitted     int            `json:"submitted"`
	Verified      int            `json:"verified"`
	Ambiguous     int            `json:"ambiguous"`
	NoMatch       int            `json:"no_match"`
	Malformed     []int          `json:"malformed_lines"` // line numbers in the uploaded file
	Released      map[string]int `json:"released"`        // field → rows it was released in
	HeldForReview int            `json:"held_for_review"` // rows with a field waiting for review
}

// BulkRow is one row's decision. Released holds values only when the job
// is done; Pending fields wait for the job's review.
type BulkRow struct {
	Line     int                 `json:"line"`
	RowID    string              `json:"row_id"`
	Outcome  string              `json:"outcome"` // verified, ambiguous, no_match, malformed
	RecordID string              `json:"-"`
	Released map[string]string   `json:"released,omitempty"`
	Pending  []string            `json:"pending,omitempty"`
	Withheld map[string]Withheld `json:"withheld,omitempty"`
	Error    string              `json:"error,omitempty"` // why a row is malformed (never its values)
}
