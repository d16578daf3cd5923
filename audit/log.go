package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// TileHeight is the height of a tlog-tiles tile: nodes at levels that are
// multiples of it are the ones the store keeps.
const TileHeight = 8

// DefaultBatchSize is how many entries one Store.Integrate call folds in.
const DefaultBatchSize = 4096

var hasher = rfc6962.DefaultHasher

var rangeFactory = compact.RangeFactory{Hash: hasher.HashChildren}

// GenerateKey returns a new Ed25519 signed-note key pair named after the
// log's origin, as C2SP tlog-checkpoint expects. skey is secret.
func GenerateKey(origin string) (skey, vkey string, err error) {
	if err := checkOrigin(origin); err != nil {
		return "", "", err
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("generate log key: %w", err)
	}
	return skey, vkey, nil
}

func checkOrigin(origin string) error {
	// A note key name may not hold spaces or '+', and a checkpoint origin is one line.
	if origin == "" || !utf8.ValidString(origin) || strings.ContainsRune(origin, '+') || strings.IndexFunc(origin, unicode.IsSpace) >= 0 {
		return custodian.FieldError("origin", "log origin must be a non-empty line without spaces or '+'")
	}
	return nil
}

// Log integrates, signs and serves the tree kept in a Store. It holds no
// state of its own, so several replicas may run one each over a shared
// store: Store.Integrate's size check lets exactly one of them advance.
type Log struct {
	store  Store
	signer note.Signer
	origin string
	now    func() time.Time
	logger *slog.Logger
	batch  int

	mu sync.Mutex // serialises Integrate within this process
}

// Option configures a Log.
type Option func(*Log)

// WithLogger sets the logger Run reports to (default: discard).
func WithLogger(l *slog.Logger) Option { return func(g *Log) { g.logger = l } }

// WithBatchSize sets how many entries each Store.Integrate call folds in.
func WithBatchSize(n int) Option {
	return func(g *Log) {
		if n > 0 {
			g.batch = n
		}
	}
}

// New returns a Log over store whose checkpoints signer signs for origin.
// now is the clock (time.Now when nil).
func New(store Store, signer note.Signer, origin string, now func() time.Time, opts ...Option) *Log {
	if now == nil {
		now = time.Now
	}
	l := &Log{
		store:  store,
		signer: signer,
		origin: origin,
		now:    now,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		batch:  DefaultBatchSize,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Origin is the checkpoint origin line of this log.
func (l *Log) Origin() string { return l.origin }

// Integrate folds every sequenced entry after the integrated size into the
// tree, in batches, and records a signed checkpoint per batch. It returns the
// integrated size. An empty log still gets a checkpoint of size 0.
//
// Before signing, it checks every entry it folds in: contiguous index, the
// envelope's own index, and the stored leaf hash. A checkpoint is a promise
// to the world, so it refuses to sign over an entry that is already wrong;
// the log then stalls until someone looks, rather than certifying tampering.
func (l *Log) Integrate(ctx context.Context) (uint64, error) {
	if err := checkOrigin(l.origin); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	size, hashes, err := l.store.IntegratedState(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit integrate: read state: %w", err)
	}
	r, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return 0, fmt.Errorf("audit integrate: stored compact range for size %d: %w", size, err)
	}
	seq, err := l.store.SequencedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit integrate: sequenced size: %w", err)
	}
	if seq < size {
		return 0, fmt.Errorf("audit integrate: sequenced size %d is below integrated size %d", seq, size)
	}
	if seq == size {
		// Nothing new, but a log must always have a checkpoint (size 0 too).
		if _, err := l.store.LatestCheckpoint(ctx); err == nil {
			return size, nil
		} else if custodian.ErrorCode(err) != custodian.ENotFound {
			return 0, fmt.Errorf("audit integrate: latest checkpoint: %w", err)
		}
		return size, l.commit(ctx, size, r, nil)
	}

	start := l.now()
	for r.End() < seq {
		if err := ctx.Err(); err != nil {
			return r.End(), err
		}
		from := r.End()
		end := from + min(seq-from, uint64(l.batch))
		var nodes []Node
		visit := func(id compact.NodeID, h []byte) {
			if id.Level > 0 && id.Level%TileHeight == 0 {
				nodes = append(nodes, Node{Level: id.Level, Index: id.Index, Hash: h})
			}
		}
		for r.End() < end {
			// Small reads, yielding between them: integration is background
			// work, and a long burst of it would keep the store's writer,
			// back from a system call, waiting for a CPU.
			runtime.Gosched()
			rows, err := l.store.Entries(ctx, r.End(), int(min(end-r.End(), integrateChunk)))
			if err != nil {
				return from, fmt.Errorf("audit integrate: read entries from %d: %w", r.End(), err)
			}
			if len(rows) == 0 {
				return from, fmt.Errorf("audit integrate: %w", &VerifyError{Index: r.End(), Reason: fmt.Sprintf("missing entry %d", r.End())})
			}
			for _, row := range rows {
				if r.End() == end {
					break
				}
				if err := checkRow(row, r.End(), false); err != nil {
					return from, fmt.Errorf("audit integrate: %w", err)
				}
				if err := r.Append(row.LeafHash, visit); err != nil {
					return from, fmt.Errorf("audit integrate: %w", err)
				}
			}
		}
		if err := l.commit(ctx, from, r, nodes); err != nil {
			return from, err
		}
	}
	l.logger.LogAttrs(ctx, slog.LevelDebug, "audit log integrated",
		slog.Uint64("from", size), slog.Uint64("size", r.End()),
		slog.Duration("took", l.now().Sub(start)))
	return r.End(), nil
}

