package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// ErrTampered is matched, with errors.Is, by every error that says the log is
// not what it should be (as opposed to failing to read it): a *VerifyError,
// a checkpoint whose signature or origin does not verify, or a checkpoint
// whose root the stored entries do not reproduce.
var ErrTampered = errors.New("audit log fails verification")

// VerifyError names the first entry at which the log stops being consistent.
// When entries and their stored leaf hashes were rewritten together, the
// first disagreement is a stored tree node or compact-range hash, and Index
// is the first entry that node covers.
type VerifyError struct {
	Index  uint64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit log fails verification at entry %d: %s", e.Index, e.Reason)
}

// Is makes errors.Is(err, ErrTampered) hold for every *VerifyError.
func (e *VerifyError) Is(target error) bool { return target == ErrTampered }

// VerifyReport describes a log that verified.
type VerifyReport struct {
	Size           uint64 // entries re-derived (every stored entry)
	RootHash       []byte // root of the tree of those Size entries
	IntegratedSize uint64 // size the integrator had reached
	CheckpointSize uint64 // size of the latest signed checkpoint; its root was matched
	HasCheckpoint  bool   // false only for a log never integrated
}

// Verify re-derives the whole tree from the stored entry bodies, offline,
// and checks it against everything stored or signed about it. In the order
// of the entries it checks that position i holds the row of index i (a gap
// is "missing entry i"), whose envelope says index i (a reorder) and whose
// stored leaf hash is LeafHash(body); that every stored node at levels 8,
// 16, ... and the stored compact range equal the recomputed ones; and that
// the recomputed root at the latest checkpoint's size is the root it signs.
// The checkpoint's signature (by verifier) and origin are checked first.
//
// The first disagreement is returned as a *VerifyError; all errors that
// mean tampering match ErrTampered.
func Verify(ctx context.Context, store Store, verifier note.Verifier, origin string) (VerifyReport, error) {
	var rep VerifyReport
	var cp *log.Checkpoint
	raw, err := store.LatestCheckpoint(ctx)
	switch {
	case err == nil:
		cp, _, _, err = log.ParseCheckpoint(raw, origin, verifier)
		if err != nil {
			return rep, fmt.Errorf("%w: latest checkpoint: %v", ErrTampered, err)
		}
		rep.HasCheckpoint, rep.CheckpointSize = true, cp.Size
	case custodian.ErrorCode(err) != custodian.ENotFound:
		return rep, fmt.Errorf("audit verify: latest checkpoint: %w", err)
	}
	isize, irng, err := store.IntegratedState(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit verify: read state: %w", err)
	}
	rep.IntegratedSize = isize
	seq, err := store.SequencedSize(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit verify: sequenced size: %w", err)
	}
	// Walk at least as far as anything claims the log reaches, and on as
	// long as rows exist, so deleted tail entries are missed entries too.
	want := max(seq, isize)
	if cp != nil {
		want = max(want, cp.Size)
	}

	nc := &nodeChecker{ctx: ctx, store: store, limit: isize, next: map[uint]uint64{}, buf: map[uint][][]byte{}}
	r := rangeFactory.NewEmptyRange(0)
	// at runs the size-specific checks when the walk reaches a size.
	at := func() error {
		if r.End() == isize {
			if err := checkRange(r, irng); err != nil {
				return err
			}
		}
		if cp != nil && r.End() == cp.Size {
			root, err := rootOf(r)
			if err != nil {
				return err
			}
			if !equal(root, cp.Hash) {
				return fmt.Errorf("%w: the stored entries do not reproduce the root hash of the checkpoint of size %d (entries, leaf hashes and tree nodes were rewritten consistently)", ErrTampered, cp.Size)
			}
		}
		return nil
	}
	if err := at(); err != nil {
		return rep, err
	}
	for {
		pos := r.End()
		rows, err := store.Entries(ctx, pos, readChunk)
		if err != nil {
			return rep, fmt.Errorf("audit verify: read entries from %d: %w", pos, err)
		}
		if len(rows) == 0 {
			if pos < want {
				return rep, &VerifyError{Index: pos, Reason: fmt.Sprintf("missing entry %d", pos)}
			}
			break
		}
		for _, row := range rows {
			if err := checkRow(row, r.End(), true); err != nil {
				return rep, err
			}
			if err := r.Append(row.LeafHash, nc.visit); err != nil {
				return rep, fmt.Errorf("audit verify: %w", err)
			}
			if nc.err != nil {
				return rep, nc.err
			}
			if err := at(); err != nil {
				return rep, err
			}
		}
	}
	if cp != nil && cp.Size != isize {
		return rep, fmt.Errorf("%w: latest checkpoint has size %d but the integrated size is %d", ErrTampered, cp.Size, isize)
	}
	if cp == nil && isize > 0 {
		return rep, fmt.Errorf("%w: %d entries are integrated but there is no checkpoint", ErrTampered, isize)
	}
	rep.Size = r.End()
	if rep.RootHash, err = rootOf(r); err != nil {
		return rep, fmt.Errorf("audit verify: %w", err)
	}
	return rep, nil
}

