package audit_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
)

func TestEncodeIsCanonical(t *testing.T) {
	loc := time.FixedZone("EST", -5*3600)
	e := audit.Entry{
		Index: 42,
		Time:  time.Date(2025, 3, 1, 7, 0, 0, 120000000, loc),
		Kind:  "lookup",
		Data:  json.RawMessage(`{ "agency" : "ORI0001", "note": "<a&b>", "fields": [ "street" ] }`),
	}
	got, err := audit.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"index":42,"time":"2025-03-01T12:00:00.12Z","kind":"lookup","data":{"agency":"ORI0001","note":"<a&b>","fields":["street"]}}`
	if string(got) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	d, err := audit.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if d.Index != 42 || !d.Time.Equal(e.Time) || d.Time.Location() != time.UTC || d.Kind != "lookup" {
		t.Fatalf("Decode = %+v", d)
	}
	again, err := audit.Encode(d)
	if err != nil || !bytes.Equal(again, got) {
		t.Fatalf("Encode(Decode(b)) = %s, %v; want b", again, err)
	}
	if h := audit.LeafHash(got); len(h) != sha256.Size {
		t.Fatalf("LeafHash length %d", len(h))
	} else if want := sha256.Sum256(append([]byte{0}, got...)); !bytes.Equal(h, want[:]) {
		t.Fatal("LeafHash is not SHA-256(0x00 || body)")
	}
}

func TestEncodeRejects(t *testing.T) {
	ok := testEntry(1)
	tests := []struct {
		name  string
		edit  func(*audit.Entry)
		code  string
		field string
	}{
		{"empty kind", func(e *audit.Entry) { e.Kind = "" }, custodian.EInvalid, "kind"},
		{"kind with quote", func(e *audit.Entry) { e.Kind = `a"b` }, custodian.EInvalid, "kind"},
		{"upper-case kind", func(e *audit.Entry) { e.Kind = "Lookup" }, custodian.EInvalid, "kind"},
		{"long kind", func(e *audit.Entry) { e.Kind = strings.Repeat("k", 65) }, custodian.EInvalid, "kind"},
		{"zero time", func(e *audit.Entry) { e.Time = time.Time{} }, custodian.EInvalid, "time"},
		{"year 10000", func(e *audit.Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, custodian.EInvalid, "time"},
		{"no data", func(e *audit.Entry) { e.Data = nil }, custodian.EInvalid, "data"},
		{"bad json", func(e *audit.Entry) { e.Data = json.RawMessage(`{"a":`) }, custodian.EInvalid, "data"},
		{"bad utf8", func(e *audit.Entry) { e.Data = json.RawMessage("\"\xff\"") }, custodian.EInvalid, "data"},
		{"too large", func(e *audit.Entry) { e.Data = json.RawMessage(`"` + strings.Repeat("a", 1<<16) + `"`) }, custodian.ETooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.edit(&e)
			_, err := audit.Encode(e)
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != tt.code || ce.Field != tt.field {
				t.Fatalf("Encode error = %v, want code %s field %q", err, tt.code, tt.field)
			}
		})
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	good, err := audit.Encode(testEntry(7))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"space":          strings.Replace(string(good), `"index":7`, `"index": 7`, 1),
		"key order":      `{"time":"2025-03-01T12:00:00.007Z","index":7,"kind":"lookup","data":{}}`,
		"unknown field":  `{"index":7,"time":"2025-03-01T12:00:00.007Z","kind":"lookup","data":{},"x":1}`,
		"missing data":   `{"index":7,"time":"2025-03-01T12:00:00.007Z","kind":"lookup"}`,
		"local time":     `{"index":7,"time":"2025-03-01T07:00:00.007-05:00","kind":"lookup","data":{}}`,
		"trailing zeros": `{"index":7,"time":"2025-03-01T12:00:00.0070Z","kind":"lookup","data":{}}`,
		"index string":   `{"index":"7","time":"2025-03-01T12:00:00.007Z","kind":"lookup","data":{}}`,
		"leading zero":   `{"index":07,"time":"2025-03-01T12:00:00.007Z","kind":"lookup","data":{}}`,
		"trailing data":  string(good) + ` `,
		"two values":     string(good) + `{}`,
		"empty":          ``,
		"not json":       `index=7`,
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := audit.Decode([]byte(b)); custodian.ErrorCode(err) != custodian.EInvalid {
				t.Fatalf("Decode(%q) error = %v, want EInvalid", b, err)
			}
		})
	}
	if _, err := audit.Decode([]byte(`{"index":7,"time":"2025-03-01T12:00:00.007Z","kind":"lookup","data":{}}`)); err != nil {
		t.Fatalf("canonical body rejected: %v", err)
	}
}

func TestValueDigest(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	d := audit.ValueDigest(secret, "lk-1", "street", "1 Main St")
	if len(d) != 64 || strings.ToLower(d) != d {
		t.Fatalf("digest %q is not lower-case hex SHA-256", d)
	}
	if audit.ValueDigest(secret, "lk-1", "street", "1 Main St") != d {
		t.Fatal("not deterministic")
	}
	differ := map[string]string{
		"other secret": audit.ValueDigest([]byte("another secret"), "lk-1", "street", "1 Main St"),
		"other lookup": audit.ValueDigest(secret, "lk-2", "street", "1 Main St"),
		"other field":  audit.ValueDigest(secret, "lk-1", "city", "1 Main St"),
		"other value":  audit.ValueDigest(secret, "lk-1", "street", "2 Main St"),
		"shifted":      audit.ValueDigest(secret, "lk-1s", "treet", "1 Main St"),
		"shifted 2":    audit.ValueDigest(secret, "lk-1", "stree", "t1 Main St"),
	}
	for name, o := range differ {
		if o == d {
			t.Errorf("%s: same digest", name)
		}
	}
	if audit.ValueDigest(secret, "a", "bc", "") == audit.ValueDigest(secret, "ab", "c", "") {
		t.Error("framing is ambiguous")
	}
}

// A Digester reused, also from several goroutines at once, gives exactly the
// documented construction: HMAC-SHA256(domain || len||id || len||field ||
// len||value), in lower-case hex.
func TestDigesterReuse(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	want := func(id, field, value string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("custodian/audit/value-digest/v1\x00"))
		for _, s := range []string{id, field, value} {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(s)))
			m.Write(n[:])
			m.Write([]byte(s))
		}
		return hex.EncodeToString(m.Sum(nil))
	}
	d := audit.NewDigester(secret)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id, field, value := fmt.Sprintf("lk-%d", g), fmt.Sprintf("f%d", i%7), fmt.Sprintf("value %d", i)
				if got := d.Value(id, field, value); got != want(id, field, value) {
					t.Errorf("Value(%q, %q, %q) = %s, want %s", id, field, value, got, want(id, field, value))
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
