package match

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/custodian-project/custodian"
)

// comparison is how one identifier of a query is compared with a registry
// record: named levels, best first, and which of them count as agreement
// when a release rule requires the identifier to agree.
type comparison struct {
	name   string
	levels []string
	level  func(q, r *person) int // a level index, or -1 when either side lacks the identifier
	agrees func(level int) bool
	tf     func(p *person) string // the value whose frequency replaces u at level 0; nil for none
	// prior is m as a person would set it, level by level: EM starts from
	// it and is pulled toward it by priorWeight pseudo-matches, so that a
	// comparison or level the training pairs barely show keeps a sensible
	// value instead of an accident of the sample.
	prior []float64
	// uPrior is u as a person would set it for a large population: the
	// random pairs pull u away from it with their number against
	// uPriorWeight pseudo-pairs, so a small registry (ten people share a
	// date of birth far more often than ten million do) keeps sensible
	// values while a large one speaks for itself.
	uPrior []float64
	// maxDifferent is a ceiling on m of the worst level (see capDifferent).
	maxDifferent float64
}

var nameUPrior = []float64{0.005, 0.0005, 0.001, 0.002, 0.003, 0.001, 0.0005, 0.03, 0.957}

var namePrior = []float64{0.85, 0.03, 0.04, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01}

var nameLevels = []string{"exact", "nickname or variant", "jaro-winkler >= 0.92", "same phonetic code", "jaro-winkler >= 0.85", "one edit", "part of a compound name", "initial", "different"}

// comparisons are the Fellegi-Sunter standard's, in a fixed order: a
// model's parameters are matched to them by name and level name.
var comparisons = []comparison{
	{
		name: "first_name", levels: nameLevels, prior: namePrior, uPrior: nameUPrior, maxDifferent: 0.02,
		level:  func(q, r *person) int { return nameLevel(q.first, r.first, loadVariants()) },
		agrees: func(l int) bool { return l >= 0 && l <= namePart },
		tf:     func(p *person) string { return p.first.norm },
	},
	{
		name: "middle_name", levels: nameLevels, prior: []float64{0.7, 0.02, 0.03, 0.02, 0.01, 0.01, 0.01, 0.14, 0.06}, uPrior: []float64{0.02, 0.002, 0.003, 0.005, 0.005, 0.002, 0.001, 0.1, 0.862},
		// One edit is no agreement for middle names: short ones are often
		// one edit apart (Kay and May, Lee and Lea), and a middle name of
		// their own is what tells a namesake or a twin from the subject.
		level: func(q, r *person) int {
			if l := nameLevel(q.middle, r.middle, loadVariants()); l != nameOneEdit {
				return l
			}
			return nameElse
		},
		agrees: func(l int) bool { return l >= 0 && (l <= namePhonetic || l == nameInitial) },
	},
	{
		name: "last_name", levels: nameLevels, prior: []float64{0.85, 0.01, 0.04, 0.02, 0.02, 0.01, 0.03, 0.01, 0.01}, uPrior: nameUPrior,
		level:  func(q, r *person) int { return nameLevel(q.last, r.last, loadVariants()) },
		agrees: func(l int) bool { return l >= 0 && l <= namePart },
		tf:     func(p *person) string { return p.last.core },
	},
	{
		name: "suffix", levels: []string{"same", "different"}, prior: []float64{0.95, 0.05}, uPrior: []float64{0.5, 0.5},
		level:  func(q, r *person) int { return eqLevel(q.suffix, r.suffix, "") },
		agrees: func(l int) bool { return l == eqAgree },
	},
	{
		name: "dob", levels: []string{"exact", "day and month transposed", "one digit off", "same year", "different"}, prior: []float64{0.92, 0.01, 0.04, 0.01, 0.02}, uPrior: []float64{0.00004, 0.000003, 0.0007, 0.012, 0.987257},
		level:  func(q, r *person) int { return dobLevel(q.dob, r.dob) },
		agrees: func(l int) bool { return l >= 0 && l <= dobOneDigit },
	},
	{
		name: "address", levels: []string{"same number and street", "same street, number close or missing", "same postcode only", "different"}, prior: []float64{0.7, 0.08, 0.05, 0.17}, uPrior: []float64{0.00005, 0.00005, 0.005, 0.9949},
		level:  func(q, r *person) int { return addrLevel(q, r) },
		agrees: func(l int) bool { return l >= 0 && l <= addrClose },
	},
	{
		name: "sex", levels: []string{"same", "different"}, prior: []float64{0.98, 0.02}, uPrior: []float64{0.5, 0.5},
		level:  func(q, r *person) int { return eqLevel(q.sex, r.sex, 0) },
		agrees: func(l int) bool { return l == eqAgree },
	},
}

