package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// mth is RFC 6962's Merkle Tree Hash, written from the RFC, independent of
// the merkle package the log uses.
func mth(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(mth(leaves[:k]))
	h.Write(mth(leaves[k:]))
	return h.Sum(nil)
}

func leafHashes(s *memStore, n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		body, _ := audit.Encode(testEntry(uint64(i)))
		h := sha256.Sum256(append([]byte{0}, body...))
		out[i] = h[:]
	}
	return out
}

// openCheckpoint opens cp with note.Open, as any third party would.
func openCheckpoint(t *testing.T, k keys, cp []byte) log.Checkpoint {
	t.Helper()
	n, err := note.Open(cp, note.VerifierList(k.verifier))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	var c log.Checkpoint
	if rest, err := c.Unmarshal([]byte(n.Text)); err != nil || rest != nil {
		t.Fatalf("checkpoint body %q: %v, rest %q", n.Text, err, rest)
	}
	if c.Origin != testOrigin {
		t.Fatalf("origin %q", c.Origin)
	}
	return c
}

func TestIntegrateInBatches(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	s := newMemStore()
	l := audit.New(s, k.signer, testOrigin, nil, audit.WithBatchSize(1000))
	want := leafHashes(s, 70000)
	for _, size := range []int{0, 1, 255, 256, 257, 70000} {
		s.append(t, size-len(s.entries))
		got, err := l.Integrate(ctx)
		if err != nil {
			t.Fatalf("Integrate to %d: %v", size, err)
		}
		if got != uint64(size) {
			t.Fatalf("Integrate = %d, want %d", got, size)
		}
		cpRaw, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp := openCheckpoint(t, k, cpRaw)
		if cp.Size != uint64(size) || !bytes.Equal(cp.Hash, mth(want[:size])) {
			t.Fatalf("checkpoint at %d: size %d, root %x, want root %x", size, cp.Size, cp.Hash, mth(want[:size]))
		}
		// Stored tile-level nodes are exactly the complete subtrees of 2^8 and 2^16 leaves.
		if n8, n16 := len(s.nodes[8]), len(s.nodes[16]); n8 != size>>8 || n16 != size>>16 {
			t.Fatalf("size %d: %d level-8 and %d level-16 nodes stored", size, n8, n16)
		}
		for i, h := range s.nodes[8] {
			if !bytes.Equal(h, mth(want[i*256:(i+1)*256])) {
				t.Fatalf("level-8 node %d is wrong", i)
			}
		}
		rep, err := audit.Verify(ctx, s, k.verifier, testOrigin)
		if err != nil {
			t.Fatalf("Verify at %d: %v", size, err)
		}
		if rep.Size != uint64(size) || rep.CheckpointSize != uint64(size) || !bytes.Equal(rep.RootHash, cp.Hash) {
			t.Fatalf("Verify report %+v", rep)
		}
	}
	if len(s.nodes[16]) != 1 || !bytes.Equal(s.nodes[16][0], mth(want[:65536])) {
		t.Fatal("level-16 node 0 is wrong")
	}
	// 70000-257 entries in batches of 1000 is 70 commits, plus the earlier ones.
	if s.integrateCalls < 70 {
		t.Fatalf("only %d Store.Integrate calls: batches not used", s.integrateCalls)
	}
	// Integrating again with nothing new changes nothing.
	calls := s.integrateCalls
	if _, err := l.Integrate(ctx); err != nil || s.integrateCalls != calls {
		t.Fatalf("idle Integrate: %v, %d calls", err, s.integrateCalls-calls)
	}
}

func TestIntegrateEmptyLogHasCheckpoint(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	s := newMemStore()
	l := audit.New(s, k.signer, testOrigin, nil)
	if _, err := l.Checkpoint(ctx); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Fatalf("Checkpoint before Integrate: %v, want ENotFound", err)
	}
	if n, err := l.Integrate(ctx); err != nil || n != 0 {
		t.Fatalf("Integrate = %d, %v", n, err)
	}
	cpRaw, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp := openCheckpoint(t, k, cpRaw)
	empty := sha256.Sum256(nil)
	if cp.Size != 0 || !bytes.Equal(cp.Hash, empty[:]) {
		t.Fatalf("empty checkpoint %+v", cp)
	}
	if !strings.HasPrefix(string(cpRaw), testOrigin+"\n0\n") {
		t.Fatalf("checkpoint text %q", cpRaw)
	}
}

