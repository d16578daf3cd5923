package gateway_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/gateway"
	"github.com/custodian-project/custodian/match"
	"github.com/custodian-project/custodian/sqlite"
)

func cachedService(t *testing.T, program func() (string, error)) (*gateway.Service, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	std, _ := match.NewExact(nil)
	cache := filepath.Join(dir, "match-registry.prepared")
	svc := gateway.New(st, std, gateway.Config{Purposes: custodian.DPPAPurposes(), FieldClasses: custodian.DefaultFieldClasses(),
		DigestSecret: []byte("0123456789abcdef"), RegistryCache: cache, Program: program}, nil, nil, nil)
	if _, err := svc.Import(ctx, strings.NewReader(registry)); err != nil {
		t.Fatal(err)
	}
	return svc, cache
}

// The prepared copy costs only time when it cannot be used: a program that
// cannot name itself (an execute-only binary) still trains and dry-runs,
// from the store.
func TestMatchRegistryWithoutAStamp(t *testing.T) {
	svc, cache := cachedService(t, func() (string, error) { return "", errors.New("permission denied") })
	g, cached, err := svc.MatchRegistry(context.Background())
	if err != nil || cached || g.Len() != 1 {
		t.Fatalf("MatchRegistry: %v records, cached %v, %v; want the registry prepared from the store", g, cached, err)
	}
	if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a copy was written without a stamp: %v", err)
	}
}

// An import removes the prepared copy (it may hold values the import
// replaced), and a run removes the temporary files a killed run left, but
// not one another run may still be writing.
func TestPreparedRegistryIsNotKeptLonger(t *testing.T) {
	ctx := context.Background()
	svc, cache := cachedService(t, func() (string, error) { return "build 1", nil })
	if _, cached, err := svc.MatchRegistry(ctx); err != nil || cached {
		t.Fatalf("first run: cached %v, %v", cached, err)
	}
	if _, cached, err := svc.MatchRegistry(ctx); err != nil || !cached {
		t.Fatalf("second run: cached %v, %v; want the prepared copy", cached, err)
	}
	if _, err := svc.Import(ctx, strings.NewReader("record_id,first_name\nR2,Bo\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy outlived the import: %v", err)
	}
	old, young := cache+".123.tmp", cache+".456.tmp"
	for _, p := range []string{old, young} {
		os.WriteFile(p, []byte("half a registry"), 0o600)
	}
	os.Chtimes(old, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour))
	g, _, err := svc.MatchRegistry(ctx)
	if err != nil || g.Len() != 2 {
		t.Fatalf("after the import: %v, %v", g, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed run's temporary file was left: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("another run's temporary file was removed: %v", err)
	}
}
