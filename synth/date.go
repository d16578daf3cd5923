package synth

// Dates are days since 1970-01-01, converted by hand: formatting with the
// time package would be a third of the generator's cost.

// Birth dates run from 1930-01-01 to 2008-12-31 (days since 1970).
const (
	minBirth = -14610
	maxBirth = 14244
	oldAge   = -9131 // 1945-01-01
)

// birthDay draws a day in [lo, hi], with people born before 1945 half as
// common: registries of the living thin out with age.
func (g *generator) birthDay(lo, hi int) int {
	for {
		d := lo + g.rng.IntN(hi-lo+1)
		if d >= oldAge || g.rng.IntN(2) == 0 {
			return d
		}
	}
}

// daysFromCivil and civilFromDays are Howard Hinnant's algorithms.
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func formatDate(days int) string {
	y, m, d := civilFromDays(days)
	b := []byte("0000-00-00")
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b)
}

func parseDay(s string) int {
	n := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	return daysFromCivil(n(s[0:4]), n(s[5:7]), n(s[8:10]))
}
