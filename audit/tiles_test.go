package audit_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/custodian-project/custodian/audit"
)

// get calls h for a path as it arrives after http.StripPrefix.
func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
	r.URL = &url.URL{Path: path}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerPaths(t *testing.T) {
	k := newKeys(t)
	l, s := newLog(t, k, 70000)
	// A tree of 70,000: level 0 has 273 full tiles and a partial one of 112;
	// level 1 one full tile and a partial one of 17; level 2 a partial tile of 1.
	h := l.Handler()
	tests := []struct {
		path   string
		status int
		bytes  int
		cache  string
	}{
		{"checkpoint", 200, -1, "no-cache"},
		{"/checkpoint", 200, -1, "no-cache"},
		{"tile/0/000", 200, 8192, "immutable"},
		{"tile/0/272", 200, 8192, "immutable"},
		{"tile/0/273.p/112", 200, 112 * 32, "max-age=60"},
		{"tile/0/273.p/5", 200, 5 * 32, "max-age=60"}, // the tile of an older checkpoint
		{"tile/0/273.p/113", 404, -1, ""},
		{"tile/0/273", 404, -1, ""},
		{"tile/0/274", 404, -1, ""},
		{"tile/0/272.p/5", 404, -1, ""}, // full now; clients fall back to it
		{"tile/1/000", 200, 8192, "immutable"},
		{"tile/1/001.p/17", 200, 17 * 32, "max-age=60"},
		{"tile/1/001", 404, -1, ""},
		{"tile/2/000.p/1", 200, 32, "max-age=60"},
		{"tile/2/000", 404, -1, ""},
		{"tile/3/000.p/1", 404, -1, ""},
		{"tile/63/000", 404, -1, ""},
		{"tile/0/x001/x234/067", 404, -1, ""},
		{"tile/0/x018/x446/x744/x073/x709/x551/615", 404, -1, ""}, // 2^64-1
		{"tile/entries/000", 200, -1, "immutable"},
		{"tile/entries/273.p/112", 200, -1, "max-age=60"},
		{"tile/entries/273", 404, -1, ""},
		{"tile/entries/274.p/1", 404, -1, ""},
		// Malformed.
		{"tile/0/1", 400, -1, ""},
		{"tile/0/0000", 400, -1, ""},
		{"tile/0/0a0", 400, -1, ""},
		{"tile/0/\u0660\u0660\u0660", 400, -1, ""},
		{"tile/00/000", 400, -1, ""},
		{"tile/01/000", 400, -1, ""},
		{"tile/64/000", 400, -1, ""},
		{"tile/-1/000", 400, -1, ""},
		{"tile/+1/000", 400, -1, ""},
		{"tile/x/000", 400, -1, ""},
		{"tile/0/000.p/0", 400, -1, ""},
		{"tile/0/000.p/256", 400, -1, ""},
		{"tile/0/000.p/08", 400, -1, ""},
		{"tile/0/000.p/", 400, -1, ""},
		{"tile/0/000.p", 400, -1, ""},
		{"tile/0/.p/5", 400, -1, ""},
		{"tile/0/000.p/5/6", 400, -1, ""},
		{"tile/0/x001.p/5", 400, -1, ""},
		{"tile/0/x000/001", 400, -1, ""},
		{"tile/0/x1/000", 400, -1, ""},
		{"tile/0/001/x002", 400, -1, ""},
		{"tile/0/x001", 400, -1, ""},
		{"tile/0/001/002", 400, -1, ""},
		{"tile/0/x018/x446/x744/x073/x709/x551/616", 400, -1, ""}, // 2^64
		{"tile/0/x999/x999/x999/x999/x999/x999/x999/999", 400, -1, ""},
		{"tile/entries/abc", 400, -1, ""},
		{"tile/entries", 400, -1, ""},
		{"tile/", 400, -1, ""},
		{"tile/0/", 400, -1, ""},
		{"tile/0/000/", 400, -1, ""},
		{"tile/0//000", 400, -1, ""},
		{"tile/0/../checkpoint", 400, -1, ""},
		// Not ours.
		{"", 404, -1, ""},
		{"nope", 404, -1, ""},
		{"tile", 404, -1, ""},
		{"checkpoint/", 404, -1, ""},
		{"tiles/0/000", 404, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(h, http.MethodGet, tt.path)
			if w.Code != tt.status {
				t.Fatalf("GET %q = %d %q, want %d", tt.path, w.Code, w.Body.String(), tt.status)
			}
			if tt.bytes >= 0 && w.Body.Len() != tt.bytes {
				t.Fatalf("GET %q: %d bytes, want %d", tt.path, w.Body.Len(), tt.bytes)
			}
			if cc := w.Header().Get("Cache-Control"); tt.cache != "" && !bytes.Contains([]byte(cc), []byte(tt.cache)) {
				t.Fatalf("GET %q: Cache-Control %q, want %q", tt.path, cc, tt.cache)
			}
		})
	}

	if w := get(h, http.MethodPost, "checkpoint"); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST checkpoint = %d", w.Code)
	}
	if w := get(h, http.MethodHead, "tile/0/000"); w.Code != 200 {
		t.Fatalf("HEAD tile = %d", w.Code)
	}

	// Contents: hash tiles hold the leaf hashes / stored nodes, bundles the bodies.
	var want []byte
	for _, e := range s.entries[256:512] {
		want = append(want, e.LeafHash...)
	}
	if got := get(h, "GET", "tile/0/001").Body.Bytes(); !bytes.Equal(got, want) {
		t.Fatal("tile/0/001 is not the leaf hashes of entries 256..511")
	}
	want = want[:0]
	for i := range 256 {
		want = append(want, s.nodes[8][uint64(i)]...)
	}
	if got := get(h, "GET", "tile/1/000").Body.Bytes(); !bytes.Equal(got, want) {
		t.Fatal("tile/1/000 is not the level-8 nodes 0..255")
	}
	if got := get(h, "GET", "tile/2/000.p/1").Body.Bytes(); !bytes.Equal(got, s.nodes[16][0]) {
		t.Fatal("tile/2/000.p/1 is not level-16 node 0")
	}
	bundle := get(h, "GET", "tile/entries/273.p/112").Body.Bytes()
	for i := 273 * 256; i < 70000; i++ {
		n := int(binary.BigEndian.Uint16(bundle))
		if !bytes.Equal(bundle[2:2+n], s.entries[i].Body) {
			t.Fatalf("bundle entry %d differs", i)
		}
		bundle = bundle[2+n:]
	}
	if len(bundle) != 0 {
		t.Fatalf("%d trailing bundle bytes", len(bundle))
	}
	if ct := get(h, "GET", "tile/entries/000").Header().Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("bundle Content-Type %q", ct)
	}
	if ct := get(h, "GET", "checkpoint").Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("checkpoint Content-Type %q", ct)
	}
}

