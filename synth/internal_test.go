package synth

import (
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	for _, c := range []struct {
		days    int
		y, m, d int
	}{{minBirth, 1930, 1, 1}, {maxBirth, 2008, 12, 31}, {oldAge, 1945, 1, 1}, {0, 1970, 1, 1}} {
		if got := daysFromCivil(c.y, c.m, c.d); got != c.days {
			t.Errorf("daysFromCivil(%d-%d-%d) = %d, want %d", c.y, c.m, c.d, got, c.days)
		}
	}
	for d := minBirth - 400; d <= maxBirth+400; d++ {
		want := time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02")
		if got := formatDate(d); got != want {
			t.Fatalf("formatDate(%d) = %s, want %s", d, got, want)
		}
		if parseDay(want) != d {
			t.Fatalf("parseDay(%s) = %d, want %d", want, parseDay(want), d)
		}
	}
}

func TestPermuteIsOneToOne(t *testing.T) {
	key := [4]uint32{1, 2, 3, 4}
	seen := make(map[uint32]bool, 1<<20)
	for x := uint32(0); x < 1<<20; x++ {
		y := permute(x, &key)
		if y >= licSpace || seen[y] {
			t.Fatalf("permute(%d) = %d: out of range or repeated", x, y)
		}
		seen[y] = true
	}
}

func TestRecordIDAndLicence(t *testing.T) {
	for n, want := range map[int]string{1: "R0000001", 1234567: "R1234567", 12345678: "R12345678"} {
		if got := recordID(n); got != want {
			t.Errorf("recordID(%d) = %s", n, got)
		}
	}
	if got := licence(0); got != "A00000000" {
		t.Errorf("licence(0) = %s", got)
	}
	if got := licence(licSpace - 1); got != "Z99999999" {
		t.Errorf("licence(max) = %s", got)
	}
}