// hasIndexPrefix reports whether body starts as Encode starts entry i.
func hasIndexPrefix(body []byte, i uint64) bool {
	var buf [32]byte
	p := strconv.AppendUint(append(buf[:0], `{"index":`...), i, 10)
	p = append(p, ',')
	return bytes.HasPrefix(body, p)
}

// readChunk bounds one Store.Entries call; integrateChunk, the integrator's.
const (
	readChunk      = 1024
	integrateChunk = 64
)

// checkRow checks that row is the well-formed entry at position i. Its
// errors are *VerifyError: the integrator and Verify agree on what is wrong.
// Verify decodes the whole body; the integrator, on the hot path, checks
// only the canonical prefix that carries the index (the leaf hash still
// covers every byte).
func checkRow(row StoredEntry, i uint64, decode bool) error {
	if row.Index > i {
		return &VerifyError{Index: i, Reason: fmt.Sprintf("missing entry %d", i)}
	}
	if row.Index < i {
		return &VerifyError{Index: i, Reason: fmt.Sprintf("row of index %d is out of order at position %d", row.Index, i)}
	}
	if decode {
		e, err := Decode(row.Body)
		if err != nil {
			return &VerifyError{Index: i, Reason: fmt.Sprintf("entry body does not decode: %v", err)}
		}
		if e.Index != i {
			return &VerifyError{Index: i, Reason: fmt.Sprintf("entry body carries index %d (reordered or moved)", e.Index)}
		}
	} else if !hasIndexPrefix(row.Body, i) {
		return &VerifyError{Index: i, Reason: "entry body does not carry its index (reordered, moved or malformed)"}
	}
	if !equal(LeafHash(row.Body), row.LeafHash) {
		return &VerifyError{Index: i, Reason: "entry body does not match its stored leaf hash"}
	}
	return nil
}

// commit signs a checkpoint for r and records it with nodes, moving the
// integrated size from oldSize to r.End().
func (l *Log) commit(ctx context.Context, oldSize uint64, r *compact.Range, nodes []Node) error {
	root, err := rootOf(r)
	if err != nil {
		return fmt.Errorf("audit integrate: %w", err)
	}
	cp, err := l.sign(r.End(), root)
	if err != nil {
		return err
	}
	// Copy: compact.Range reuses its backing array on the next Append.
	rng := append([][]byte(nil), r.Hashes()...)
	if err := l.store.Integrate(ctx, oldSize, r.End(), rng, nodes, cp); err != nil {
		return fmt.Errorf("audit integrate %d..%d: %w", oldSize, r.End(), err)
	}
	return nil
}

func rootOf(r *compact.Range) ([]byte, error) {
	if r.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return r.GetRootHash(nil)
}

func (l *Log) sign(size uint64, root []byte) ([]byte, error) {
	text := log.Checkpoint{Origin: l.origin, Size: size, Hash: root}.Marshal()
	cp, err := note.Sign(&note.Note{Text: string(text)}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit integrate: sign checkpoint: %w", err)
	}
	return cp, nil
}

// Run integrates every interval until ctx is done. Errors are logged, never
// entry contents; a conflict means another replica integrated first, which is
// normal, so it is logged at debug level.
func (l *Log) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := l.Integrate(ctx); err != nil && ctx.Err() == nil {
			level := slog.LevelError
			if custodian.ErrorCode(err) == custodian.EConflict {
				level = slog.LevelDebug
			}
			l.logger.LogAttrs(ctx, level, "audit log integration failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Checkpoint returns the latest signed checkpoint (a custodian.ENotFound
// error before the first Integrate).
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, err := l.store.LatestCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	return cp, nil
}

func equal(a, b []byte) bool {
	return len(a) == len(b) && string(a) == string(b)
}
