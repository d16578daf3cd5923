package match

import (
	"time"

	"github.com/custodian-project/custodian"
)

// Years outside this range are typing errors in a registry of living
// residents' records, not dates of birth.
const (
	minYear = 1850
	maxYear = 2100
)

// ParseDate parses a date strictly in the form YYYY-MM-DD: four-digit year
// in 1850..2100, two-digit month and day, a real calendar date. It returns a
// UTC midnight. Errors are *custodian.Error with code EInvalid and never
// repeat the input (it may be a date of birth); callers set Field.
func ParseDate(s string) (time.Time, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, custodian.Errorf(custodian.EInvalid, "not a date in the form YYYY-MM-DD")
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, custodian.Errorf(custodian.EInvalid, "not a date in the form YYYY-MM-DD")
	}
	if y < minYear || y > maxYear {
		return time.Time{}, custodian.Errorf(custodian.EInvalid, "year outside %d..%d", minYear, maxYear)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return time.Time{}, custodian.Errorf(custodian.EInvalid, "no such calendar date")
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
