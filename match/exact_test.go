package match_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

func rec(id, first, last, dob string, more ...string) custodian.Record {
	v := map[string]string{"record_id": id, "first_name": first, "last_name": last, "dob": dob}
	for i := 0; i+1 < len(more); i += 2 {
		v[more[i]] = more[i+1]
	}
	return custodian.Record{ID: id, Values: v}
}

func query(first, last, dob string) map[string]string {
	return map[string]string{"first_name": first, "last_name": last, "dob": dob}
}

// registry stands in for the store: records indexed by RecordKeys, looked up
// by QueryKeys.
func lookup(t *testing.T, s match.Standard, recs []custodian.Record, q map[string]string) match.Result {
	t.Helper()
	index := map[string][]custodian.Record{}
	for _, r := range recs {
		for _, k := range s.RecordKeys(r) {
			index[k] = append(index[k], r)
		}
	}
	keys, err := s.QueryKeys(q)
	if err != nil {
		t.Fatalf("QueryKeys: %v", err)
	}
	var cands []custodian.Record
	for _, k := range keys {
		cands = append(cands, index[k]...)
	}
	return s.Decide(q, cands)
}

func TestExactOutcomes(t *testing.T) {
	registry := []custodian.Record{
		rec("R1", "José", "García López", "1980-07-14"),
		rec("R2", "Minh", "Nguyễn", "1975-03-02"),
		// twins: same last name and dob, different first names
		rec("R3", "Anna", "Müller", "1990-01-01"),
		rec("R4", "Hanna", "Müller", "1990-01-01"),
		// two people the standard cannot tell apart
		rec("R5", "John", "Smith", "1965-05-05", "city", "Springfield"),
		rec("R6", "John", "Smith", "1965-05-05", "city", "Shelbyville"),
		// Jr./Sr.: same names, dobs far apart
		rec("R7", "Robert", "Johnson", "1950-09-09", "suffix", "Sr."),
		rec("R8", "Robert", "Johnson", "1976-10-10", "suffix", "Jr."),
		rec("R9", "Seán", "O'Brien", "1988-12-24"),
	}
	s, err := match.NewExact(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		q          map[string]string
		outcome    custodian.Outcome
		id         string
		candidates int
	}{
		{"exact", query("José", "García López", "1980-07-14"), custodian.Verified, "R1", 1},
		{"case and diacritics differ", query("JOSE", "garcia-lopez", "1980-07-14"), custodian.Verified, "R1", 1},
		{"vietnamese unaccented", query("minh", "Nguyen", "1975-03-02"), custodian.Verified, "R2", 1},
		{"apostrophe and accent", query("Sean", "O Brien", "1988-12-24"), custodian.Verified, "R9", 1},
		{"surrounding spaces", query(" José ", "García  López", " 1980-07-14 "), custodian.Verified, "R1", 1},
		{"twin one", query("Anna", "Muller", "1990-01-01"), custodian.Verified, "R3", 1},
		{"twin two", query("Hanna", "Mueller", "1990-01-01"), custodian.NoMatch, "", 0}, // ue is not ü: exact means exact
		{"same names and dob", query("John", "Smith", "1965-05-05"), custodian.Ambiguous, "", 2},
		{"senior", query("Robert", "Johnson", "1950-09-09"), custodian.Verified, "R7", 1},
		{"junior", query("Robert", "Johnson", "1976-10-10"), custodian.Verified, "R8", 1},
		{"wrong dob", query("José", "García López", "1980-07-15"), custodian.NoMatch, "", 0},
		{"partial surname", query("José", "García", "1980-07-14"), custodian.NoMatch, "", 0},
		{"nickname", query("Bob", "Johnson", "1950-09-09"), custodian.NoMatch, "", 0},
		{"nobody", query("Ada", "Lovelace", "1915-12-10"), custodian.NoMatch, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lookup(t, s, registry, tt.q)
			if got.Outcome != tt.outcome || got.RecordID != tt.id || got.Candidates != tt.candidates {
				t.Errorf("got %+v, want %s %q candidates %d", got, tt.outcome, tt.id, tt.candidates)
			}
			if !slices.Equal(got.Agreed, []string{"first_name", "last_name", "dob"}) {
				t.Errorf("Agreed = %v", got.Agreed)
			}
		})
	}
}

func TestExactTwinsWithSameNames(t *testing.T) {
	// Twins recorded with the same first name (a data-entry error, or a
	// standard that compares initials) must never verify.
	s, _ := match.NewExact([]string{"last_name", "dob", "street"})
	registry := []custodian.Record{
		rec("R1", "Ana", "Silva", "2001-06-01", "street", "12 Oak St"),
		rec("R2", "Bia", "Silva", "2001-06-01", "street", "12 Oak St"),
	}
	got := lookup(t, s, registry, map[string]string{"last_name": "Silva", "dob": "2001-06-01", "street": "12 OAK ST."})
	if got.Outcome != custodian.Ambiguous || got.Candidates != 2 || got.RecordID != "" {
		t.Errorf("got %+v, want ambiguous over 2", got)
	}
}

