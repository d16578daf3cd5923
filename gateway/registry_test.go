package gateway_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
)

func readAll(src string) (int, error) {
	rr, err := gateway.NewRegistryReader(strings.NewReader(src))
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestRegistryReader(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		n         int
		err       string
	}{
		{"ok", "record_id,first_name,dob\nR1,Ann,1990-01-01\nR2,\"Bo, Jr\",\n", 2, ""},
		{"bom", "\ufeffrecord_id,x\nR1,a\n", 1, ""},
		{"empty", "", 0, "line 1: the file is empty"},
		{"no key", "first_name\nAnn\n", 0, "key column record_id"},
		{"bad header", "record_id,First Name\n", 0, "line 1: column 2"},
		{"dup header", "record_id,a,a\n", 0, "appears twice"},
		{"short row", "record_id,a\nR1,x\nR2\n", 1, "line 3"},
		{"bad quote", "record_id,a\nR1,\"x\nR2,y", 0, "line 2"},
		{"empty key", "record_id,a\n,x\n", 0, "line 2: record_id is empty"},
		{"bad date", "record_id,dob\nR1,1990-02-30\n", 0, "line 2: dob"},
		{"invalid utf8", "record_id,a\nR1,\xff\n", 0, "line 2: column a: not valid UTF-8"},
		{"huge cell", "record_id,a\nR1," + strings.Repeat("x", gateway.MaxCellLen+1) + "\n", 0, "line 2: column a: longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := readAll(tc.src)
			if tc.err == "" {
				if err != nil || n != tc.n {
					t.Fatalf("n=%d err=%v", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || custodian.ErrorCode(err) != custodian.EInvalid {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if n != tc.n {
				t.Errorf("read %d records before the error, want %d", n, tc.n)
			}
		})
	}
}

// FuzzRegistryReader: any file is read or refused with a user error naming
// a line; never a panic, never the content.
func FuzzRegistryReader(f *testing.F) {
	f.Add("record_id,first_name,dob\nR1,Ann,1990-01-01\n")
	f.Add("record_id,a\n\"R1\"\"\",b\n")
	f.Add("\ufeffrecord_id\r\nR1\r\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := readAll(src)
		if err != nil {
			if custodian.ErrorCode(err) != custodian.EInvalid || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %v", err)
			}
		}
	})
}
