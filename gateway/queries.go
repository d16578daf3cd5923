package gateway

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/custodian-project/custodian"
)

// QueryRow is one row of a query file: its line number, its id (the id
// column's value, or the line number), and the subject's identifiers.
type QueryRow struct {
	Line    int
	ID      string
	Subject map[string]string
}

// QueryReader reads a CSV file of queries (a dry run's or a bulk job's):
// a header row, then one subject per row. Columns with the standard names
// (first_name, last_name, dob, street, zip, …) are read as they are; a
// mapping renames others, and may join several columns with spaces
// ("street_number+address_1" → "street"). A date of birth written
// YYYYMMDD is read as YYYY-MM-DD.
type QueryReader struct {
	r       *csv.Reader
	sources [][]int  // per target: the columns joined
	targets []string // identifiers
	idCol   int      // -1: the line number is the id
	line    int
}

// MaxQueryField bounds one value of a query file.
const MaxQueryField = 1024

// ParseQueryMap parses mapping specs "source=target" or "a+b=target",
// comma-separated (a repeated --map flag's values).
func ParseQueryMap(specs []string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			src, dst, ok := strings.Cut(part, "=")
			src, dst = strings.TrimSpace(src), strings.TrimSpace(dst)
			if !ok || src == "" || dst == "" {
				return nil, custodian.FieldError("map", "%q is not source=target", part)
			}
			if _, dup := m[dst]; dup {
				return nil, custodian.FieldError("map", "%q is mapped twice", dst)
			}
			var cols []string
			for _, c := range strings.Split(src, "+") {
				if c = strings.TrimSpace(c); c == "" {
					return nil, custodian.FieldError("map", "%q joins an empty column name", part)
				}
				cols = append(cols, c)
			}
			m[dst] = cols
		}
	}
	return m, nil
}

// standardQueryColumns are read under their own names unless mapped.
var standardQueryColumns = []string{"first_name", "middle_name", "last_name", "suffix", "dob", "sex", "street", "city", "state", "zip"}

// NewQueryReader reads the header of r. idColumn names the column whose
// value identifies each row in the output ("" for row_id when present,
// else the line number).
func NewQueryReader(r io.Reader, mapping map[string][]string, idColumn string) (*QueryReader, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, custodian.FieldError("queries", "the file is empty: it needs a header row")
	}
	if err != nil {
		return nil, custodian.FieldError("queries", "line 1: %v", csvError(err))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; dup {
			return nil, custodian.FieldError("queries", "line 1: column %q appears twice", h)
		}
		col[h] = i
	}
	q := &QueryReader{r: cr, idCol: -1}
	targets := slices.Clone(standardQueryColumns)
	for t := range mapping {
		if !slices.Contains(targets, t) {
			return nil, custodian.FieldError("map", "%q is not an identifier a query carries (%s)", t, strings.Join(standardQueryColumns, ", "))
		}
	}
	for _, t := range targets {
		srcs, mapped := mapping[t]
		if !mapped {
			if _, ok := col[t]; !ok {
				continue
			}
			srcs = []string{t}
		}
		var idx []int
		for _, s := range srcs {
			i, ok := col[s]
			if !ok {
				return nil, custodian.FieldError("map", "column %q is not in the file's header", s)
			}
			idx = append(idx, i)
		}
		q.targets = append(q.targets, t)
		q.sources = append(q.sources, idx)
	}
	if len(q.targets) == 0 {
		return nil, custodian.FieldError("queries", "no column names an identifier (%s); map the file's columns with --map", strings.Join(standardQueryColumns, ", "))
	}
	if idColumn == "" {
		idColumn = "row_id"
		if _, ok := col[idColumn]; !ok {
			idColumn = ""
		}
	}
	if idColumn != "" {
		i, ok := col[idColumn]
		if !ok {
			return nil, custodian.FieldError("id", "column %q is not in the file's header", idColumn)
		}
		q.idCol = i
	}
	q.line = 1
	return q, nil
}

// Next returns the next row, io.EOF at the end, or a *custodian.Error
// naming the line of a malformed row (the reader can go on after it).
func (q *QueryReader) Next() (QueryRow, error) {
	rec, err := q.r.Read()
	q.line++
	if errors.Is(err, io.EOF) {
		return QueryRow{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			q.line = pe.Line
		}
		return QueryRow{Line: q.line}, custodian.FieldError("queries", "line %d: %v", q.line, csvError(err))
	}
	if line, _ := q.r.FieldPos(0); line > 0 {
		q.line = line
	}
	row := QueryRow{Line: q.line, ID: fmt.Sprint(q.line), Subject: make(map[string]string, len(q.targets))}
	if q.idCol >= 0 {
		if q.idCol >= len(rec) {
			return row, custodian.FieldError("queries", "line %d: no id column", q.line)
		}
		row.ID = strings.TrimSpace(rec[q.idCol])
	}
	for i, t := range q.targets {
		var parts []string
		for _, c := range q.sources[i] {
			if c < len(rec) {
				if v := strings.TrimSpace(rec[c]); v != "" {
					parts = append(parts, v)
				}
			}
		}
		v := strings.Join(parts, " ")
		if len(v) > MaxQueryField {
			return row, custodian.FieldError("queries", "line %d: %s is longer than %d bytes", q.line, t, MaxQueryField)
		}
		if t == "dob" && len(v) == 8 && strings.Trim(v, "0123456789") == "" {
			v = v[:4] + "-" + v[4:6] + "-" + v[6:]
		}
		if v != "" {
			row.Subject[t] = v
		}
	}
	return row, nil
}

// csvError is a CSV error without the input's text.
func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable CSV"
}
