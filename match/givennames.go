package match

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
	"sync"
)

// givennames.txt is the project's reference list of given names: real
// names of many naming traditions, one a line, written from general
// knowledge for this purpose (not taken from the test generator). It does
// not say which names are variants of which; it says which spellings are
// somebody's name, so that a spelling that is nobody's name can be taken
// for a typing slip (see FS.unknownFirst).
//
//go:embed data/givennames.txt
var givenNamesTxt string

// givenNames returns the cores of the names on the reference list.
var givenNames = sync.OnceValue(func() map[string]struct{} {
	set := map[string]struct{}{}
	for _, line := range strings.Split(givenNamesTxt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k := variantKey(line); k != "" {
			set[k] = struct{}{}
		}
	}
	return set
})

// isGivenName reports whether a given name's core is on the reference
// list.
func isGivenName(core string) bool {
	_, ok := givenNames()[core]
	return ok
}

// NameTablesHash identifies the name tables the standard is built with
// (nicknames, variants, syllables, given names): the first 12 hex digits
// of a SHA-256 over them. It is part of the standard's version, because the
// same model and rule decide differently with other tables.
var NameTablesHash = sync.OnceValue(func() string {
	h := sha256.New()
	for _, t := range []string{nicknamesCSV, variantsCSV, syllablesCSV, givenNamesTxt} {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
})
