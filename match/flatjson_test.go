package match

import (
	"encoding/json"
	"strings"
	"testing"
)

// checkFlat asserts that whatever flatJSON accepts, encoding/json reads to
// the same values, and that it accepts what the store writes.
func checkFlat(t *testing.T, data string) {
	t.Helper()
	fs, err := flatJSON([]byte(data), nil)
	var want map[string]string
	jerr := json.Unmarshal([]byte(data), &want)
	if err != nil {
		return // encoding/json decides, as AddAllJSON does
	}
	if jerr != nil {
		t.Fatalf("flatJSON accepted %q, which encoding/json rejects: %v", data, jerr)
	}
	for k, v := range want {
		if got := lookupField(fs, k); got != v {
			t.Fatalf("%q: %q = %q, encoding/json says %q", data, k, got, v)
		}
	}
	for _, f := range fs {
		if _, ok := want[f.key]; !ok {
			t.Fatalf("%q: flatJSON has %q, encoding/json not", data, f.key)
		}
	}
}

func TestFlatJSON(t *testing.T) {
	accepted := []string{
		`{}`, ` { } `,
		`{"first_name":"Ann","last_name":"O'Neil"}`,
		`{"a":"x\"y\\z\/\b\f\n\r\t"}`,
		`{"a":"\u00e9\u4e2d\ud83d\ude00 <&>"}`,
		`{"a":"\u003cb\u003e"}`,
		"{\n\t\"a\" : \"b\" ,\r\n\"c\":\"\"}",
		`{"a":"1","a":"2"}`,
		`{"a":"José"}`,
	}
	for _, s := range accepted {
		if _, err := flatJSON([]byte(s), nil); err != nil {
			t.Errorf("flatJSON(%s): %v", s, err)
		}
		checkFlat(t, s)
	}
	rejected := []string{
		``, `[]`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1}`, `{"a":null}`, `{"a":"b",}`,
		`{"a":"b"} x`, `{"a":"b" "c":"d"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"` + "\x01" + `"}`,
		`{"a":"` + "\xff" + `"}`, `{"a":{"b":"c"}}`, `{"a":"b"`, `{"a":"\ud800"}`,
		`{"a":"` + strings.Repeat("x", 1<<16),
	}
	for _, s := range rejected {
		fs, err := flatJSON([]byte(s), nil)
		if err == nil && s != `{"a":"\ud800"}` {
			t.Errorf("flatJSON(%.40q) = %v, want an error", s, fs)
		}
		checkFlat(t, s)
	}
}

func FuzzFlatJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":"\u00e9\ud83d\ude00","b":"\n"}`, `{"a":"b","a":"c"}`, `{"a":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFlat(t, s) })
}
