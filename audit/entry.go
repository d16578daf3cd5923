package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/merkle/rfc6962"
)

// MaxEntrySize is the largest encoded entry: tlog-tiles entry bundles prefix
// each entry with a big-endian uint16 length.
const MaxEntrySize = 1<<16 - 1

// MaxKindLen bounds Entry.Kind.
const MaxKindLen = 64

// Entry is the envelope of every log entry; Encode gives its canonical bytes
// (the leaf). Data must never hold raw personal values: use ValueDigest.
type Entry struct {
	Index uint64          `json:"index"` // position in the log, so reorders and deletions are caught
	Time  time.Time       `json:"time"`
	Kind  string          `json:"kind"` // e.g. "lookup", "review", "policy", "agency", "block"
	Data  json.RawMessage `json:"data"`
}

// Encode returns the canonical bytes of e:
//
//	{"index":<n>,"time":"<RFC 3339 UTC, nanoseconds, trailing zeros trimmed>","kind":"<kind>","data":<compact JSON>}
//
// Kind is 1 to 64 characters of [a-z0-9_.-]; Data is valid UTF-8 JSON and is
// compacted but otherwise kept byte for byte. The result is at most
// MaxEntrySize bytes. The encoding is written by hand, not by encoding/json,
// so that it cannot drift with the JSON library: a leaf must hash the same way
// for as long as the log exists.
func Encode(e Entry) ([]byte, error) {
	p, err := Prepare(e)
	if err != nil {
		return nil, err
	}
	return p.Body(e.Index)
}

// Prepared is an entry encoded up to its index, so that a store can assign
// the index inside its write transaction at the cost of a copy: everything
// that validates or compacts happens in Prepare, outside the transaction.
type Prepared struct {
	tail []byte // `,"time":…,"kind":…,"data":…}`
}

// Prepare validates e (all but its Index) and encodes it as Encode does.
func Prepare(e Entry) (Prepared, error) {
	if !validKind(e.Kind) {
		return Prepared{}, custodian.FieldError("kind", "entry kind must be 1 to %d characters of a-z, 0-9, '_', '.', '-'", MaxKindLen)
	}
	if e.Time.IsZero() {
		return Prepared{}, custodian.FieldError("time", "entry time is missing")
	}
	t := e.Time.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return Prepared{}, custodian.FieldError("time", "entry time is out of range")
	}
	if len(e.Data) == 0 || !utf8.Valid(e.Data) {
		return Prepared{}, custodian.FieldError("data", "entry data must be valid UTF-8 JSON")
	}
	b := make([]byte, 0, 64+len(e.Kind)+len(e.Data))
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","kind":"`...)
	b = append(b, e.Kind...)
	b = append(b, `","data":`...)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, e.Data); err != nil {
		return Prepared{}, custodian.FieldError("data", "entry data must be valid JSON")
	}
	buf.WriteByte('}')
	return Prepared{tail: buf.Bytes()}, nil
}

// Body returns the canonical bytes of the prepared entry at index i.
func (p Prepared) Body(i uint64) ([]byte, error) {
	b := make([]byte, 0, 32+len(p.tail))
	b = append(b, `{"index":`...)
	b = strconv.AppendUint(b, i, 10)
	b = append(b, p.tail...)
	if len(b) > MaxEntrySize {
		return nil, custodian.Errorf(custodian.ETooLarge, "encoded entry is %d bytes, over the %d-byte limit", len(b), MaxEntrySize)
	}
	return b, nil
}

func validKind(k string) bool {
	if len(k) == 0 || len(k) > MaxKindLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Decode parses an encoded entry. It accepts only the canonical encoding, so
// that one entry has exactly one leaf: any body Encode would not produce
// (reordered keys, extra spaces, unknown fields) is an EInvalid error.
func Decode(body []byte) (Entry, error) {
	if len(body) > MaxEntrySize {
		return Entry{}, custodian.Errorf(custodian.EInvalid, "entry is over the %d-byte limit", MaxEntrySize)
	}
	var raw struct {
		Index *uint64         `json:"index"`
		Time  *string         `json:"time"`
		Kind  *string         `json:"kind"`
		Data  json.RawMessage `json:"data"`
	}
	// Unknown fields, duplicates or extra spaces are caught below by the
	// comparison with the canonical encoding.
	if err := json.Unmarshal(body, &raw); err != nil {
		return Entry{}, custodian.Errorf(custodian.EInvalid, "entry is not a JSON envelope")
	}
	if raw.Index == nil || raw.Time == nil || raw.Kind == nil || raw.Data == nil {
		return Entry{}, custodian.Errorf(custodian.EInvalid, "entry lacks index, time, kind or data")
	}
	t, err := time.Parse(time.RFC3339Nano, *raw.Time)
	if err != nil {
		return Entry{}, custodian.FieldError("time", "entry time is not RFC 3339")
	}
	e := Entry{Index: *raw.Index, Time: t.UTC(), Kind: *raw.Kind, Data: raw.Data}
	canon, err := Encode(e)
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(canon, body) {
		return Entry{}, custodian.Errorf(custodian.EInvalid, "entry is not in canonical encoding")
	}
	return e, nil
}

// LeafHash is the RFC 6962 leaf hash of an encoded entry: SHA-256(0x00 || body).
func LeafHash(body []byte) []byte {
	return rfc6962.DefaultHasher.HashLeaf(body)
}

// valueDigestDomain separates these MACs from any other use of the secret.
const valueDigestDomain = "custodian/audit/value-digest/v1\x00"

// ValueDigest is the digest of a released personal value kept in entries
// instead of the value: hex HMAC-SHA256 under the custodian's secret over
// (lookupID, field, value). Each part is prefixed by its 8-byte big-endian
// length, so no two different triples share an input ("a","bc" vs "ab","c").
// Keyed, so a reader of the log cannot confirm a guessed value; per lookup,
// so equal values in two lookups cannot be linked.
func ValueDigest(secret []byte, lookupID, field, value string) string {
	return NewDigester(secret).Value(lookupID, field, value)
}

// Digester computes ValueDigest under one secret, reusing its keyed MACs
// (a lookup takes several digests; a new MAC per digest cost more than the
// digest). It is safe for concurrent use.
type Digester struct{ pool sync.Pool }

// NewDigester returns a Digester for secret.
func NewDigester(secret []byte) *Digester {
	secret = bytes.Clone(secret)
	return &Digester{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}}
}

// Value is ValueDigest(secret, lookupID, field, value).
func (d *Digester) Value(lookupID, field, value string) string {
	m := d.pool.Get().(hash.Hash)
	defer d.pool.Put(m)
	m.Reset()
	m.Write([]byte(valueDigestDomain))
	var n [8]byte
	for _, s := range [...]string{lookupID, field, value} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		io.WriteString(m, s)
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}
