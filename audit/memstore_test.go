package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/audit"
	"golang.org/x/mod/sumdb/note"
)

// memStore is an in-memory audit.Store. Tests reach into its fields to
// tamper with it the way someone with database access could.
type memStore struct {
	mu         sync.Mutex
	entries    []audit.StoredEntry // ordered by Index; tests may delete or swap
	size       uint64
	rng        [][]byte
	nodes      map[uint]map[uint64][]byte
	checkpoint []byte

	beforeIntegrate func() // test hook, called without the lock held
	integrateCalls  int
}

var _ audit.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{nodes: map[uint]map[uint64][]byte{}}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// append encodes and appends n entries, as the SQL store does in its transaction.
func (s *memStore) append(t testing.TB, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		i := uint64(len(s.entries))
		body, err := audit.Encode(testEntry(i))
		if err != nil {
			t.Fatal(err)
		}
		s.entries = append(s.entries, audit.StoredEntry{Index: i, Body: body, LeafHash: audit.LeafHash(body)})
	}
}

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testEntry(i uint64) audit.Entry {
	data, _ := json.Marshal(map[string]any{"lookup": fmt.Sprintf("lk-%06d", i), "agency": "ORI0001", "fields": []string{"street", "city"}})
	return audit.Entry{Index: i, Time: epoch.Add(time.Duration(i) * time.Millisecond), Kind: "lookup", Data: data}
}

func (s *memStore) SequencedSize(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.entries)), nil
}

func (s *memStore) Entries(ctx context.Context, from uint64, n int) ([]audit.StoredEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.entries // kept ordered by Index: tests swap bodies, not index columns
	i := sort.Search(len(rows), func(k int) bool { return rows[k].Index >= from })
	var out []audit.StoredEntry
	for ; i < len(rows) && len(out) < n; i++ {
		out = append(out, audit.StoredEntry{Index: rows[i].Index, Body: clone(rows[i].Body), LeafHash: clone(rows[i].LeafHash)})
	}
	return out, nil
}

func (s *memStore) IntegratedState(ctx context.Context) (uint64, [][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size, slices.Clone(s.rng), nil
}

func (s *memStore) Integrate(ctx context.Context, oldSize, newSize uint64, rng [][]byte, nodes []audit.Node, checkpoint []byte) error {
	if s.beforeIntegrate != nil {
		s.beforeIntegrate()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.integrateCalls++
	if s.size != oldSize {
		return custodian.Errorf(custodian.EConflict, "integrated size is %d, not %d", s.size, oldSize)
	}
	if newSize < oldSize {
		return custodian.Errorf(custodian.EInvalid, "size would shrink")
	}
	s.size, s.rng, s.checkpoint = newSize, slices.Clone(rng), clone(checkpoint)
	for _, n := range nodes {
		if s.nodes[n.Level] == nil {
			s.nodes[n.Level] = map[uint64][]byte{}
		}
		s.nodes[n.Level][n.Index] = clone(n.Hash)
	}
	return nil
}

func (s *memStore) NodeHashes(ctx context.Context, level uint, from uint64, n int) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for i := from; i < from+uint64(n); i++ {
		h, ok := s.nodes[level][i]
		if !ok {
			break
		}
		out = append(out, clone(h))
	}
	return out, nil
}

func (s *memStore) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkpoint == nil {
		return nil, custodian.Errorf(custodian.ENotFound, "no checkpoint")
	}
	return clone(s.checkpoint), nil
}

const testOrigin = "audit.custodian.example/test"

type keys struct {
	signer   note.Signer
	verifier note.Verifier
}

func newKeys(t testing.TB) keys {
	t.Helper()
	skey, vkey, err := audit.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keys{s, v}
}

// newLog returns an integrated log of n entries over a fresh store.
func newLog(t testing.TB, k keys, n int, opts ...audit.Option) (*audit.Log, *memStore) {
	t.Helper()
	s := newMemStore()
	s.append(t, n)
	l := audit.New(s, k.signer, testOrigin, func() time.Time { return epoch }, opts...)
	if _, err := l.Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l, s
}