func TestIntegrateRefusesToSignOverBadEntries(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(s *memStore)
		index  uint64
	}{
		{"gap", func(s *memStore) { s.entries = append(s.entries[:5], s.entries[6:]...) }, 5},
		{"altered body", func(s *memStore) { s.entries[3].Body[12] ^= 1 }, 3},
		{"wrong leaf hash", func(s *memStore) { s.entries[9].LeafHash[0] ^= 1 }, 9},
		{"swapped", func(s *memStore) {
			s.entries[2].Body, s.entries[4].Body = s.entries[4].Body, s.entries[2].Body
			s.entries[2].LeafHash, s.entries[4].LeafHash = s.entries[4].LeafHash, s.entries[2].LeafHash
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKeys(t)
			s := newMemStore()
			s.append(t, 12)
			tt.tamper(s)
			l := audit.New(s, k.signer, testOrigin, nil)
			_, err := l.Integrate(ctx)
			var ve *audit.VerifyError
			if !errors.As(err, &ve) || ve.Index != tt.index || !errors.Is(err, audit.ErrTampered) {
				t.Fatalf("Integrate error = %v, want a VerifyError at %d", err, tt.index)
			}
			if s.checkpoint != nil {
				t.Fatal("a checkpoint was signed over a bad entry")
			}
		})
	}
}

func TestIntegrateConflict(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	s := newMemStore()
	s.append(t, 10)
	a := audit.New(s, k.signer, testOrigin, nil)
	b := audit.New(s, k.signer, testOrigin, nil)
	// Another replica integrates between a's read of the state and its write.
	s.beforeIntegrate = func() {
		s.beforeIntegrate = nil
		if _, err := b.Integrate(ctx); err != nil {
			t.Errorf("replica b: %v", err)
		}
	}
	if _, err := a.Integrate(ctx); custodian.ErrorCode(err) != custodian.EConflict {
		t.Fatalf("Integrate error = %v, want EConflict", err)
	}
	s.append(t, 5)
	if n, err := a.Integrate(ctx); err != nil || n != 15 {
		t.Fatalf("Integrate after conflict = %d, %v", n, err)
	}
	if _, err := audit.Verify(ctx, s, k.verifier, testOrigin); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateKey(t *testing.T) {
	skey, vkey, err := audit.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+"+testOrigin+"+") || !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Fatalf("keys not named after the origin: %s", vkey)
	}
	for _, bad := range []string{"", "has space", "a+b", "two\nlines"} {
		if _, _, err := audit.GenerateKey(bad); custodian.ErrorCode(err) != custodian.EInvalid {
			t.Errorf("GenerateKey(%q) error = %v, want EInvalid", bad, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestRun(t *testing.T) {
	k := newKeys(t)
	s := newMemStore()
	var logs syncBuffer
	l := audit.New(s, k.signer, testOrigin, nil, audit.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, 5*time.Millisecond); close(done) }()

	waitSize := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if cp, err := s.LatestCheckpoint(context.Background()); err == nil && openCheckpoint(t, k, cp).Size == n {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("checkpoint never reached size %d", n)
	}
	waitSize(0)
	s.append(t, 300)
	waitSize(300)
	// A bad entry stalls the log and is logged without its contents.
	s.append(t, 2)
	s.mu.Lock()
	s.entries[301].LeafHash[0] ^= 1
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "audit log integration failed") && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	out := logs.String()
	if !strings.Contains(out, "entry 301") {
		t.Fatalf("failure not logged: %s", out)
	}
	if strings.Contains(out, "lk-000") || strings.Contains(out, "ORI0001") {
		t.Fatalf("entry contents reached the log: %s", out)
	}
}