// Positions of comparisons in comparisons.
const (
	cFirst   = 0
	cMiddle  = 1
	cLast    = 2
	cDOB     = 4
	cAddress = 5
)

// comparisonIndex returns the position of the named comparison, or -1.
func comparisonIndex(name string) int {
	return slices.IndexFunc(comparisons, func(c comparison) bool { return c.name == name })
}

// Model holds the Fellegi-Sunter parameters of the custodian's standard:
// for each comparison level, m (the probability of that level when the two
// records are the same person) and u (when they are not), the prior that a
// random query-record pair is the same person, and the registry's value
// frequencies for the term-frequency adjustment. It is estimated from the
// registry itself (Train) and stored as JSON; its Hash goes into the log.
type Model struct {
	Comparisons []ComparisonParams `json:"comparisons"`
	// Prior is the probability that a random registry record is the
	// subject of a query: the share of queries about registered people
	// over the registry's size.
	Prior float64 `json:"prior"`
	// TF maps a comparison to its values' relative frequencies in the
	// registry; an exact agreement on a value v weighs log2(m / TF[v])
	// instead of log2(m / u): agreeing on a rare surname is stronger
	// evidence than agreeing on a common one.
	TF map[string]map[string]float64 `json:"tf,omitempty"`
	// Training records how the parameters were estimated.
	Training TrainingInfo `json:"training"`
}

// ComparisonParams are one comparison's parameters, levels best first.
type ComparisonParams struct {
	Name   string        `json:"name"`
	Levels []LevelParams `json:"levels"`
}

// LevelParams are one comparison level's m and u probabilities.
type LevelParams struct {
	Name string  `json:"name"`
	M    float64 `json:"m"`
	U    float64 `json:"u"`
}

// TrainingInfo describes a model's estimation.
type TrainingInfo struct {
	Records        int     `json:"records"`
	RandomPairs    int     `json:"random_pairs"`
	CandidatePairs int     `json:"candidate_pairs"`
	Iterations     int     `json:"iterations"`
	MatchShare     float64 `json:"match_share"` // EM's estimate of the share of candidate pairs that match
	// RegisteredShare is the estimated share of queries whose person is in
	// the registry; the prior is this share over the registry's size.
	RegisteredShare float64 `json:"registered_share"`
	// MFromPrior lists the comparisons whose m is the stated prior: never
	// observed in candidate pairs, or EM's estimate was implausible (more
	// matches disagreeing than agreeing), as it is for a registry without
	// duplicates trained without sample queries.
	MFromPrior []string `json:"m_from_prior,omitempty"`
}

// Weights returns the weight of every comparison level, in bits: log2(m/u),
// capped so that no level weighs more than a better one. A level that the
// random pairs never showed has u at its floor, and its raw weight would
// say that agreeing on an initial is stronger evidence than agreeing on the
// whole name; levels are ordered best first, so that cannot be right.
func Weights(m *Model) [][]float64 {
	out := make([][]float64, len(m.Comparisons))
	for i, c := range m.Comparisons {
		w := make([]float64, len(c.Levels))
		for j, l := range c.Levels {
			w[j] = math.Log2(l.M / l.U)
			if j > 0 {
				w[j] = min(w[j], w[j-1])
			}
		}
		out[i] = w
	}
	return out
}

