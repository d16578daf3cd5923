package gateway_test

import (
	"context"
	"testing"
)

// BenchmarkLookup is the governed path without HTTP: validation, matching
// against SQLite, Cedar per field, and the durable log entry, from
// GOMAXPROCS×16 goroutines (so group commit has company).
func BenchmarkLookup(b *testing.B) {
	svc, a, _ := newService(b, permitAll)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Lookup(context.Background(), a, ann); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
