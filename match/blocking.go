package match

import "strconv"

// blockRule is one blocking rule: records sharing its key are compared.
// uses names the comparisons its key is made of; in EM, a rule's pairs say
// nothing about those (they agree by construction), so they are left out.
type blockRule struct {
	name string
	uses []string
	// key appends the rule's key for p to b (parts joined by "|") and
	// returns it, or returns nil when p lacks a part.
	key func(b []byte, p *person) []byte
}

// blockRules are the union of the standard's blocking rules: a pair of
// records is compared only when it shares at least one key. Each survives a
// different kind of error in the other identifiers; blocking that loses a
// true match loses it for good, which the evaluation reports.
var blockRules = []blockRule{
	// Names that sound alike, whatever the date and address.
	// In either order: given name and surname are often swapped.
	{"np", []string{"first_name", "last_name"}, func(b []byte, p *person) []byte {
		x, y := p.last.phonetic, p.first.phonetic
		if y < x {
			x, y = y, x
		}
		return keyOf(b, x, y)
	}},
	// Date of birth and postcode: names garbled or swapped.
	{"dz", []string{"dob", "address"}, func(b []byte, p *person) []byte { return dobKeyOf(b, p.dob, false, p.zip) }},
	// Date of birth and surname initial: first-name variants and typos.
	{"di", []string{"dob", "last_name"}, func(b []byte, p *person) []byte {
		return dobKeyOf(b, p.dob, false, initial(p.last.initial))
	}},
	// Date with day and month in either order, and first initial:
	// transposed dates, surname changes.
	{"dt", []string{"dob", "first_name"}, func(b []byte, p *person) []byte {
		return dobKeyOf(b, p.dob, true, initial(p.first.initial))
	}},
	// Surname sound and year of birth: nicknames, a wrong day or month.
	{"ly", []string{"last_name", "dob"}, func(b []byte, p *person) []byte { return yearKeyOf(b, p.last.phonetic, p.dob) }},
	// House number and street: names and dates garbled, postcode mistyped.
	{"sa", []string{"address"}, func(b []byte, p *person) []byte { return keyOf(b, p.streetNum, p.streetKey) }},
	// Date of birth and house number: the rest of the address and the
	// names garbled.
	{"dn", []string{"dob", "address"}, func(b []byte, p *person) []byte { return dobKeyOf(b, p.dob, false, p.streetNum) }},
	// First-name sound and year of birth: a surname missing, changed or garbled.
	{"fy", []string{"first_name", "dob"}, func(b []byte, p *person) []byte { return yearKeyOf(b, p.first.phonetic, p.dob) }},
	// Postcode and surname sound: a missing or wrong date.
	{"zl", []string{"address", "last_name"}, func(b []byte, p *person) []byte { return keyOf(b, p.zip, p.last.phonetic) }},
	// Postcode and first-name sound: a missing date and a changed surname.
	{"zf", []string{"address", "first_name"}, func(b []byte, p *person) []byte { return keyOf(b, p.zip, p.first.phonetic) }},
}

// appendRuleKey appends rule r's full key for p ("np:" and the key) to b,
// or returns nil when p has none.
func appendRuleKey(b []byte, r *blockRule, p *person) []byte {
	b = append(append(b, r.name...), ':')
	return r.key(b, p)
}

// blockingKeys returns a record's key under each blocking rule that has one.
func blockingKeys(p *person) []string {
	keys := make([]string, 0, len(blockRules))
	var buf [128]byte
	for i := range blockRules {
		if k := appendRuleKey(buf[:0], &blockRules[i], p); k != nil {
			keys = append(keys, string(k))
		}
	}
	return keys
}

// keyOf appends x|y, or returns nil when either is empty.
func keyOf(b []byte, x, y string) []byte {
	if x == "" || y == "" {
		return nil
	}
	return append(append(append(b, x...), '|'), y...)
}

// dobKeyOf appends the date as YYYYMMDD (day and month in ascending order
// when sorted) and |x, or returns nil when either is missing.
func dobKeyOf(b []byte, d date, sorted bool, x string) []byte {
	if !d.ok() || x == "" {
		return nil
	}
	m, dd := int(d.m), int(d.d)
	if sorted && dd < m {
		m, dd = dd, m
	}
	y := int(d.y)
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+m/10), byte('0'+m%10), byte('0'+dd/10), byte('0'+dd%10), '|')
	return append(b, x...)
}

// yearKeyOf appends x|year, or returns nil when either is missing.
func yearKeyOf(b []byte, x string, d date) []byte {
	if x == "" || !d.ok() {
		return nil
	}
	return strconv.AppendInt(append(append(b, x...), '|'), int64(d.y), 10)
}

func initial(b byte) string {
	if b == 0 {
		return ""
	}
	return string(rune(b))
}
