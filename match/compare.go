package match

import (
	"strings"

	"github.com/custodian-project/custodian"
)

// person is a query or a registry record prepared for comparison: every
// identifier normalised once, so that comparing it with many candidates
// allocates nothing. A registry's persons share their names and strings
// (see Registry.prepare).
type person struct {
	first, middle, last *nameInfo // never nil
	address
	suffix string // jr, sr, ii, iii, iv …, or ""
	dob    date   // zero when missing or malformed
	sex    byte   // 'f', 'm', 'x', or 0
}

// address is a person's normalised address.
type address struct {
	streetNum string // leading house number of the street, normalised
	streetKey string // the rest, abbreviations expanded, without spaces: "pearsonstreet" agrees with "pearson street"
	zip       string // digits and letters only
}

func newAddress(street, zip string) address {
	num, name := splitStreet(street)
	return address{streetNum: num, streetKey: strings.ReplaceAll(name, " ", ""), zip: strings.ReplaceAll(Normalize(zip), " ", "")}
}

// date is a calendar date as digits; the zero value is a missing date.
type date struct {
	y    int16
	m, d int8
}

func (d date) ok() bool { return d.y != 0 }

// newPerson reads the standard identifiers through get (a query's subject or
// a registry record's values).
func newPerson(get func(string) string) person {
	v := loadVariants()
	return newPersonWith(get, func(s string) *nameInfo {
		if s == "" {
			return &noName
		}
		n := newNameInfo(s).withVariants(v)
		return &n
	}, newAddress)
}

// noName is every missing name's nameInfo; it is never changed.
var noName nameInfo

// newPersonWith is newPerson with the names and the address prepared by
// name and addr.
func newPersonWith(get func(string) string, name func(string) *nameInfo, addr func(street, zip string) address) person {
	p := person{
		first:   name(get("first_name")),
		middle:  name(get("middle_name")),
		last:    name(get("last_name")),
		address: addr(get("street"), get("zip")),
		suffix:  normalizeSuffix(get("suffix")),
		sex:     normalizeSex(get("sex")),
	}
	if t, err := ParseDate(strings.TrimSpace(get("dob"))); err == nil {
		p.dob = date{int16(t.Year()), int8(t.Month()), int8(t.Day())}
	}
	return p
}

func recordPerson(r custodian.Record) person {
	return newPerson(func(id string) string { return r.Values[id] })
}

func normalizeSuffix(s string) string {
	switch n := strings.ReplaceAll(Normalize(s), " ", ""); n {
	case "junior":
		return "jr"
	case "senior":
		return "sr"
	case "2nd":
		return "ii"
	case "3rd":
		return "iii"
	case "4th":
		return "iv"
	default:
		return n
	}
}

func normalizeSex(s string) byte {
	switch Normalize(s) {
	case "f", "female", "w", "woman":
		return 'f'
	case "m", "male", "man":
		return 'm'
	case "x", "nonbinary", "non binary", "other", "u", "unspecified":
		return 'x'
	}
	return 0
}

// streetWords expands the abbreviations a street name is commonly written
// with, so "12 Main St." and "12 main street" agree.
var streetWords = map[string]string{
	"st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue",
	"blvd": "boulevard", "dr": "drive", "ln": "lane", "ct": "court", "crt": "court",
	"pl": "place", "sq": "square", "hwy": "highway", "pkwy": "parkway", "cres": "crescent",
	"cct": "circuit", "cir": "circle", "tce": "terrace", "ter": "terrace", "pde": "parade",
	"cl": "close", "gr": "grove", "mt": "mount", "n": "north", "s": "south", "e": "east",
	"w": "west", "apt": "apartment", "unit": "unit", "ste": "suite", "no": "",
}

// splitStreet returns the house number (the first token holding a digit)
// and the street name (the other tokens, abbreviations expanded).
func splitStreet(s string) (num, name string) {
	words := strings.Fields(Normalize(s))
	var b strings.Builder
	for _, w := range words {
		if num == "" && strings.ContainsAny(w, "0123456789") {
			num = w
			continue
		}
		if x, ok := streetWords[w]; ok {
			w = x
		}
		if w == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return num, b.String()
}

// Comparison levels of a date of birth, best first.
const (
	dobExact      = iota
	dobTransposed // day and month swapped
	dobOneDigit   // one digit of YYYYMMDD differs
	dobYear       // same year, month and day differ otherwise
	dobElse
	dobMissing = -1
)

func dobLevel(q, r date) int {
	if !q.ok() || !r.ok() {
		return dobMissing
	}
	if q == r {
		return dobExact
	}
	if q.y == r.y && q.m == r.d && q.d == r.m {
		return dobTransposed
	}
	if digitsApart(q, r) == 1 {
		return dobOneDigit
	}
	if q.y == r.y {
		return dobYear
	}
	return dobElse
}

// digitsApart counts the digits of YYYYMMDD that differ.
func digitsApart(a, b date) int {
	n := 0
	for _, p := range [...][3]int{{int(a.y), int(b.y), 4}, {int(a.m), int(b.m), 2}, {int(a.d), int(b.d), 2}} {
		x, y := p[0], p[1]
		for i := 0; i < p[2]; i++ {
			if x%10 != y%10 {
				n++
			}
			x, y = x/10, y/10
		}
	}
	return n
}

// Comparison levels of an address, best first.
const (
	addrExact = iota // same house number and street name
	addrClose        // same number, street names within Jaro-Winkler 0.88, or same name with a number missing
	addrZip          // same postcode, the street disagreeing or missing
	addrElse
	addrMissing = -1
)

func addrLevel(q, r *person) int {
	qStreet, rStreet := q.streetKey != "" || q.streetNum != "", r.streetKey != "" || r.streetNum != ""
	if (!qStreet && q.zip == "") || (!rStreet && r.zip == "") {
		return addrMissing
	}
	sameNum := q.streetNum != "" && q.streetNum == r.streetNum
	if q.streetKey != "" && r.streetKey != "" {
		sameName := q.streetKey == r.streetKey
		switch {
		case sameName && q.streetNum == r.streetNum:
			return addrExact
		case sameName && (q.streetNum == "" || r.streetNum == ""):
			return addrClose
		case sameNum && jaroWinkler(q.streetKey, r.streetKey).atLeast(88):
			return addrClose
		}
	} else if sameNum && q.zip != "" && q.zip == r.zip {
		// One side has only a house number: with the postcode, close.
		return addrClose
	}
	if q.zip != "" && q.zip == r.zip {
		return addrZip
	}
	return addrElse
}

// Levels of the identifiers that only agree or disagree.
const (
	eqAgree = iota
	eqElse
	eqMissing = -1
)

func eqLevel[T comparable](q, r, zero T) int {
	if q == zero || r == zero {
		return eqMissing
	}
	if q == r {
		return eqAgree
	}
	return eqElse
}
