package match_test

import (
	"testing"
	"unicode/utf8"

	"github.com/custodian-project/custodian/match"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only spaces", "   \t\n ", ""},
		{"only punctuation", "-'.,", ""},
		{"plain", "smith", "smith"},
		{"upper", "SMITH", "smith"},
		{"acute", "José", "jose"},
		{"umlaut", "Müller", "muller"},
		{"vietnamese stacked marks", "Nguyễn", "nguyen"},
		{"vietnamese d with stroke", "Đặng Thị Thảo", "dang thi thao"},
		{"decomposed input", "Jose\u0301", "jose"},
		{"apostrophe", "O'Brien", "o brien"},
		{"curly apostrophe", "O’Brien", "o brien"},
		{"modifier apostrophe", "Kaʻahumanu", "ka ahumanu"},
		{"hyphen", "Jean-Luc", "jean luc"},
		{"en dash", "García–López", "garcia lopez"},
		{"compound surname", "  García   López ", "garcia lopez"},
		{"particle", "van der Berg", "van der berg"},
		{"whitespace runs", "\tMary \n\u00a0Ann  ", "mary ann"},
		{"ideographic space", "Li\u3000Na", "li na"},
		{"full-width", "ＪＯＳＥ", "jose"},
		{"full-width digits", "１９８０", "1980"},
		{"sharp s", "Weiß", "weiss"},
		{"capital sharp s", "WEIẞ", "weiss"},
		{"ae ligature", "Ærø", "aero"},
		{"oe ligature", "Œuvray", "oeuvray"},
		{"o with stroke", "Søren", "soren"},
		{"l with stroke", "Łukasz", "lukasz"},
		{"polish", "Wiśniewska-Dąbrowska", "wisniewska dabrowska"},
		{"czech", "Dvořák", "dvorak"},
		{"turkish dotted capital", "İlhan", "ilhan"},
		{"turkish dotless", "Işık", "isik"},
		{"akan open vowels", "Ɔsɛi", "osei"},
		{"fi ligature", "ﬁnn", "finn"},
		{"soft hyphen joins", "Mül\u00adler", "muller"},
		{"zero width joiner", "Ana\u200dMaria", "anamaria"},
		{"catalan middle dot", "Gal·la", "galla"},
		{"catalan l-dot", "Gaŀla", "galla"},
		{"trailing period", "Jr.", "jr"},
		{"initials", "J.R.R.", "j r r"},
		{"digits kept", "Apt 4B", "apt 4b"},
		{"symbols separate", "A&B/C", "a b c"},
		{"chinese kept", "王 伟", "王 伟"},
		{"arabic kept", "محمد", "محمد"},
		{"cyrillic lowered", "Иван", "иван"},
		{"invalid utf8", "ab\xffcd", "ab cd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Every code point must normalise to a fixed point (this catches letters
// whose lower case decomposes further) and agree with the reference that
// runs the whole string through NFKD first.
func TestNormalizeIdempotentEveryRune(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		s := "a" + string(r) + "b" + string(r)
		once := match.Normalize(s)
		if twice := match.Normalize(once); twice != once {
			t.Errorf("U+%04X: Normalize(%q) = %q, again = %q", r, s, once, twice)
		}
		if ref := match.NormalizeNFKD(s); ref != once {
			t.Errorf("U+%04X: Normalize(%q) = %q, reference %q", r, s, once, ref)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "José", "Müller", "Nguyễn", "O'Brien", "Jean-Luc", "ＪＯＳＥ", "WEIẞ", "a\u0301\u0327", "\xff\xfe", "한국", "\U0001D165\U0001D16D\u0301", "\U0001D16D\U0001D165", "İ", "ǅ", "ﬃ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := match.Normalize(s)
		if !utf8.ValidString(once) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, once)
		}
		if twice := match.Normalize(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if ref := match.NormalizeNFKD(s); ref != once {
			t.Fatalf("Normalize(%q) = %q, reference %q", s, once, ref)
		}
		if len(once) > 0 && (once[0] == ' ' || once[len(once)-1] == ' ') {
			t.Fatalf("Normalize(%q) = %q: not trimmed", s, once)
		}
	})
}

var sink string

func BenchmarkNormalize(b *testing.B) {
	cases := []struct{ name, in string }{
		{"ascii_normal", "smith"},
		{"ascii", "O'Brien-Smith"},
		{"latin", "José García López"},
		{"vietnamese", "Nguyễn Thị Thảo"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = match.Normalize(c.in)
			}
		})
	}
}
