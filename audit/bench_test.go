package audit_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/custodian-project/custodian/audit"
)

// BenchmarkIntegrate folds 100,000 sequenced entries into an empty tree:
// reading, checking and hashing them, recording nodes and signing checkpoints.
func BenchmarkIntegrate(b *testing.B) {
	const n = 100_000
	k := newKeys(b)
	seed := newMemStore()
	seed.append(b, n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		s := newMemStore()
		s.entries = slices.Clone(seed.entries)
		l := audit.New(s, k.signer, testOrigin, time.Now)
		b.StartTimer()
		if size, err := l.Integrate(ctx); err != nil || size != n {
			b.Fatalf("Integrate = %d, %v", size, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}