func TestHandlerMountedAndEmpty(t *testing.T) {
	k := newKeys(t)
	s := newMemStore()
	l := audit.New(s, k.signer, testOrigin, func() time.Time { return epoch })
	mux := http.NewServeMux()
	mux.Handle("/audit/log/", http.StripPrefix("/audit/log/", l.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	fetch := func(p string) (int, []byte) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/audit/log/" + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := fetch("checkpoint"); code != 404 {
		t.Fatalf("checkpoint before the first Integrate = %d, want 404", code)
	}
	if _, err := l.Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, b := fetch("checkpoint"); code != 200 || openCheckpoint(t, k, b).Size != 0 {
		t.Fatalf("empty checkpoint = %d %q", code, b)
	}
	if code, _ := fetch("tile/0/000"); code != 404 {
		t.Fatalf("tile of an empty tree = %d, want 404", code)
	}
	if code, _ := fetch("tile/entries/000.p/1"); code != 404 {
		t.Fatalf("bundle of an empty tree = %d, want 404", code)
	}
}

// FuzzHandlerPath checks that no path makes the handler panic or answer
// anything but 200, 400 or 404.
func FuzzHandlerPath(f *testing.F) {
	for _, p := range []string{"checkpoint", "tile/0/000", "tile/0/001.p/3", "tile/entries/x001/000.p/255", "tile/1/000", "tile/0/x000/000", "tile//", "tile/0/.p/"} {
		f.Add(p)
	}
	k := newKeys(f)
	l, _ := newLog(f, k, 515)
	h := l.Handler()
	f.Fuzz(func(t *testing.T, p string) {
		switch c := get(h, http.MethodGet, p).Code; c {
		case 200, 400, 404:
		default:
			t.Fatalf("GET %q = %d", p, c)
		}
	})
}
