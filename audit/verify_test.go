package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/custodian-project/custodian/audit"
)

const verifySize = 600 // two full level-8 subtrees, then subtrees of 64, 16 and 8

// wantVerifyError runs Verify and checks it fails at index.
func wantVerifyError(t *testing.T, s *memStore, k keys, index uint64) *audit.VerifyError {
	t.Helper()
	_, err := audit.Verify(context.Background(), s, k.verifier, testOrigin)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify error = %v, want a *VerifyError at %d", err, index)
	}
	if ve.Index != index {
		t.Fatalf("Verify failed at %d (%s), want %d", ve.Index, ve.Reason, index)
	}
	if !errors.Is(err, audit.ErrTampered) {
		t.Fatal("VerifyError does not match ErrTampered")
	}
	return ve
}

func TestVerifyFlippedByte(t *testing.T) {
	k := newKeys(t)
	_, s := newLog(t, k, verifySize)
	if _, err := audit.Verify(context.Background(), s, k.verifier, testOrigin); err != nil {
		t.Fatalf("untampered log: %v", err)
	}
	for _, i := range []int{0, 1, 2, 255, 256, 300, 511, 512, 577, 598, 599} {
		body := s.entries[i].Body
		step := 5
		if i == 0 || i == 300 || i == verifySize-1 {
			step = 1 // every byte
		}
		for pos := 0; pos < len(body); pos += step {
			for _, mask := range []byte{0x01, 0x20, 0xff} {
				body[pos] ^= mask
				t.Run(fmt.Sprintf("entry %d byte %d mask %#x", i, pos, mask), func(t *testing.T) {
					wantVerifyError(t, s, k, uint64(i))
				})
				body[pos] ^= mask
			}
		}
	}
	if _, err := audit.Verify(context.Background(), s, k.verifier, testOrigin); err != nil {
		t.Fatalf("restored log: %v", err)
	}
}

func TestVerifyDeletedEntry(t *testing.T) {
	for _, i := range []int{0, 1, 255, 256, 420, 512, 599} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			k := newKeys(t)
			_, s := newLog(t, k, verifySize)
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			ve := wantVerifyError(t, s, k, uint64(i))
			if !strings.Contains(ve.Reason, "missing") {
				t.Fatalf("reason %q", ve.Reason)
			}
		})
	}
	t.Run("tail of three", func(t *testing.T) {
		k := newKeys(t)
		_, s := newLog(t, k, verifySize)
		s.entries = s.entries[:verifySize-3]
		wantVerifyError(t, s, k, verifySize-3)
	})
}

func TestVerifyReorderedEntries(t *testing.T) {
	for _, p := range [][2]int{{0, 1}, {10, 500}, {255, 256}, {300, 301}, {598, 599}} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			k := newKeys(t)
			_, s := newLog(t, k, verifySize)
			a, b := &s.entries[p[0]], &s.entries[p[1]]
			// The rows keep their positions but exchange contents, as an
			// UPDATE swapping two rows' bodies and hashes would.
			a.Body, b.Body = b.Body, a.Body
			a.LeafHash, b.LeafHash = b.LeafHash, a.LeafHash
			wantVerifyError(t, s, k, uint64(p[0]))
		})
	}
}

