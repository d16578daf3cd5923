package audit

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/tessera/api/layout"
)

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index
// in the tree of the given size, which must not exceed the integrated size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if err := l.checkSize(ctx, "size", size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, custodian.FieldError("index", "entry %d is not in a tree of size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, custodian.FieldError("index", "%v", err)
	}
	p, err := newTileReader(l.store, size).proof(ctx, nodes)
	if err != nil {
		return nil, fmt.Errorf("audit inclusion proof %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of sizes old and new, old <= new <= the integrated size.
func (l *Log) ConsistencyProof(ctx context.Context, old, new uint64) ([][]byte, error) {
	if old > new {
		return nil, custodian.FieldError("old", "old tree size %d is larger than new size %d", old, new)
	}
	if err := l.checkSize(ctx, "new", new); err != nil {
		return nil, err
	}
	nodes, err := proof.Consistency(old, new)
	if err != nil {
		return nil, custodian.FieldError("old", "%v", err)
	}
	p, err := newTileReader(l.store, new).proof(ctx, nodes)
	if err != nil {
		return nil, fmt.Errorf("audit consistency proof %d..%d: %w", old, new, err)
	}
	return p, nil
}

func (l *Log) checkSize(ctx context.Context, field string, size uint64) error {
	integrated, _, err := l.store.IntegratedState(ctx)
	if err != nil {
		return fmt.Errorf("audit: read state: %w", err)
	}
	if size > integrated {
		return custodian.FieldError(field, "tree size %d is beyond the integrated size %d", size, integrated)
	}
	return nil
}

// tileReader reads the tree of one size through its tlog-tiles tiles, the
// same way a remote verifier does, caching tiles for one request. Any node
// of the tree is at most 7 levels above a tile row, so at most 128 stored
// hashes are folded per node.
type tileReader struct {
	store Store
	size  uint64
	tiles map[[2]uint64][][]byte
}

func newTileReader(s Store, size uint64) *tileReader {
	return &tileReader{store: s, size: size, tiles: map[[2]uint64][][]byte{}}
}

// tileWidth is the number of hashes of tile (level, index) in a tree of the
// given size: 256 when full, 1..255 when partial, 0 when it does not exist.
func tileWidth(level, index, size uint64) int {
	if level >= 64/TileHeight {
		return 0
	}
	atLevel := size >> (level * TileHeight)
	full := atLevel / layout.TileWidth
	switch {
	case index < full:
		return layout.TileWidth
	case index == full:
		return int(atLevel % layout.TileWidth)
	}
	return 0
}

// proof fetches the nodes of a proof and folds its ephemeral node.
func (t *tileReader) proof(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		h, err := t.node(ctx, id)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// node returns the hash of a complete (non-ephemeral) node of the tree.
func (t *tileReader) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	tl, ti, nl, ni := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	tile, err := t.tile(ctx, tl, ti)
	if err != nil {
		return nil, err
	}
	first := ni << nl
	last := first + 1<<nl
	if last > uint64(len(tile)) {
		return nil, fmt.Errorf("node (%d, %d) is not complete in a tree of size %d", id.Level, id.Index, t.size)
	}
	if nl == 0 {
		return tile[first], nil
	}
	r := rangeFactory.NewEmptyRange(0)
	for _, h := range tile[first:last] {
		if err := r.Append(h, nil); err != nil {
			return nil, err
		}
	}
	return r.GetRootHash(nil)
}

func (t *tileReader) tile(ctx context.Context, level, index uint64) ([][]byte, error) {
	k := [2]uint64{level, index}
	if h, ok := t.tiles[k]; ok {
		return h, nil
	}
	h, err := readTile(ctx, t.store, level, index, tileWidth(level, index, t.size))
	if err != nil {
		return nil, err
	}
	t.tiles[k] = h
	return h, nil
}

// readTile reads the first w hashes of tile (level, index): leaf hashes at
// level 0, stored nodes of tree level 8*level above.
func readTile(ctx context.Context, s Store, level, index uint64, w int) ([][]byte, error) {
	if w <= 0 {
		return nil, fmt.Errorf("tile %d/%d does not exist", level, index)
	}
	from := index * layout.TileWidth
	if level == 0 {
		rows, err := readEntries(ctx, s, from, w)
		if err != nil {
			return nil, err
		}
		hashes := make([][]byte, len(rows))
		for i, row := range rows {
			if len(row.LeafHash) != sha256.Size {
				return nil, fmt.Errorf("entry %d has a malformed stored leaf hash", row.Index)
			}
			hashes[i] = row.LeafHash
		}
		return hashes, nil
	}
	hashes, err := s.NodeHashes(ctx, uint(level*TileHeight), from, w)
	if err != nil {
		return nil, fmt.Errorf("read level %d nodes from %d: %w", level*TileHeight, from, err)
	}
	if len(hashes) != w {
		return nil, fmt.Errorf("store has %d of the %d level %d nodes from %d", len(hashes), w, level*TileHeight, from)
	}
	for i, h := range hashes {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("stored level %d node %d is malformed", level*TileHeight, from+uint64(i))
		}
	}
	return hashes, nil
}

// readEntries reads exactly the n contiguous entries from index from.
func readEntries(ctx context.Context, s Store, from uint64, n int) ([]StoredEntry, error) {
	out := make([]StoredEntry, 0, n)
	for len(out) < n {
		next := from + uint64(len(out))
		rows, err := s.Entries(ctx, next, n-len(out))
		if err != nil {
			return nil, fmt.Errorf("read entries from %d: %w", next, err)
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("missing entry %d", next)
		}
		for _, row := range rows {
			if len(out) == n {
				break
			}
			if want := from + uint64(len(out)); row.Index != want {
				return nil, fmt.Errorf("missing entry %d", want)
			}
			out = append(out, row)
		}
	}
	return out, nil
}
