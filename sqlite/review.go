package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
)

const qInsertReview = `INSERT INTO review_items(lookup_id, field, state, rules, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`

const reviewCols = `r.lookup_id, l.agency_id, l.purpose, r.field, r.rules, r.reason, r.state, r.reviewer, r.note, r.created_at, r.decided_at`

func scanReview(sc scanner) (custodian.ReviewItem, error) {
	var r custodian.ReviewItem
	var rules, created string
	var decided sql.NullString
	if err := sc.Scan(&r.LookupID, &r.AgencyID, &r.Purpose, &r.Field, &rules, &r.Reason, &r.State, &r.Reviewer, &r.Note, &created, &decided); err != nil {
		return r, err
	}
	r.CreatedAt = parseTS(created)
	r.DecidedAt = parseNullTS(decided)
	return r, json.Unmarshal([]byte(rules), &r.Rules)
}

// Reviews lists review items in a state ("" for all), oldest first.
func (s *Store) Reviews(ctx context.Context, state custodian.ReviewState, limit int) ([]custodian.ReviewItem, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+reviewCols+` FROM review_items r JOIN lookups l ON l.id = r.lookup_id
		WHERE (? = '' OR r.state = ?) ORDER BY r.created_at, r.lookup_id, r.field LIMIT ?`, state, state, limit)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	defer rows.Close()
	var out []custodian.ReviewItem
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, fmt.Errorf("reviews: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecideReview loads a pending review item with its lookup and registry
// record inside a write transaction, lets decide settle them (mutating the
// lookup and item and returning the log entry), then stores both and appends
// the entry. An item that is no longer pending is a conflict; a decision
// made with blocks or agencies that changed since generation rulesGen is
// refused with custodian.ErrStale.
func (s *Store) DecideReview(ctx context.Context, lookupID, field string, rulesGen int64,
	decide func(l *custodian.Lookup, item *custodian.ReviewItem, rec custodian.Record) (entry any, err error)) (custodian.Lookup, error) {
	var out custodian.Lookup
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkGenerations(tx, rulesGen, -1); err != nil {
			return err
		}
		item, err := scanReview(tx.QueryRow(`SELECT `+reviewCols+` FROM review_items r JOIN lookups l ON l.id = r.lookup_id WHERE r.lookup_id = ? AND r.field = ?`, lookupID, field))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("review item")
		}
		if err != nil {
			return err
		}
		if item.State != custodian.ReviewPending {
			return custodian.Errorf(custodian.EConflict, "this field was already %s", item.State)
		}
		l, err := getLookupTx(tx, lookupID)
		if err != nil {
			return err
		}
		rec, err := scanRecord(tx.QueryRow(`SELECT record_id, data FROM records WHERE record_id = ?`, l.RecordID))
		if errors.Is(err, sql.ErrNoRows) {
			rec = custodian.Record{ID: l.RecordID} // removed since: decide withholds
		} else if err != nil {
			return err
		}
		entry, err := decide(&l, &item, rec)
		if err != nil {
			return err
		}
		idx, err := s.appendEntry(tx, "review", entry)
		if err != nil {
			return err
		}
		_ = idx
		var decided any
		if item.DecidedAt != nil {
			decided = ts(*item.DecidedAt)
		}
		if _, err := tx.Exec(`UPDATE review_items SET state = ?, reviewer = ?, note = ?, decided_at = ? WHERE lookup_id = ? AND field = ?`,
			item.State, item.Reviewer, item.Note, decided, lookupID, field); err != nil {
			return err
		}
		js, err := jsonStrings(l.Released, l.Pending, withheldOverrides(l.Decisions, l.Withheld))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE lookups SET released = ?, pending = ?, withheld = ?, status = ? WHERE id = ?`, js[0], js[1], js[2], l.Status, l.ID); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("decide review: %w", err)
	}
	return out, nil
}
