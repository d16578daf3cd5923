package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/tessera/api/layout"
)

// Cache-Control values. A partial tile's bytes never change either, but it
// disappears once the tile fills up, so it is cached only briefly.
const (
	cacheFull       = "public, max-age=31536000, immutable"
	cachePartial    = "public, max-age=60"
	cacheCheckpoint = "no-cache"
)

// Handler serves the integrated tree read-only in the C2SP tlog-tiles layout,
// at paths relative to where it is mounted (use http.StripPrefix):
//
//	checkpoint
//	tile/<L>/<N>[.p/<W>]
//	tile/entries/<N>[.p/<W>]
//
// A partial tile is served only for the rightmost tile of its level, and for
// any width up to the current one (those are the tiles of the smaller
// checkpoints); a partial request for a tile that has since filled up gets a
// 404, and clients fall back to the full tile as the spec asks. Malformed
// paths get 400, tiles beyond the tree 404.
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serveTiles)
}

func (l *Log) serveTiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case p == layout.CheckpointPath:
		l.serveCheckpoint(w, r)
	case strings.HasPrefix(p, "tile/"):
		t, err := parseTilePath(strings.TrimPrefix(p, "tile/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l.serveTile(w, r, t)
	default:
		http.NotFound(w, r)
	}
}

func (l *Log) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := l.store.LatestCheckpoint(r.Context())
	if err != nil {
		l.httpError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", cacheCheckpoint)
	_, _ = w.Write(cp)
}

func (l *Log) serveTile(w http.ResponseWriter, r *http.Request, t tileAddr) {
	ctx := r.Context()
	size, _, err := l.store.IntegratedState(ctx)
	if err != nil {
		l.httpError(w, r, err)
		return
	}
	level := t.level
	if t.entries {
		level = 0
	}
	have := tileWidth(level, t.index, size)
	width, cache := layout.TileWidth, cacheFull
	if t.width > 0 {
		width, cache = t.width, cachePartial
	}
	// Full tiles only when full; partial ones only on the right edge, up to its width.
	if have == 0 || (t.width == 0 && have != layout.TileWidth) || (t.width > 0 && (have == layout.TileWidth || t.width > have)) {
		http.NotFound(w, r)
		return
	}
	var body []byte
	if t.entries {
		body, err = entryBundle(ctx, l.store, t.index, width)
	} else {
		var hashes [][]byte
		hashes, err = readTile(ctx, l.store, level, t.index, width)
		body = make([]byte, 0, len(hashes)*32)
		for _, h := range hashes {
			body = append(body, h...)
		}
	}
	if err != nil {
		l.httpError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// entryBundle is the first n entries of bundle index, each prefixed by its
// big-endian uint16 length.
func entryBundle(ctx context.Context, s Store, index uint64, n int) ([]byte, error) {
	rows, err := readEntries(ctx, s, index*layout.EntryBundleWidth, n)
	if err != nil {
		return nil, err
	}
	var size int
	for _, row := range rows {
		if len(row.Body) > MaxEntrySize {
			return nil, errors.New("stored entry is over the bundle size limit")
		}
		size += 2 + len(row.Body)
	}
	out := make([]byte, 0, size)
	for _, row := range rows {
		out = binary.BigEndian.AppendUint16(out, uint16(len(row.Body)))
		out = append(out, row.Body...)
	}
	return out, nil
}

func (l *Log) httpError(w http.ResponseWriter, r *http.Request, err error) {
	switch custodian.ErrorCode(err) {
	case custodian.ENotFound:
		http.NotFound(w, r)
		return
	case custodian.EUnavailable:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	// The error names indices, never entry contents.
	l.logger.LogAttrs(r.Context(), slog.LevelError, "audit tiles", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// tileAddr is a parsed tile path.
type tileAddr struct {
	entries bool
	level   uint64
	index   uint64
	width   int // 0 for a full tile
}

var errBadTilePath = errors.New("malformed tile path")

// parseTilePath parses what follows "tile/": "<L>/<N>[.p/<W>]" or
// "entries/<N>[.p/<W>]", accepting only the spec's canonical spelling (no
// leading zeros in L or W, three-digit groups with no leading "x000").
func parseTilePath(p string) (tileAddr, error) {
	var t tileAddr
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return t, errBadTilePath
	}
	if parts[0] == "entries" {
		t.entries = true
	} else {
		l, ok := parseDecimal(parts[0], 63)
		if !ok {
			return t, errBadTilePath
		}
		t.level = l
	}
	groups := parts[1:]
	if n := len(groups); n >= 2 && strings.HasSuffix(groups[n-2], ".p") {
		w, ok := parseDecimal(groups[n-1], layout.TileWidth-1)
		if !ok || w == 0 {
			return t, errBadTilePath
		}
		t.width = int(w)
		groups = groups[:n-1]
		groups[n-2] = strings.TrimSuffix(groups[n-2], ".p")
	}
	// uint64 has 20 digits, so at most 7 groups.
	if len(groups) > 7 {
		return t, errBadTilePath
	}
	var n uint64
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			if !strings.HasPrefix(g, "x") {
				return t, errBadTilePath
			}
			g = g[1:]
		}
		if len(g) != 3 || g[0] < '0' || g[0] > '9' || g[1] < '0' || g[1] > '9' || g[2] < '0' || g[2] > '9' {
			return t, errBadTilePath
		}
		d := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if i == 0 && !last && d == 0 {
			return t, errBadTilePath // "x000/..." is not canonical
		}
		if n > (^uint64(0)-d)/1000 {
			return t, errBadTilePath
		}
		n = n*1000 + d
	}
	t.index = n
	return t, nil
}

// parseDecimal parses a canonical decimal (no sign, no leading zeros) <= max.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, n <= max
}
