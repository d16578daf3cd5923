package audit

import "context"

// StoredEntry is one appended entry as the store keeps it. LeafHash is
// LeafHash(Body), computed by the store when it appends the entry.
type StoredEntry struct {
	Index    uint64
	Body     []byte
	LeafHash []byte
}

// Node is a stored interior hash of the tree. Level is the height in the tree
// (0 = leaves); only levels 8, 16, 24, ... are stored: they are the hashes of
// tlog-tiles tiles at levels 1, 2, 3, ..., and every other node can be
// recomputed from at most 256 of them (or of the leaf hashes).
type Node struct {
	Level uint
	Index uint64
	Hash  []byte
}

// Store is what the log needs from storage. Entries are appended by the
// store itself, in the same transaction as the state they record; the log
// only reads them and records what it integrated.
type Store interface {
	// SequencedSize is the number of appended entries.
	SequencedSize(ctx context.Context) (uint64, error)
	// Entries returns rows ordered by index, starting at the first index >=
	// from, at most n. Callers do not assume contiguity: a gap is reported as
	// a missing entry.
	Entries(ctx context.Context, from uint64, n int) ([]StoredEntry, error)
	// IntegratedState is the integrated tree size and its compact range
	// hashes (the roots of the perfect subtrees covering [0, size), left to
	// right); (0, nil) when nothing was integrated.
	IntegratedState(ctx context.Context) (size uint64, rng [][]byte, err error)
	// Integrate records atomically the new size and compact range, the new
	// tile-level nodes and the signed checkpoint for newSize. It fails with a
	// custodian.EConflict error if the stored size is not oldSize. oldSize may
	// equal newSize (a checkpoint is re-signed with no new entries).
	Integrate(ctx context.Context, oldSize, newSize uint64, rng [][]byte, nodes []Node, checkpoint []byte) error
	// NodeHashes returns the stored node hashes at a tile level (8, 16, ...)
	// for indices [from, from+n), in order.
	NodeHashes(ctx context.Context, level uint, from uint64, n int) ([][]byte, error)
	// LatestCheckpoint is the checkpoint recorded by the last Integrate; a
	// custodian.ENotFound error when there is none.
	LatestCheckpoint(ctx context.Context) ([]byte, error)
}