// checkRange compares the stored compact range with the recomputed one and
// names the first entry of the leftmost subtree that differs.
func checkRange(r *compact.Range, stored [][]byte) error {
	ids := compact.RangeNodes(0, r.End(), nil)
	got := r.Hashes()
	if len(stored) != len(ids) {
		return fmt.Errorf("%w: stored compact range has %d hashes, a tree of size %d has %d", ErrTampered, len(stored), r.End(), len(ids))
	}
	for i, id := range ids {
		if !equal(got[i], stored[i]) {
			begin, end := id.Coverage()
			return &VerifyError{Index: begin, Reason: fmt.Sprintf("entries %d..%d do not reproduce the stored compact-range hash at level %d", begin, end-1, id.Level)}
		}
	}
	return nil
}

// nodeChecker compares, as the walk emits them, recomputed nodes at levels
// 8, 16, ... with the stored ones, reading stored hashes in chunks. Nodes
// are emitted in index order per level, so one cursor per level suffices.
type nodeChecker struct {
	ctx   context.Context
	store Store
	limit uint64 // integrated size: only nodes below it were stored
	next  map[uint]uint64
	buf   map[uint][][]byte
	err   error // first failure; the visitor cannot return one
}

func (c *nodeChecker) visit(id compact.NodeID, h []byte) {
	if c.err != nil || id.Level == 0 || id.Level%TileHeight != 0 {
		return
	}
	begin, end := id.Coverage()
	if end > c.limit {
		return
	}
	if len(c.buf[id.Level]) == 0 {
		n := min((c.limit>>id.Level)-id.Index, readChunk)
		hashes, err := c.store.NodeHashes(c.ctx, id.Level, id.Index, int(n))
		if err != nil {
			c.err = fmt.Errorf("audit verify: read level %d nodes from %d: %w", id.Level, id.Index, err)
			return
		}
		if len(hashes) == 0 {
			c.err = &VerifyError{Index: begin, Reason: fmt.Sprintf("stored level %d node %d (entries %d..%d) is missing", id.Level, id.Index, begin, end-1)}
			return
		}
		c.buf[id.Level], c.next[id.Level] = hashes, id.Index
	}
	if c.next[id.Level] != id.Index {
		c.err = fmt.Errorf("audit verify: level %d nodes out of order", id.Level)
		return
	}
	stored := c.buf[id.Level][0]
	c.buf[id.Level] = c.buf[id.Level][1:]
	c.next[id.Level]++
	if !equal(stored, h) {
		c.err = &VerifyError{Index: begin, Reason: fmt.Sprintf("entries %d..%d do not reproduce the stored level %d node %d", begin, end-1, id.Level, id.Index)}
	}
}
