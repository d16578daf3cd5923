package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize reduces a name, street or other free-text identifier to the form
// the standard compares: compatibility-decomposed (NFKD, so full-width and
// ligature forms fold to plain letters), diacritics dropped, letters that
// do not decompose folded by hand (ß→ss, æ→ae, ø→o, ł→l, đ→d, …),
// lower-cased, and every run of punctuation, hyphens, apostrophes, symbols
// and white space turned into a single space, trimmed. Invisible format
// characters (soft hyphen, zero-width joiners) and the Catalan middle dot
// are dropped, not spaced, because they sit inside words.
//
// Normalize is idempotent and always returns valid UTF-8; invalid input
// bytes count as separators.
func Normalize(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return normalizeUnicode(s)
		}
	}
	return normalizeASCII(s)
}

// normalizeASCII is the fast path: most registry values are plain ASCII and
// are returned without allocating when they are already normal.
func normalizeASCII(s string) string {
	if asciiNormal(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

func asciiNormal(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == ' ' && s[i-1] != ' ':
		default:
			return false
		}
	}
	return true
}

// normalizeUnicode decomposes rune by rune from the normalisation tables,
// which is several times faster than norm.NFKD.String. The two agree
// because every combining mark is dropped anyway; the one thing per-rune
// decomposition skips, canonical reordering, matters only when a kept rune
// is itself a non-starter (a few spacing marks in rare scripts), and then
// the whole string takes the reference path.
func normalizeUnicode(s string) string {
	n := normalizer{b: make([]byte, 0, len(s))}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			n.add(rune(c))
			i++
			continue
		}
		p := norm.NFKD.PropertiesString(s[i:])
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch d := p.Decomposition(); {
		case d != nil:
			for j := 0; j < len(d); {
				dp := norm.NFKD.Properties(d[j:])
				dr, dsize := utf8.DecodeRune(d[j:])
				j += dsize
				if dp.CCC() != 0 && !dropped(dr) {
					return normalizeNFKD(s)
				}
				n.add(dr)
			}
		case hangulFirst <= r && r <= hangulLast:
			// Hangul syllables decompose by arithmetic, not by table.
			si := r - hangulFirst
			n.add(0x1100 + si/588)
			n.add(0x1161 + si%588/28)
			if t := si % 28; t != 0 {
				n.add(0x11a7 + t)
			}
		default:
			if p.CCC() != 0 && !dropped(r) {
				return normalizeNFKD(s)
			}
			n.add(r)
		}
	}
	return string(n.b)
}

const hangulFirst, hangulLast = 0xac00, 0xd7a3

// normalizeNFKD is the reference: the whole string through NFKD first.
// Invalid bytes are replaced before, because norm leaves the letter after
// one undecomposed.
func normalizeNFKD(s string) string {
	s = norm.NFKD.String(strings.ToValidUTF8(s, "\uFFFD"))
	n := normalizer{b: make([]byte, 0, len(s))}
	for _, r := range s {
		n.add(r)
	}
	return string(n.b)
}

// dropped reports whether add drops r without leaving a separator:
// diacritics, enclosing marks, invisible format characters, the middle dot.
func dropped(r rune) bool {
	return r == '\u00b7' || unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf)
}

type normalizer struct {
	b     []byte
	space bool // a separator is pending
}

// fold spells the letters that NFKD leaves whole but that people write
// without the stroke or ligature (and that English-language registries
// usually hold transliterated). r is lower case.
func fold(r rune) (string, bool) {
	switch r {
	case 'ß':
		return "ss", true
	case 'æ':
		return "ae", true
	case 'œ':
		return "oe", true
	case 'þ':
		return "th", true
	case 'ŋ':
		return "ng", true
	case 'ø':
		return "o", true
	case 'ł', 'ƚ':
		return "l", true
	case 'đ', 'ð', 'ɖ', 'ɗ':
		return "d", true
	case 'ħ':
		return "h", true
	case 'ı', 'ɨ':
		return "i", true
	case 'ŧ':
		return "t", true
	case 'ɛ', 'ə', 'ǝ':
		return "e", true
	case 'ɔ':
		return "o", true
	case 'ƒ':
		return "f", true
	case 'ɣ':
		return "g", true
	case 'ƙ':
		return "k", true
	case 'ɓ':
		return "b", true
	case 'ƴ':
		return "y", true
	}
	return "", false
}

func (n *normalizer) add(r rune) {
	if r < 0x80 {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		default:
			n.space = true
			return
		}
		n.put(byte(r))
		return
	}
	switch {
	case dropped(r):
		return
	case '\u02b9' <= r && r <= '\u02bd':
		n.space = true // modifier-letter apostrophes and primes, like '
		return
	}
	lower := unicode.ToLower(r)
	if f, ok := fold(lower); ok {
		for i := 0; i < len(f); i++ {
			n.put(f[i])
		}
		return
	}
	if !unicode.In(lower, unicode.L, unicode.N, unicode.Mc) {
		n.space = true
		return
	}
	if n.space && len(n.b) > 0 {
		n.b = append(n.b, ' ')
	}
	n.space = false
	n.b = append(n.b, string(lower)...)
}

func (n *normalizer) put(c byte) {
	if n.space && len(n.b) > 0 {
		n.b = append(n.b, ' ')
	}
	n.space = false
	n.b = append(n.b, c)
}
