package synth

import (
	"strconv"
	"strings"

	"github.com/custodian-project/custodian/match"
)

// pick draws from a list ordered most common first: half the draws are
// uniform, half lean hard towards the head, so common names are common
// without the tail disappearing.
func (g *generator) pick(list []string) string {
	u := g.rng.Float64()
	if g.rng.IntN(2) == 0 {
		u *= u
	}
	return list[int(u*float64(len(list)))]
}

func (g *generator) pickCulture() int {
	x := g.rng.IntN(g.cweights[len(g.cweights)-1])
	for i, c := range g.cweights {
		if x < c {
			return i
		}
	}
	return len(g.cweights) - 1
}

// pickSex returns M or F, and now and then X (several states issue it).
func (g *generator) pickSex() string {
	switch x := g.rng.IntN(1000); {
	case x < 3:
		return "X"
	case x < 500:
		return "M"
	}
	return "F"
}

// female says which list of given names a person of the sex draws from.
func (g *generator) female(sex string) bool {
	if sex == "X" {
		return g.rng.IntN(2) == 0
	}
	return sex == "F"
}

// given returns a first name of the culture for the sex.
func (g *generator) given(c *culture, fem bool) string {
	list := c.male
	if fem {
		list = c.female
	}
	name := g.pick(list)
	if c.style == styleEastAsian && strings.IndexByte(name, ' ') > 0 {
		// Two-syllable given names reach registries as "Zhi Hao",
		// "Zhi-Hao" or "Zhihao".
		switch g.rng.IntN(3) {
		case 1:
			name = strings.Replace(name, " ", "-", 1)
		case 2:
			i := strings.IndexByte(name, ' ')
			name = name[:i] + strings.ToLower(name[i+1:])
		}
	}
	return name
}

// surname returns a last name of the culture in the form for the sex.
func (g *generator) surname(c *culture, fem bool) string {
	s := g.pick(c.last)
	if i := strings.IndexByte(s, '|'); i >= 0 {
		if fem {
			return s[i+1:]
		}
		return s[:i]
	}
	return s
}

// person composes one ordinary person of culture ci.
func (g *generator) person(ci int, sex string) person {
	c := &g.cultures[ci]
	fem := g.female(sex)
	p := person{culture: ci, sex: sex}
	p.first = g.given(c, fem)
	p.last = g.surname(c, fem)
	switch c.style {
	case styleAnglo:
		if g.rng.IntN(100) < 85 {
			p.middle = g.pick(pickList(c.middleMale, c.middleFemale, fem))
		}
		if fem && g.rng.IntN(40) == 0 {
			p.last += "-" + g.surname(c, fem) // a married name kept alongside
		}
		if !fem && g.rng.IntN(60) == 0 {
			p.suffix = [...]string{"Jr.", "Jr.", "III", "II", "IV"}[g.rng.IntN(5)]
		}
	case styleHispanic:
		if g.rng.IntN(100) < 40 {
			p.middle = g.given(c, fem)
		}
		switch x := g.rng.IntN(100); {
		case x < 28:
			p.last += " " + g.surname(c, fem) // father's and mother's surnames
		case x < 33:
			p.last += "-" + g.surname(c, fem)
		case x < 38:
			p.last = g.pick(c.particles)
		}
	case styleVietnamese:
		if g.rng.IntN(100) < 90 {
			p.middle = g.pick(pickList(c.middleMale, c.middleFemale, fem))
		}
	case styleEastAsian:
		if g.rng.IntN(100) < 25 {
			// an English first name, the given name kept as middle
			p.middle = p.first
			p.first = g.given(&g.cultures[0], fem)
		}
	case styleArabic:
		if g.rng.IntN(100) < 60 {
			p.middle = g.given(c, false) // the father's name
		}
	default:
		if g.rng.IntN(100) < 35 {
			p.middle = g.given(c, fem)
		}
	}
	if p.middle != "" && match.Normalize(p.middle) == match.Normalize(p.first) {
		p.middle = ""
	}
	if g.rng.IntN(16) == 0 {
		// a family of mixed traditions: surname from another culture
		o := &g.cultures[g.pickCulture()]
		p.last = g.surname(o, fem)
	}
	p.dob = formatDate(g.birthDay(minBirth, maxBirth))
	g.address(&p)
	return p
}

