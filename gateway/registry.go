package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/match"
)

// Limits on a registry file.
const (
	MaxColumns     = 128
	MaxCellLen     = 4096
	maxImportLines = 1 << 31
)

var columnName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// RegistryReader reads a registry CSV with a header row. Next returns each
// record in turn and io.EOF at the end; a malformed row is an error naming
// its line (never its content).
type RegistryReader struct {
	Fields []string
	r      *csv.Reader
	keyCol int
	dobCol int
	digest hash.Hash
}

// NewRegistryReader reads and checks the header.
func NewRegistryReader(r io.Reader) (*RegistryReader, error) {
	h := sha256.New()
	cr := csv.NewReader(bufio.NewReaderSize(io.TeeReader(r, h), 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, custodian.Errorf(custodian.EInvalid, "line 1: the file is empty; a header row is required")
	}
	if err != nil {
		return nil, custodian.Errorf(custodian.EInvalid, "line 1: %s", csvProblem(err))
	}
	if len(header) > MaxColumns {
		return nil, custodian.Errorf(custodian.EInvalid, "line 1: more than %d columns", MaxColumns)
	}
	rr := &RegistryReader{r: cr, keyCol: -1, dobCol: -1, digest: h}
	seen := map[string]bool{}
	for i, c := range header {
		c = strings.TrimSpace(strings.TrimPrefix(c, "\ufeff"))
		if !columnName.MatchString(c) {
			return nil, custodian.Errorf(custodian.EInvalid, "line 1: column %d: names are lower-case letters, digits and _, starting with a letter", i+1)
		}
		if seen[c] {
			return nil, custodian.Errorf(custodian.EInvalid, "line 1: column %q appears twice", c)
		}
		seen[c] = true
		switch c {
		case custodian.KeyField:
			rr.keyCol = i
		case "dob":
			rr.dobCol = i
		}
		rr.Fields = append(rr.Fields, c)
	}
	if rr.keyCol < 0 {
		return nil, custodian.Errorf(custodian.EInvalid, "line 1: the key column %s is required", custodian.KeyField)
	}
	return rr, nil
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable CSV"
}

// Next returns the next record.
func (rr *RegistryReader) Next() (custodian.Record, error) {
	row, err := rr.r.Read()
	if errors.Is(err, io.EOF) {
		return custodian.Record{}, io.EOF
	}
	if err != nil {
		line := 0
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		}
		return custodian.Record{}, custodian.Errorf(custodian.EInvalid, "line %d: %s", line, csvProblem(err))
	}
	line, _ := rr.r.FieldPos(0)
	rec := custodian.Record{Values: make(map[string]string, len(row))}
	for i, v := range row {
		if len(v) > MaxCellLen {
			return rec, custodian.Errorf(custodian.EInvalid, "line %d: column %s: longer than %d bytes", line, rr.Fields[i], MaxCellLen)
		}
		if !utf8.ValidString(v) {
			return rec, custodian.Errorf(custodian.EInvalid, "line %d: column %s: not valid UTF-8", line, rr.Fields[i])
		}
		rec.Values[rr.Fields[i]] = strings.TrimSpace(v)
	}
	rec.ID = rec.Values[custodian.KeyField]
	if rec.ID == "" {
		return rec, custodian.Errorf(custodian.EInvalid, "line %d: %s is empty", line, custodian.KeyField)
	}
	if rr.dobCol >= 0 && rec.Values["dob"] != "" {
		if _, err := match.ParseDate(rec.Values["dob"]); err != nil {
			return rec, custodian.Errorf(custodian.EInvalid, "line %d: dob: not a date YYYY-MM-DD", line)
		}
	}
	return rec, nil
}

// Digest is the SHA-256 of the bytes read so far (the whole file at EOF).
func (rr *RegistryReader) Digest() string { return hex.EncodeToString(rr.digest.Sum(nil)) }

// Import loads a registry CSV: new records are added, existing ones (by
// record_id) updated in place. All or nothing: a malformed row aborts the
// whole import with its line number, and nothing is applied.
func (s *Service) Import(ctx context.Context, r io.Reader) (int, error) {
	rr, err := NewRegistryReader(r)
	if err != nil {
		return 0, err
	}
	if err := s.EnsureKeys(ctx); err != nil {
		return 0, err
	}
	_, keys := s.keyFunc()
	n, idx, err := s.store.ImportRecords(ctx, rr.Fields, rr.Next, keys, func(n int) any {
		return map[string]any{"action": "import", "records": n, "columns": rr.Fields, "file_sha256": rr.Digest()}
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("registry imported", "records", n, "log_index", idx)
	// The prepared copy is stale now, and may hold values the import
	// replaced: it is not kept until the next run notices.
	s.dropPreparedRegistry()
	return n, nil
}