func TestExactDecideRechecks(t *testing.T) {
	s, _ := match.NewExact(nil)
	q := query("José", "García", "1980-07-14")
	r1 := rec("R1", "José", "García", "1980-07-14")
	cands := []custodian.Record{
		r1,
		r1, // found under two keys
		rec("R2", "Josefa", "García", "1980-07-14"),                 // under the same key only by collision
		rec("R3", "José", "García", "1980-07-41"),                   // malformed dob never agrees
		{ID: "R4", Values: map[string]string{"first_name": "José"}}, // incomplete
	}
	got := s.Decide(q, cands)
	if got.Outcome != custodian.Verified || got.RecordID != "R1" || got.Candidates != 1 {
		t.Errorf("got %+v, want verified R1", got)
	}
	if got := s.Decide(q, nil); got.Outcome != custodian.NoMatch || got.RecordID != "" {
		t.Errorf("no candidates: got %+v", got)
	}
	if got := s.Decide(map[string]string{"first_name": "José"}, cands); got.Outcome != custodian.NoMatch {
		t.Errorf("invalid query: got %+v, want no_match", got)
	}
}

func TestExactQueryErrors(t *testing.T) {
	s, _ := match.NewExact(nil)
	tests := []struct {
		name  string
		q     map[string]string
		field string
	}{
		{"missing dob", map[string]string{"first_name": "A", "last_name": "B"}, "subject.dob"},
		{"empty first name", query("", "B", "1980-01-01"), "subject.first_name"},
		{"blank last name", query("A", "  ", "1980-01-01"), "subject.last_name"},
		{"punctuation only", query("A", "--", "1980-01-01"), "subject.last_name"},
		{"malformed dob", query("A", "B", "01/02/1980"), "subject.dob"},
		{"impossible dob", query("A", "B", "1980-02-30"), "subject.dob"},
		{"nil query", nil, "subject.first_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := s.QueryKeys(tt.q)
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid || ce.Field != tt.field {
				t.Fatalf("QueryKeys = %v, %v; want EInvalid on %s", keys, err, tt.field)
			}
			for _, v := range tt.q {
				if v != "" && strings.TrimSpace(v) != "" && strings.Contains(ce.Message, v) {
					t.Errorf("error message %q repeats a value", ce.Message)
				}
			}
		})
	}
}

func TestExactKeys(t *testing.T) {
	s, _ := match.NewExact(nil)
	k1, err := s.QueryKeys(query("José", "García López", "1980-07-14"))
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := s.QueryKeys(query("JOSE", "garcia-lopez", "1980-07-14"))
	rk := s.RecordKeys(rec("R1", "José", "García López", "1980-07-14"))
	if len(k1) != 1 || !slices.Equal(k1, k2) || !slices.Equal(k1, rk) {
		t.Fatalf("keys differ: %v %v %v", k1, k2, rk)
	}
	if len(k1[0]) != 64 || strings.Trim(k1[0], "0123456789abcdef") != "" {
		t.Errorf("key %q is not hex SHA-256", k1[0])
	}
	if strings.Contains(k1[0], "jose") {
		t.Errorf("key carries the name")
	}
	other, _ := s.QueryKeys(query("José", "García López", "1980-07-15"))
	if slices.Equal(k1, other) {
		t.Errorf("different dob, same key")
	}
	// A different standard over the same values keys differently.
	s2, _ := match.NewExact([]string{"first_name", "last_name", "dob", "zip"})
	k3, _ := s2.QueryKeys(map[string]string{"first_name": "José", "last_name": "García López", "dob": "1980-07-14", "zip": "1"})
	if slices.Equal(k1, k3) {
		t.Errorf("keys of different standards collide")
	}
	if got := s.RecordKeys(rec("R2", "José", "", "1980-07-14")); len(got) != 0 {
		t.Errorf("record without last name has keys %v", got)
	}
	if got := s.RecordKeys(rec("R3", "José", "García", "14/07/1980")); len(got) != 0 {
		t.Errorf("record with malformed dob has keys %v", got)
	}
}

func TestNewExact(t *testing.T) {
	s, err := match.NewExact(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != "exact:v1:first_name,last_name,dob" {
		t.Errorf("Version = %q", s.Version())
	}
	req := s.Required()
	req[0] = "changed"
	if s.Required()[0] != "first_name" {
		t.Error("Required shares its slice")
	}
	s, err = match.NewExact([]string{"record_id", "last_name", "street", "zip"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != "exact:v1:record_id,last_name,street,zip" {
		t.Errorf("Version = %q", s.Version())
	}
	// record_id falls back to Record.ID.
	r := custodian.Record{ID: "R0000001", Values: map[string]string{"last_name": "Diallo", "street": "12 Oak St", "zip": "02139"}}
	got := lookup(t, s, []custodian.Record{r}, map[string]string{"record_id": "r0000001", "last_name": "diallo", "street": "12 oak st", "zip": "02139"})
	if got.Outcome != custodian.Verified || got.RecordID != "R0000001" {
		t.Errorf("got %+v", got)
	}
	for _, bad := range [][]string{{"first_name", "first_name"}, {""}, {"a,b"}, {"dob:x"}, {"name with space"}} {
		if _, err := match.NewExact(bad); custodian.ErrorCode(err) != custodian.EInvalid {
			t.Errorf("NewExact(%q) err = %v, want EInvalid", bad, err)
		}
	}
}

func TestIsDate(t *testing.T) {
	for id, want := range map[string]bool{"dob": true, "DOB": true, "date_of_birth": true, "issue_date": true, "spouse_dob": true, "first_name": false, "update": false, "dobson": false} {
		if got := match.IsDate(id); got != want {
			t.Errorf("IsDate(%q) = %v", id, got)
		}
	}
}
