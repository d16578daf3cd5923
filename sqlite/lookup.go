package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
)

// CreateLookup stores a decided lookup, its held fields and its log entry
// in one transaction, and sets l.LogIndex. Nothing may be released to the
// agency unless this returns nil. The lookup was decided with the policy,
// blocks and agencies of generation rulesGen and the registry of generation
// registryGen; if either has moved since, it fails with custodian.ErrStale and
// stores nothing, so that no decision is recorded against a superseded
// policy, block list or registry.
func (s *Store) CreateLookup(ctx context.Context, l *custodian.Lookup, reviews []custodian.ReviewItem, entry any, rulesGen, registryGen int64) error {
	// Serialise outside the writer: it is the one serial step of every lookup.
	raw, err := json.Marshal(entry)
	if err != nil {
		return fmt.Errorf("create lookup: %w", err)
	}
	prepared, err := audit.Prepare(audit.Entry{Time: l.CreatedAt, Kind: "lookup", Data: raw})
	if err != nil {
		return fmt.Errorf("create lookup: %w", err)
	}
	js, err := jsonStrings(l.Request, packDecisions(l.Decisions), l.Released, l.Pending, withheldOverrides(l.Decisions, l.Withheld))
	if err != nil {
		return fmt.Errorf("create lookup: %w", err)
	}
	rules := make([]string, len(reviews))
	for i, r := range reviews {
		b, err := json.Marshal(r.Rules)
		if err != nil {
			return fmt.Errorf("create lookup: %w", err)
		}
		rules[i] = string(b)
	}
	created := ts(l.CreatedAt)
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkGenerations(tx, rulesGen, registryGen); err != nil {
			return err
		}
		idx, err := s.appendPrepared(tx, prepared)
		if err != nil {
			return err
		}
		l.LogIndex = idx
		if _, err := s.texec(tx, qInsertLookup, l.ID, l.AgencyID, l.Request.Purpose, js[0], l.Outcome, l.RecordID,
			js[1], js[2], js[3], js[4], l.Status, l.PolicyVersion, l.LogIndex, created); err != nil {
			return err
		}
		for i, r := range reviews {
			if _, err := s.texec(tx, qInsertReview, r.LookupID, r.Field, r.State, rules[i], r.Reason, ts(r.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create lookup: %w", err)
	}
	return nil
}

const qInsertLookup = `INSERT INTO lookups(id, agency_id, purpose, request, outcome, record_id, decisions, released, pending, withheld, status, policy_version, log_index, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func jsonStrings(vs ...any) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

const lookupCols = `id, agency_id, request, outcome, record_id, decisions, released, pending, withheld, status, policy_version, log_index, created_at`

func scanLookup(sc scanner) (custodian.Lookup, error) {
	var l custodian.Lookup
	var req, dec, rel, pen, wh, created string
	if err := sc.Scan(&l.ID, &l.AgencyID, &req, &l.Outcome, &l.RecordID, &dec, &rel, &pen, &wh, &l.Status, &l.PolicyVersion, &l.LogIndex, &created); err != nil {
		return l, err
	}
	l.CreatedAt = parseTS(created)
	for _, p := range []struct {
		s string
		v any
	}{{req, &l.Request}, {rel, &l.Released}, {pen, &l.Pending}} {
		if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
			return l, err
		}
	}
	return l, unpackLookup(&l, dec, wh)
}

// Lookup returns one lookup by id, once what it read is on disk (its
// released values go to the agency).
func (s *Store) Lookup(ctx context.Context, id string) (custodian.Lookup, error) {
	l, err := scanLookup(s.rrow(ctx, `SELECT `+lookupCols+` FROM lookups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, notFound("lookup")
	}
	if err != nil {
		return l, fmt.Errorf("lookup: %w", err)
	}
	if err := s.wait(ctx); err != nil {
		return custodian.Lookup{}, fmt.Errorf("lookup: %w", err)
	}
	return l, nil
}

func getLookupTx(tx *sql.Tx, id string) (custodian.Lookup, error) {
	l, err := scanLookup(tx.QueryRow(`SELECT `+lookupCols+` FROM lookups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, notFound("lookup")
	}
	return l, err
}
