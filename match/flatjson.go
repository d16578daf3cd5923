package match

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// errNotFlat is flatJSON's answer to anything but a flat JSON object of
// strings; the caller then uses encoding/json, which says what is wrong.
var errNotFlat = errors.New("not a flat JSON object of strings")

// flatJSON reads a JSON object whose values are all strings (a registry
// record as the store keeps it) into fs, without a map: loading ten
// million records, encoding/json's map of each costs more than preparing
// the record. Keys and values without escapes are substrings of one copy
// of data.
func flatJSON(data []byte, fs []field) ([]field, error) {
	s := string(data)
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return nil, errNotFlat
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		if skipSpace(s, i+1) != len(s) {
			return nil, errNotFlat
		}
		return fs, nil
	}
	for {
		var k, v string
		var ok bool
		if k, i, ok = jsonString(s, i); !ok {
			return nil, errNotFlat
		}
		if i = skipSpace(s, i); i == len(s) || s[i] != ':' {
			return nil, errNotFlat
		}
		if v, i, ok = jsonString(s, skipSpace(s, i+1)); !ok {
			return nil, errNotFlat
		}
		fs = append(fs, field{k, v})
		i = skipSpace(s, i)
		switch {
		case i == len(s):
			return nil, errNotFlat
		case s[i] == ',':
			i = skipSpace(s, i+1)
		case s[i] == '}':
			if skipSpace(s, i+1) != len(s) {
				return nil, errNotFlat
			}
			return fs, nil
		default:
			return nil, errNotFlat
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonString reads the JSON string starting at s[i] and returns it and the
// position after it.
func jsonString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	start := i + 1
	for j := start; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[start:j]
			return v, j + 1, utf8.ValidString(v)
		case c == '\\':
			return jsonEscaped(s, start, j)
		case c < 0x20:
			return "", j, false
		}
	}
	return "", len(s), false
}

// jsonEscaped finishes a JSON string from s[start:] whose first escape is
// at s[j].
func jsonEscaped(s string, start, j int) (string, int, bool) {
	var b strings.Builder
	b.WriteString(s[start:j])
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			v := b.String()
			return v, j + 1, utf8.ValidString(v)
		case c < 0x20:
			return "", j, false
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(s) {
			return "", j, false
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, ok := jsonRune(s, j)
			if !ok {
				return "", j, false
			}
			b.WriteRune(r)
			j += n
			continue
		default:
			return "", j, false
		}
		j += 2
	}
	return "", j, false
}

// jsonRune reads \uXXXX (and a following low surrogate) at s[j]; a lone
// surrogate becomes U+FFFD, as encoding/json decodes it.
func jsonRune(s string, j int) (rune, int, bool) {
	hex := func(at int) (rune, bool) {
		if at+6 > len(s) || s[at] != '\\' || s[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[at+2:at+6], 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(j)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r) {
		if r2, ok := hex(j + 6); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}
