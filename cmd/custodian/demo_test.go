package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The demo creates its deployment, prints the URL, keys and a curl that
// works, writes demo.json, and serves: a police lookup of the sample
// person is verified, releases identity and holds the address; the blocked
// federal group gets nothing.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "custodian-demo")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--dir", dir, "--addr", "127.0.0.1:0", "--people", "3000"}, func(string) string { return "" },
			stdio{strings.NewReader(""), pw, io.Discard})
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("demo did not stop")
		}
	}()
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	out := banner.String()
	for _, want := range []string{"serving on http://127.0.0.1:", "DS0010000", "reviewer", "curl -s", "federal-immigration"} {
		if !strings.Contains(out, want) {
			t.Fatalf("banner lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info demoInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Agencies) != 4 || len(info.Staff) != 2 || info.Subject == nil || !strings.HasPrefix(info.BaseURL, "http://127.0.0.1:") {
		t.Fatalf("demo.json: %s", raw)
	}
	keyOf := func(id string) string {
		for _, a := range info.Agencies {
			if a.ID == id {
				return a.Key
			}
		}
		t.Fatalf("no agency %s", id)
		return ""
	}
	r := call(t, "POST", info.BaseURL+"/v1/lookups", keyOf("DS0010000"), lookupBody("dppa-1", info.Subject, "first_name", "last_name", "street", "photo"))
	if r.body["outcome"] != "verified" || r.body["status"] != "pending_review" || r.body["fields"].(map[string]any)["last_name"] != info.Subject["last_name"] {
		t.Fatalf("police lookup: %s", r.raw)
	}
	f := call(t, "POST", info.BaseURL+"/v1/lookups", keyOf("FED-IMM-01"), lookupBody("dppa-1", info.Subject, "first_name"))
	if f.body["status"] != "denied" || !strings.Contains(f.raw, "2026-CV-0142") {
		t.Fatalf("blocked group: %s", f.raw)
	}
	q := call(t, "GET", info.BaseURL+"/v1/admin/reviews", info.Staff[0].Key, "")
	if q.status != 200 || len(q.body["reviews"].([]any)) != 1 {
		t.Fatalf("review queue: %s", q.raw)
	}
}