// Hash is the hex SHA-256 of the model's canonical JSON.
func (m *Model) Hash() string {
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ErrModelOutdated is check's error for a model whose comparisons or
// levels are not the standard's: one trained by an earlier version, to be
// trained again.
var ErrModelOutdated = errors.New("the match model was trained for another version of the standard; train it again (custodian match train)")

// check verifies that the model has parameters for every comparison level,
// each a probability in (0, 1].
func (m *Model) check() error {
	if len(m.Comparisons) != len(comparisons) {
		return fmt.Errorf("%w: %d comparisons, want %d", ErrModelOutdated, len(m.Comparisons), len(comparisons))
	}
	for i, c := range comparisons {
		p := m.Comparisons[i]
		if p.Name != c.name || len(p.Levels) != len(c.levels) {
			return fmt.Errorf("%w: comparison %d is %q with %d levels, want %q with %d", ErrModelOutdated, i, p.Name, len(p.Levels), c.name, len(c.levels))
		}
		for j, l := range p.Levels {
			if l.Name != c.levels[j] {
				return fmt.Errorf("%w: %s level %d is %q, want %q", ErrModelOutdated, c.name, j, l.Name, c.levels[j])
			}
			if !(l.M > 0 && l.M <= 1) || !(l.U > 0 && l.U <= 1) {
				return fmt.Errorf("match model: %s level %q: m and u must be in (0, 1]", c.name, l.Name)
			}
		}
	}
	if !(m.Prior > 0 && m.Prior < 1) {
		return fmt.Errorf("match model: prior must be in (0, 1)")
	}
	return nil
}

// Rule is a release rule: what a best candidate must meet to be verified.
type Rule struct {
	// MinProbability is the least match probability (default 0.999).
	MinProbability float64 `json:"min_probability,omitempty"`
	// Require names the comparisons that must agree: nil means the
	// default (first_name, last_name, dob), an empty list none; a tax-law
	// purpose would add address.
	Require []string `json:"require"`
	// Margin is how many bits of match weight the best candidate must be
	// ahead of the second (default 10: about a thousand times likelier).
	Margin float64 `json:"margin,omitempty"`
	// Conflicts names the comparisons that must not disagree when both
	// sides have them: nil means the default (middle_name, suffix, sex),
	// an empty list none. A middle name, a Jr./Sr. or a sex that differs
	// says "someone else" however well the rest agrees: the namesake with
	// the same date of birth, the father at the son's address.
	Conflicts []string `json:"conflicts"`
}

// DefaultConflicts is what a rule forbids to disagree when it names nothing.
func DefaultConflicts() []string { return []string{"middle_name", "suffix", "sex"} }

// Check reports a rule that no standard can apply, as an EInvalid error
// naming the offending setting.
func (r Rule) Check() error {
	r = r.withDefaults()
	if !(r.MinProbability > 0 && r.MinProbability < 1) {
		return custodian.FieldError("match.min_probability", "must be between 0 and 1 (exclusive)")
	}
	if !(r.Margin >= 0 && r.Margin <= 100) {
		return custodian.FieldError("match.margin", "must be between 0 and 100 bits")
	}
	for field, ids := range map[string][]string{"match.require": r.Require, "match.conflicts": r.Conflicts} {
		seen := map[string]bool{}
		for _, id := range ids {
			if comparisonIndex(id) < 0 {
				return custodian.FieldError(field, "%q is not one of the comparisons (%s)", id, strings.Join(ComparisonNames(), ", "))
			}
			if seen[id] {
				return custodian.FieldError(field, "%q is listed twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}

func (r Rule) withDefaults() Rule {
	if r.MinProbability == 0 {
		r.MinProbability = 0.999
	}
	if r.Require == nil {
		r.Require = DefaultRequired()
	}
	if r.Margin == 0 {
		r.Margin = 10
	}
	if r.Conflicts == nil {
		r.Conflicts = DefaultConflicts()
	}
	return r
}

// FS is the Fellegi-Sunter standard: a model's weights and a release rule.
type FS struct {
	model        *Model
	rule         Rule
	require      []int // comparison indexes
	conflicts    []int
	requireFirst bool
	weights      [][]float64
	tfM          []float64 // per comparison: m of level 0 when tf applies, else 0
	tfFloor      float64
	version      string
}

var _ Standard = (*FS)(nil)

// NewFS returns the standard of model under rule.
func NewFS(model *Model, rule Rule) (*FS, error) {
	if err := model.check(); err != nil {
		return nil, err
	}
	if err := rule.Check(); err != nil {
		return nil, err
	}
	rule = rule.withDefaults()
	f := &FS{model: model, rule: rule, tfFloor: model.Prior}
	for _, id := range rule.Require {
		f.require = append(f.require, comparisonIndex(id))
	}
	f.requireFirst = slices.Contains(f.require, cFirst)
	for _, id := range rule.Conflicts {
		f.conflicts = append(f.conflicts, comparisonIndex(id))
	}
	f.weights = Weights(model)
	for i, c := range comparisons {
		tfm := 0.0
		if c.tf != nil && model.TF[c.name] != nil {
			tfm = model.Comparisons[i].Levels[0].M
		}
		f.tfM = append(f.tfM, tfm)
	}
	f.version = fmt.Sprintf("fs:v1:%s:names=%s:p=%g:m=%g:req=%s:conflicts=%s", model.Hash()[:16], NameTablesHash(), rule.MinProbability, rule.Margin,
		strings.Join(rule.Require, ","), strings.Join(rule.Conflicts, ","))
	return f, nil
}

// ComparisonNames lists the identifiers the standard compares.
func ComparisonNames() []string {
	var out []string
	for _, c := range comparisons {
		out = append(out, c.name)
	}
	return out
}

// Version implements Standard.
func (f *FS) Version() string { return f.version }

// KeyVersion implements Standard: the blocking rules' version, which no
// model or rule changes.
func (f *FS) KeyVersion() string { return BlockingVersion }

// Required implements Standard: the identifiers the rule requires to agree.
func (f *FS) Required() []string { return append([]string(nil), f.rule.Require...) }

// score is one candidate's evidence.
type score struct {
	levels [8]int8 // per comparison; -1 missing
	weight float64 // sum of the levels' weights, in bits
	// typo: the query's given name is nobody's known name and a near
	// spelling of the candidate's (set by decide, for the household guard).
	typo bool
}

// compare scores a candidate against a query. A given name and surname
// that agree only crosswise (entered in each other's place) count at the
// crosswise levels.
func (f *FS) compare(q, r *person) score {
	var s score
	lf, ll := comparisons[cFirst].level(q, r), comparisons[cLast].level(q, r)
	if lf > namePhonetic && ll > namePhonetic {
		v := loadVariants()
		sf, sl := nameLevel(q.first, r.last, v), nameLevel(q.last, r.first, v)
		if sf >= 0 && sf <= namePhonetic && sl >= 0 && sl <= namePhonetic {
			lf, ll = sf, sl
		}
	}
	for i := range comparisons {
		c := &comparisons[i]
		var l int
		switch i {
		case cFirst:
			l = lf
		case cLast:
			l = ll
		default:
			l = c.level(q, r)
		}
		s.levels[i] = int8(l)
		if l < 0 {
			continue
		}
		w := f.weights[i][l]
		if l == 0 && f.tfM[i] > 0 {
			if tf, ok := f.model.TF[c.name][c.tf(r)]; ok {
				w = math.Log2(f.tfM[i] / max(tf, f.tfFloor))
			}
		}
		s.weight += w
	}
	return s
}

// household reports whether the candidate has the query's surname, date
// of birth and address exactly: the subject, or the subject's twin.
func (s *score) household() bool {
	return s.levels[cLast] == nameExact && s.levels[cDOB] == dobExact && s.levels[cAddress] == addrExact
}

// probability turns a match weight into a match probability with the prior.
func (f *FS) probability(weight float64) float64 {
	logit := math.Log2(f.model.Prior/(1-f.model.Prior)) + weight
	return 1 / (1 + math.Exp2(-logit))
}

// agrees reports whether s meets the rule's required agreements
// and none of its forbidden conflicts (the comparison's worst level, with
// both sides present).
func (f *FS) agrees(s *score) bool {
	for _, i := range f.require {
		if !comparisons[i].agrees(int(s.levels[i])) {
			return false
		}
	}
	for _, i := range f.conflicts {
		if int(s.levels[i]) == len(comparisons[i].levels)-1 {
			return false
		}
	}
	// The household guard, when the rule requires the given name to agree:
	// a record that agrees exactly on surname, date of birth and address is
	// the subject or the subject's twin, and only the given name tells them
	// apart. There the given name must agree exactly or as a known variant,
	// or the middle names must agree. A near spelling (Jaro-Winkler 0.92,
	// or a typing slip: Jonh, Johhn) is enough only when the query's name
	// is nobody's known name: borne by no one in the registry, in no name
	// table and not on the list of given names (unknownFirst): twins are
	// given names that rhyme or differ by a letter (Weigang and Weikang,
	// Marianne and Marianna, Kyla and Lyla), and those are names. A name
	// that only sounds alike or is only part of the other (Anouk and Anke,
	// Jean-Pierre and Pierre) is never enough. Being unknown alone is not:
	// an unregistered twin's name is borne by no one registered (Ivona,
	// when Ivana is registered), and the list cannot hold every rare name;
	// that it is also a near spelling of the candidate's is what makes a
	// twin unlikely.
	if f.requireFirst && s.household() && s.levels[cFirst] > nameVariant && !s.typo &&
		!(s.levels[cMiddle] >= 0 && s.levels[cMiddle] <= nameVariant) {
		return false
	}
	return true
}

// unknownFirst reports whether q's given name is nobody's known name:
// borne by no registered person (the model's frequencies), in no variant
// table, not on the reference list of given names, and not two Pinyin or
// Korean syllables (which make names no list can hold; nameShaped).
func (f *FS) unknownFirst(q *person) bool {
	if q.first.norm == "" || q.first.gset != 0 || isGivenName(q.first.core) || loadSyllables().nameShaped(q.first.core) {
		return false
	}
	tf := f.model.TF[comparisons[cFirst].name]
	if tf == nil {
		return false // no frequencies: every name counts as known
	}
	_, known := tf[comparisons[cFirst].tf(q)]
	return !known
}

// Evidence is the per-identifier comparison behind a decision, for the dry
// run's --explain and for reviewers: levels and weights, never values.
type Evidence struct {
	Identifier string  `json:"identifier"`
	Level      string  `json:"level"` // "missing" when either side lacks it
	Weight     float64 `json:"weight"`
}

// Decision is a Result with the best candidate's match probability and
// evidence.
type Decision struct {
	Result
	Probability float64    `json:"probability"`
	Evidence    []Evidence `json:"evidence,omitempty"`
}

// Decide implements Standard.
func (f *FS) Decide(q map[string]string, candidates []custodian.Record) Result {
	ps := make([]*Prepared, 0, len(candidates))
	seen := make(map[string]bool, len(candidates))
	for _, c := range candidates {
		if c.ID != "" && seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		ps = append(ps, Prepare(c))
	}
	return f.DecidePrepared(q, ps)
}

// Prepared is a registry record prepared for the standard once, for the
// many lookups it is a candidate in (the gateway's index keeps them).
type Prepared struct {
	id string
	p  person
}

// ID is the prepared record's id.
func (p *Prepared) ID() string { return p.id }

// Prepare prepares a registry record.
func Prepare(r custodian.Record) *Prepared { return &Prepared{id: r.ID, p: recordPerson(r)} }

// DecidePrepared is Decide with prepared candidates, which must be
// distinct records.
func (f *FS) DecidePrepared(q map[string]string, candidates []*Prepared) Result {
	qp := newPerson(func(id string) string { return q[id] })
	rs := make([]*person, len(candidates))
	ids := make([]string, len(candidates))
	for i, c := range candidates {
		rs[i], ids[i] = &c.p, c.id
	}
	return f.decide(&qp, rs, ids).Result
}

// decide applies the rule to the scored candidates: the best must meet the
// required agreements and the minimum probability, and be ahead of the
// second by the margin; a second candidate that also meets the standard, or
// comes within the margin, makes the outcome ambiguous.
func (f *FS) decide(q *person, cands []*person, ids []string) Decision {
	d := Decision{Result: Result{Outcome: custodian.NoMatch, Agreed: f.Required()}}
	best := -1
	var bestS score
	secondW := math.Inf(-1)
	// Each candidate's odds of being the subject, against the prior; the
	// best's probability is its share of all of them plus the odds that
	// the subject is none of them (not registered, or not found).
	odds := 0.0
	logPrior := math.Log2(f.model.Prior / (1 - f.model.Prior))
	unknown := f.unknownFirst(q)
	household := 0 // candidates with the query's surname, date of birth and address
	for i := range cands {
		s := f.compare(q, cands[i])
		if s.household() {
			household++
			s.typo = unknown && (s.levels[cFirst] == nameJW92 || slip(q.first, cands[i].first))
		}
		odds += math.Exp2(min(logPrior+s.weight, 1000))
		if f.agrees(&s) && f.probability(s.weight) >= f.rule.MinProbability {
			d.Candidates++
		}
		switch {
		case best < 0 || s.weight > bestS.weight:
			secondW = bestS.weight
			if best < 0 {
				secondW = math.Inf(-1)
			}
			best, bestS = i, s
		case s.weight > secondW:
			secondW = s.weight
		}
	}
	if best < 0 {
		return d
	}
	d.Probability = math.Exp2(min(logPrior+bestS.weight, 1000)) / (1 + odds)
	d.Evidence = f.evidence(&bestS)
	switch {
	case !f.agrees(&bestS) || d.Probability < f.rule.MinProbability:
		if d.Candidates > 0 {
			// Another candidate meets the standard on its own, but the
			// best is someone else or the evidence is split between
			// them: nobody is clearly the subject.
			d.Outcome = custodian.Ambiguous
		}
	case d.Candidates > 1, bestS.weight-secondW < f.rule.Margin:
		// Another record also meets the standard on its own, or comes
		// within the margin: nobody is clearly the subject.
		d.Outcome = custodian.Ambiguous
	case f.requireFirst && household > 1 && bestS.household() && bestS.levels[cFirst] > nameVariant && !unknown:
		// Registered twins (or siblings born the same day) at the
		// query's address: only the given name tells them apart, and a
		// name of its own that is merely close to one of theirs (Ola,
		// which is Aleksandra, and Olga) does not. A near spelling no one
		// bears (Jonh, for John and James) still points to the nearest.
		d.Outcome = custodian.Ambiguous
	default:
		d.Outcome = custodian.Verified
		d.RecordID = ids[best]
	}
	return d
}

func (f *FS) evidence(s *score) []Evidence {
	ev := make([]Evidence, len(comparisons))
	for i, c := range comparisons {
		ev[i].Identifier = c.name
		l := int(s.levels[i])
		if l < 0 {
			ev[i].Level = "missing"
			continue
		}
		ev[i].Level = c.levels[l]
		ev[i].Weight = f.weights[i][l]
	}
	return ev
}

// BlockingVersion names the blocking rules; record keys depend on it only,
// not on the model or the rule, so retraining needs no re-indexing.
const BlockingVersion = "fsb2"

// BlockingKeys returns a registry record's keys under the Fellegi-Sunter
// standard's blocking rules (whatever the model).
func BlockingKeys(r custodian.Record) []string {
	p := recordPerson(r)
	return prefixed(blockingKeys(&p))
}

// QueryKeys implements Standard: the query's blocking keys, or an EInvalid
// error naming "subject.<identifier>" for a required identifier that is
// missing or malformed.
func (f *FS) QueryKeys(q map[string]string) ([]string, error) {
	if err := f.CheckQuery(q); err != nil {
		return nil, err
	}
	p := newPerson(func(id string) string { return q[id] })
	return prefixed(blockingKeys(&p)), nil
}

// CheckQuery returns the EInvalid error QueryKeys would, without making
// the keys (the dry run checks every row, and finds candidates in memory).
func (f *FS) CheckQuery(q map[string]string) error {
	for _, id := range f.rule.Require {
		v := strings.TrimSpace(q[id])
		field := "subject." + id
		switch {
		case id == "address":
			if Normalize(q["street"]) == "" && Normalize(q["zip"]) == "" {
				return custodian.FieldError("subject.street", "the match standard requires an address (street or zip)")
			}
		case v == "":
			return custodian.FieldError(field, "is required by the match standard")
		case IsDate(id):
			if _, err := ParseDate(v); err != nil {
				return custodian.FieldError(field, "must be a date YYYY-MM-DD between %d and %d", minYear, maxYear)
			}
		case Normalize(v) == "":
			return custodian.FieldError(field, "must contain letters or digits")
		}
	}
	return nil
}

// RecordKeys implements Standard.
func (f *FS) RecordKeys(r custodian.Record) []string { return BlockingKeys(r) }

// prefixed makes keys fit to store: no spaces. (The store records which
// KeyVersion its keys are, so they need no version of their own.)
func prefixed(keys []string) []string {
	for i, k := range keys {
		keys[i] = strings.ReplaceAll(k, " ", "_")
	}
	return keys
}
