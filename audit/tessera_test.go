package audit_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/custodian-project/custodian/audit"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
)

// tilesClient serves l's tiles over HTTP and returns tessera's HTTP fetcher
// for them: the independent verifier the spec names.
func tilesClient(t *testing.T, l *audit.Log) *client.HTTPFetcher {
	t.Helper()
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(u, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTesseraClientVerifiesProofs(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	l, s := newLog(t, k, 300)
	f := tilesClient(t, l)
	var (
		readCheckpoint client.CheckpointFetcherFunc  = f.ReadCheckpoint
		readTile       client.TileFetcherFunc        = f.ReadTile
		readBundle     client.EntryBundleFetcherFunc = f.ReadEntryBundle
	)
	cp1, cp1Raw, _, err := client.FetchCheckpoint(ctx, readCheckpoint, k.verifier, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if cp1.Size != 300 {
		t.Fatalf("first checkpoint size %d", cp1.Size)
	}
	// A tracker holding the first checkpoint, as a witness or monitor would.
	tracker, err := client.NewLogStateTracker(ctx, readTile, cp1Raw, k.verifier, testOrigin, client.UnilateralConsensus(readCheckpoint))
	if err != nil {
		t.Fatal(err)
	}

	s.append(t, 70001-300)
	if _, err := l.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	cp2, _, _, err := client.FetchCheckpoint(ctx, readCheckpoint, k.verifier, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if cp2.Size != 70001 {
		t.Fatalf("second checkpoint size %d", cp2.Size)
	}

	// Inclusion, at the latest size and at the older one (whose partial
	// tiles have since filled up, so the client must fall back to full ones).
	for _, c := range []struct {
		size    uint64
		root    []byte
		indices []uint64
	}{
		{cp2.Size, cp2.Hash, []uint64{0, 1, 255, 256, 299, 4097, 65535, 65536, 69887, 69888, 70000}},
		{cp1.Size, cp1.Hash, []uint64{0, 7, 255, 256, 299}},
	} {
		pb, err := client.NewProofBuilder(ctx, c.size, readTile)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range c.indices {
			p, err := pb.InclusionProof(ctx, i)
			if err != nil {
				t.Fatalf("tessera inclusion proof %d in %d: %v", i, c.size, err)
			}
			bundle, err := client.GetEntryBundle(ctx, readBundle, i/256, c.size)
			if err != nil {
				t.Fatalf("entry bundle for %d: %v", i, err)
			}
			body := bundle.Entries[i%256]
			if e, err := audit.Decode(body); err != nil || e.Index != i {
				t.Fatalf("bundle entry %d: %+v, %v", i, e, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, c.size, audit.LeafHash(body), p, c.root); err != nil {
				t.Fatalf("inclusion of %d in %d does not verify: %v", i, c.size, err)
			}
			ours, err := l.InclusionProof(ctx, i, c.size)
			if err != nil || !equalProofs(ours, p) {
				t.Fatalf("Log.InclusionProof(%d, %d) differs from tessera's: %v", i, c.size, err)
			}
		}
	}

	// Consistency between the two checkpoints, via the proof builder and the tracker.
	pb, err := client.NewProofBuilder(ctx, cp2.Size, readTile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pb.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp1.Size, cp2.Size, p, cp1.Hash, cp2.Hash); err != nil {
		t.Fatalf("consistency %d..%d does not verify: %v", cp1.Size, cp2.Size, err)
	}
	ours, err := l.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err != nil || !equalProofs(ours, p) {
		t.Fatalf("Log.ConsistencyProof differs from tessera's: %v", err)
	}
	if _, _, _, err := tracker.Update(ctx); err != nil {
		t.Fatalf("tracker update from %d to %d: %v", cp1.Size, cp2.Size, err)
	}
	if got := tracker.Latest().Size; got != cp2.Size {
		t.Fatalf("tracker at %d", got)
	}
}

// TestTesseraClientCatchesTampering shows the client test above can fail: the
// same checks reject a log whose stored tree or entries were altered.
func TestTesseraClientCatchesTampering(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	l, s := newLog(t, k, 1000)
	f := tilesClient(t, l)
	cp, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, k.verifier, testOrigin)
	if err != nil {
		t.Fatal(err)
	}

	// A stored level-8 node on the proof path of entry 10 (node 2 covers 512..767).
	s.nodes[8][2][0] ^= 1
	pb, err := client.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pb.InclusionProof(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	err = proof.VerifyInclusion(rfc6962.DefaultHasher, 10, cp.Size, s.entries[10].LeafHash, p, cp.Hash)
	var mismatch proof.RootMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("inclusion through a tampered node: %v, want a root mismatch", err)
	}
	s.nodes[8][2][0] ^= 1

	// An entry body served in a bundle no longer matches its proof.
	s.entries[600].Body[15] ^= 1
	bundle, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, 600/256, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	p, err = pb.InclusionProof(ctx, 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 600, cp.Size, audit.LeafHash(bundle.Entries[600%256]), p, cp.Hash); err == nil {
		t.Fatal("a tampered entry verified")
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
