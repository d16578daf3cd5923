package web

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
)

func decodeLookup(body string) (custodian.LookupRequest, error) {
	r := httptest.NewRequest("POST", "/v1/lookups", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decode[custodian.LookupRequest](httptest.NewRecorder(), r, MaxLookupBody)
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body, code, field string
	}{
		{"ok", `{"purpose":"dppa-1","subject":{"first_name":"A"},"fields":["dob"]}`, "", ""},
		{"empty", ``, custodian.EInvalid, ""},
		{"truncated", `{"purpose":`, custodian.EInvalid, ""},
		{"syntax", `{"purpose" "x"}`, custodian.EInvalid, ""},
		{"unknown", `{"purpose":"x","ssn":"1"}`, custodian.EInvalid, "ssn"},
		{"type", `{"fields":"dob"}`, custodian.EInvalid, "fields"},
		{"nested type", `{"legal_basis":{"kind":7}}`, custodian.EInvalid, "legal_basis.kind"},
		{"two values", `{} {}`, custodian.EInvalid, ""},
		{"too large", `{"purpose":"` + strings.Repeat("a", MaxLookupBody) + `"}`, custodian.ETooLarge, ""},
		{"null", `null`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeLookup(tc.body)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != tc.code || ce.Field != tc.field {
				t.Fatalf("error = %#v, want code %s field %q", err, tc.code, tc.field)
			}
		})
	}
}

// FuzzDecodeLookup: any body either decodes or is refused with a user
// error; never a panic or an internal error.
func FuzzDecodeLookup(f *testing.F) {
	f.Add(`{"purpose":"dppa-1","legal_basis":{"kind":"warrant","reference":"W"},"subject":{"first_name":"A","dob":"1990-01-01"},"fields":["dob"]}`)
	f.Add(`{"subject":{"a":null}}`)
	f.Add(`[`)
	f.Add("{\"purpose\":\"\\ud800\"}")
	f.Fuzz(func(t *testing.T, body string) {
		_, err := decodeLookup(body)
		if err != nil {
			if code := custodian.ErrorCode(err); code != custodian.EInvalid && code != custodian.ETooLarge {
				t.Fatalf("code %s for %q: %v", code, body, err)
			}
		}
	})
}
