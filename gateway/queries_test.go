package gateway_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

func readQueries(t *testing.T, src string, mapping map[string][]string) (rows []gateway.QueryRow, rowErrs []error, err error) {
	t.Helper()
	qr, err := gateway.NewQueryReader(strings.NewReader(src), mapping, "")
	if err != nil {
		return nil, nil, err
	}
	for {
		r, err := qr.Next()
		if errors.Is(err, io.EOF) {
			return rows, rowErrs, nil
		}
		if err != nil {
			rowErrs = append(rowErrs, err)
			continue
		}
		rows = append(rows, r)
	}
}

func TestQueryReader(t *testing.T) {
	m, err := gateway.ParseQueryMap([]string{"given_name=first_name,surname=last_name", "street_number+address_1=street,date_of_birth=dob"})
	if err != nil {
		t.Fatal(err)
	}
	rows, rowErrs, err := readQueries(t, "rec_id, given_name, surname, street_number, address_1, date_of_birth\n"+
		"r1, ann, lee, 8, stanley street, 19151111\n"+
		"r2, bo, \"unterminated, 1, x, 1\n", m)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Subject["street"] != "8 stanley street" || rows[0].Subject["dob"] != "1915-11-11" || rows[0].Line != 2 {
		t.Fatalf("rows: %+v", rows)
	}
	if len(rowErrs) != 1 || !strings.Contains(rowErrs[0].Error(), "line 3") || strings.Contains(rowErrs[0].Error(), "unterminated") {
		t.Fatalf("row errors: %v", rowErrs)
	}
	long := "first_name\n" + strings.Repeat("x", gateway.MaxQueryField+1) + "\n"
	if _, rowErrs, _ := readQueries(t, long, nil); len(rowErrs) != 1 || !strings.Contains(rowErrs[0].Error(), "longer than") {
		t.Errorf("an oversized value: %v", rowErrs)
	}
	for _, bad := range [][]string{{"a"}, {"=b"}, {"a="}, {"a+=b"}, {"a=b,c=b"}} {
		if _, err := gateway.ParseQueryMap(bad); custodian.ErrorCode(err) != custodian.EInvalid {
			t.Errorf("map %q: %v", bad, err)
		}
	}
}

// FuzzQueryReader: any query file is read or refused with a user error;
// never a panic, and errors never carry the file's values.
func FuzzQueryReader(f *testing.F) {
	f.Add("row_id,first_name,dob\nq1,Ann,1990-01-01\n")
	f.Add("first_name,last_name\n\"a\"\"b\",c\n")
	f.Add("\ufefffirst_name\r\nZoë\r\n")
	f.Add("dob,dob\n1,2\n")
	f.Fuzz(func(t *testing.T, src string) {
		rows, rowErrs, err := readQueries(t, src, nil)
		for _, e := range append(rowErrs, err) {
			if e == nil {
				continue
			}
			if custodian.ErrorCode(e) != custodian.EInvalid {
				t.Fatalf("error %v is not a user error", e)
			}
		}
		for _, r := range rows {
			for k, v := range r.Subject {
				if v == "" || len(v) > gateway.MaxQueryField {
					t.Fatalf("row %d: %s has %d bytes", r.Line, k, len(v))
				}
			}
		}
	})
}
