package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func TestProofs(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	const n = 70000
	l, s := newLog(t, k, n)
	leaves := storedLeaves(s)
	roots := map[uint64][]byte{}
	root := func(size uint64) []byte {
		if roots[size] == nil {
			roots[size] = mth(leaves[:size])
		}
		return roots[size]
	}
	sizes := []uint64{1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 1000, 65535, 65536, 65537, 69999, n}
	for _, size := range sizes {
		for _, i := range []uint64{0, 1, size / 3, size / 2, size - 2, size - 1} {
			if i >= size {
				continue
			}
			p, err := l.InclusionProof(ctx, i, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, leaves[i], p, root(size)); err != nil {
				t.Fatalf("InclusionProof(%d, %d) does not verify: %v", i, size, err)
			}
		}
		for _, old := range sizes {
			if old > size {
				continue
			}
			p, err := l.ConsistencyProof(ctx, old, size)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", old, size, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old, size, p, root(old), root(size)); err != nil {
				t.Fatalf("ConsistencyProof(%d, %d) does not verify: %v", old, size, err)
			}
		}
	}
	if p, err := l.ConsistencyProof(ctx, 0, n); err != nil || p == nil || len(p) != 0 {
		t.Fatalf("ConsistencyProof(0, n) = %v, %v; want an empty proof", p, err)
	}

	bad := []struct {
		name  string
		call  func() error
		field string
	}{
		{"index = size", func() error { _, err := l.InclusionProof(ctx, 10, 10); return err }, "index"},
		{"size beyond the tree", func() error { _, err := l.InclusionProof(ctx, 0, n+1); return err }, "size"},
		{"old > new", func() error { _, err := l.ConsistencyProof(ctx, 11, 10); return err }, "old"},
		{"new beyond the tree", func() error { _, err := l.ConsistencyProof(ctx, 1, n+1); return err }, "new"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ce *custodian.Error
			if !errors.As(err, &ce) || ce.Code != custodian.EInvalid || ce.Field != tt.field {
				t.Fatalf("error = %v, want EInvalid on %s", err, tt.field)
			}
		})
	}
}
