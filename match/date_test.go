package match_test

import (
	"errors"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

func TestParseDate(t *testing.T) {
	ok := []struct {
		name, in string
		want     time.Time
	}{
		{"ordinary", "1980-07-14", time.Date(1980, 7, 14, 0, 0, 0, 0, time.UTC)},
		{"leap day", "2000-02-29", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"leap day every 4 years", "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"first year", "1850-01-01", time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"last year", "2100-12-31", time.Date(2100, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := match.ParseDate(tt.in)
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"feb 30", "1980-02-30"},
		{"feb 29 non-leap", "1981-02-29"},
		{"feb 29 century", "1900-02-29"},
		{"april 31", "1980-04-31"},
		{"month 13", "1980-13-01"},
		{"month 0", "1980-00-10"},
		{"day 0", "1980-01-00"},
		{"two-digit year", "80-07-14"},
		{"two-digit year padded", "0080-07-14"},
		{"year too early", "1849-12-31"},
		{"year too late", "2101-01-01"},
		{"us order", "07/14/1980"},
		{"day first", "14-07-1980"},
		{"slashes", "1980/07/14"},
		{"single digit month", "1980-7-14"},
		{"single digit day", "1980-07-4"},
		{"timestamp", "1980-07-14T00:00:00Z"},
		{"leading space", " 1980-07-14"},
		{"trailing space", "1980-07-14 "},
		{"sign", "+980-07-14"},
		{"letters", "198O-07-14"},
		{"full-width digits", "１９８０-07-14"},
		{"compact", "19800714"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := match.ParseDate(tt.in)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %v, want error", tt.in, got)
			}
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid {
				t.Errorf("error %v: want *custodian.Error EInvalid", err)
			}
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1980-07-14", "2000-02-29", "1900-02-29", "80-07-14", "1980-13-01", "2100-12-31", "1850-01-01", "9999-99-99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := match.ParseDate(s)
		if err != nil {
			if code := custodian.ErrorCode(err); code != custodian.EInvalid {
				t.Fatalf("ParseDate(%q): code %q, want EInvalid", s, code)
			}
			return
		}
		// Anything accepted is exactly the canonical spelling of a real date.
		if got := d.Format("2006-01-02"); got != s {
			t.Fatalf("ParseDate(%q) = %s: not a round trip", s, got)
		}
		if d.Year() < 1850 || d.Year() > 2100 || d.Location() != time.UTC || d.Hour() != 0 {
			t.Fatalf("ParseDate(%q) = %v out of range", s, d)
		}
	})
}