func TestVerifyStoredHashes(t *testing.T) {
	// rewrite replaces entry i by a different one with the same index, and
	// updates its stored leaf hash to match, as a careful forger would.
	rewrite := func(t *testing.T, s *memStore, i int) {
		e := testEntry(uint64(i))
		e.Data = json.RawMessage(`{"lookup":"forged"}`)
		body, err := audit.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		s.entries[i].Body, s.entries[i].LeafHash = body, audit.LeafHash(body)
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *memStore)
		index  uint64
	}{
		{"leaf hash only", func(t *testing.T, s *memStore) { s.entries[77].LeafHash[5] ^= 1 }, 77},
		{"entry and leaf hash, first subtree", func(t *testing.T, s *memStore) { rewrite(t, s, 3) }, 0},
		{"entry and leaf hash, second subtree", func(t *testing.T, s *memStore) { rewrite(t, s, 300) }, 256},
		{"entry and leaf hash, tail subtree of 64", func(t *testing.T, s *memStore) { rewrite(t, s, 550) }, 512},
		{"entry and leaf hash, tail subtree of 8", func(t *testing.T, s *memStore) { rewrite(t, s, 595) }, 592},
		{"stored level-8 node", func(t *testing.T, s *memStore) { s.nodes[8][1][0] ^= 1 }, 256},
		{"stored level-8 node missing", func(t *testing.T, s *memStore) { delete(s.nodes[8], 1) }, 256},
		{"stored compact range", func(t *testing.T, s *memStore) { s.rng[2][0] ^= 1 }, 576},
		{"entry, leaf hash and its level-8 node", func(t *testing.T, s *memStore) {
			rewrite(t, s, 300)
			s.nodes[8][1] = mth(storedLeaves(s)[256:512])
		}, 0}, // caught by the compact-range hash over [0, 512)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeys(t)
			_, s := newLog(t, k, verifySize)
			tt.tamper(t, s)
			wantVerifyError(t, s, k, tt.index)
		})
	}
}

func storedLeaves(s *memStore) [][]byte {
	out := make([][]byte, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.LeafHash
	}
	return out
}

func TestVerifyCheckpoint(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *memStore, k keys) keys
		origin string
	}{
		{"signature byte", func(t *testing.T, s *memStore, k keys) keys {
			s.checkpoint[len(s.checkpoint)-20] ^= 1 // inside the base64 signature
			return k
		}, testOrigin},
		{"checkpoint text", func(t *testing.T, s *memStore, k keys) keys {
			s.checkpoint = []byte(strings.Replace(string(s.checkpoint), "\n600\n", "\n599\n", 1))
			return k
		}, testOrigin},
		{"other key", func(t *testing.T, s *memStore, k keys) keys { return newKeys(t) }, testOrigin},
		{"other origin", func(t *testing.T, s *memStore, k keys) keys { return k }, "elsewhere.example/log"},
		{"consistent rewrite of everything but the checkpoint", func(t *testing.T, s *memStore, k keys) keys {
			// A second log over the same key that differs in entry 5; it keeps
			// the first log's checkpoint.
			forged := newMemStore()
			forged.append(t, verifySize)
			e := testEntry(5)
			e.Data = json.RawMessage(`{"lookup":"forged"}`)
			body, _ := audit.Encode(e)
			forged.entries[5] = audit.StoredEntry{Index: 5, Body: body, LeafHash: audit.LeafHash(body)}
			if _, err := audit.New(forged, k.signer, testOrigin, nil).Integrate(ctx); err != nil {
				t.Fatal(err)
			}
			s.entries, s.nodes, s.rng = forged.entries, forged.nodes, forged.rng
			return k
		}, testOrigin},
		{"checkpoint deleted", func(t *testing.T, s *memStore, k keys) keys {
			s.checkpoint = nil
			return k
		}, testOrigin},
		{"integrated size rolled back", func(t *testing.T, s *memStore, k keys) keys {
			s.size, s.rng = 512, [][]byte{mth(storedLeaves(s)[:512])}
			return k
		}, testOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeys(t)
			_, s := newLog(t, k, verifySize)
			k = tt.tamper(t, s, k)
			_, err := audit.Verify(ctx, s, k.verifier, tt.origin)
			if !errors.Is(err, audit.ErrTampered) {
				t.Fatalf("Verify error = %v, want ErrTampered", err)
			}
		})
	}
}

func TestVerifyUnintegratedTail(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	_, s := newLog(t, k, 300)
	s.append(t, 50) // sequenced after the last checkpoint
	rep, err := audit.Verify(ctx, s, k.verifier, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Size != 350 || rep.IntegratedSize != 300 || rep.CheckpointSize != 300 || !rep.HasCheckpoint {
		t.Fatalf("report %+v", rep)
	}
	s.entries[320].Body[20] ^= 1
	wantVerifyError(t, s, k, 320)
}

func TestVerifyNeverIntegrated(t *testing.T) {
	k := newKeys(t)
	s := newMemStore()
	s.append(t, 3)
	rep, err := audit.Verify(context.Background(), s, k.verifier, testOrigin)
	if err != nil || rep.HasCheckpoint || rep.Size != 3 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}
