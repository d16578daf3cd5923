package deployment_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/deployment"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := deployment.Open(ctx, t.TempDir(), nil, nil); custodian.ErrorCode(err) != custodian.ENotFound {
		t.Errorf("empty folder: %v", err)
	}
	dir := t.TempDir()
	if err := deployment.Init(ctx, dir, "test.local/log"); err != nil {
		t.Fatal(err)
	}
	if err := deployment.Init(ctx, dir, "test.local/log"); custodian.ErrorCode(err) != custodian.EConflict {
		t.Errorf("second init: %v", err)
	}
	if err := deployment.Init(ctx, t.TempDir(), "bad origin\n"); custodian.ErrorCode(err) != custodian.EInvalid {
		t.Errorf("bad origin: %v", err)
	}
	d, err := deployment.Open(ctx, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	for _, tc := range []struct{ name, config, want string }{
		{"not json", `{"origin": `, "custodian.json"},
		{"unknown key", `{"origin":"x","colour":"red"}`, "unknown field"},
		{"bad match identifier", `{"origin":"x","match":{"require":["first name"]}}`, "match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, deployment.ConfigFile), []byte(tc.config), 0o644)
			_, err := deployment.Open(ctx, dir, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