func pickList(male, fem []string, f bool) []string {
	if f {
		return fem
	}
	return male
}

// address gives p a street address, city, state and ZIP code.
func (g *generator) address(p *person) {
	var b strings.Builder
	b.Grow(40)
	// house numbers: mostly short, some long
	n := 1 + g.rng.IntN(9999)
	if g.rng.IntN(3) == 0 {
		n = 1 + g.rng.IntN(999)
	}
	if g.rng.IntN(20) == 0 {
		n = 10000 + g.rng.IntN(90000)
	}
	b.WriteString(strconv.Itoa(n))
	b.WriteByte(' ')
	if g.rng.IntN(7) == 0 {
		b.WriteString(g.streets.directions[g.rng.IntN(len(g.streets.directions))])
		b.WriteByte(' ')
	}
	b.WriteString(g.pick(g.streets.names))
	b.WriteByte(' ')
	b.WriteString(g.streets.suffixes[g.rng.IntN(len(g.streets.suffixes))])
	if g.rng.IntN(7) == 0 {
		b.WriteString(" Apt ")
		b.WriteString(strconv.Itoa(1 + g.rng.IntN(40)))
		if g.rng.IntN(3) == 0 {
			b.WriteByte(byte('A' + g.rng.IntN(6)))
		}
	}
	p.street = b.String()
	pl := g.places[int(g.rng.Float64()*g.rng.Float64()*float64(len(g.places)))]
	p.city, p.state = pl.city, pl.state
	z := g.rng.IntN(100)
	p.zip = pl.zip3 + string([]byte{byte('0' + z/10), byte('0' + z%10)})
}

// pair composes the two people of a planted hard case.
func (g *generator) pair(kind int) (a, b person) {
	switch kind {
	case twins:
		// The first planted pair, and every eighth, share a first initial;
		// those are Anglo, where every initial has many names.
		sameInitial := g.planted[twins]%8 == 0
		ci := g.pickCulture()
		if sameInitial {
			ci = 0
		}
		a = g.person(ci, g.pickSex())
		a.suffix = ""
		b = a
		c := &g.cultures[ci]
		if gendered(c) || g.rng.IntN(2) == 0 {
			b.sex = a.sex
		} else {
			b.sex = g.pickSex()
		}
		fem := g.female(b.sex)
		b.first = g.twinName(c, fem, a.first, sameInitial)
		b.middle = ""
		if a.middle != "" {
			b.middle = g.given(c, fem)
		}
	case jrsr:
		a = g.person(0, "M") // Anglo: the tradition that uses Jr./Sr.
		a.dob = formatDate(g.birthDay(minBirth, maxBirth-25*365))
		sr := parseDay(a.dob)
		b = a
		b.dob = formatDate(min(maxBirth, sr+20*365+g.rng.IntN(10*365)))
		a.suffix, b.suffix = "Sr.", "Jr."
	case namesakes, collisions:
		a = g.person(g.pickCulture(), g.pickSex())
		b = g.person(a.culture, a.sex)
		b.first, b.last = a.first, a.last
		if kind == collisions {
			b.dob = a.dob
		} else {
			for b.dob == a.dob {
				b.dob = formatDate(g.birthDay(minBirth, maxBirth))
			}
		}
		for b.street == a.street && b.zip == a.zip {
			g.address(&b)
		}
	}
	return a, b
}

func gendered(c *culture) bool {
	for _, s := range c.last {
		if strings.IndexByte(s, '|') >= 0 {
			return true
		}
	}
	return false
}

// twinName picks a first name other than not, with the same initial when
// asked and the list has one.
func (g *generator) twinName(c *culture, fem bool, not string, sameInitial bool) string {
	list := pickList(c.male, c.female, fem)
	ok := func(name string, initial bool) bool {
		return match.Normalize(name) != match.Normalize(not) && (!initial || name[0] == not[0])
	}
	for range 200 {
		name := g.given(c, fem)
		if sameInitial {
			name = list[g.rng.IntN(len(list))]
		}
		if ok(name, sameInitial) {
			return name
		}
	}
	for _, initial := range []bool{sameInitial, false} {
		for _, name := range list {
			if ok(name, initial) {
				return name
			}
		}
	}
	return not + "a"
}
