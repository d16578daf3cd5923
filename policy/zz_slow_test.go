package policy_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodian-project/custodian"
	"github.com/custodian-project/custodian/policy"
)

func TestSlowInputs(t *testing.T) {
	files, _ := filepath.Glob(os.Getenv("SLOWDIR") + "/*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.HasPrefix(string(b), "go test fuzz v1\n") {
			line := strings.TrimSpace(strings.TrimPrefix(string(b), "go test fuzz v1\n"))
			line = strings.TrimSuffix(strings.TrimPrefix(line, "string("), ")")
			u, err := strconv.Unquote(line)
			if err != nil {
				t.Log(f, err)
				continue
			}
			b = []byte(u)
		}
		start := time.Now()
		e, err := policy.Parse(b)
		p := time.Since(start)
		if err == nil {
			fields := []policy.FieldRef{{Name: "dob", Class: "identity"}, {Name: "photo", Class: "photo"}}
			e.Decide(policy.Principal{AgencyID: "A", Groups: []string{"g", "courts"}}, policy.Context{Purpose: "dppa-1", LegalBasis: &custodian.LegalBasis{Kind: "x"}}, fields)
		}
		if d := time.Since(start); d > 5*time.Millisecond {
			t.Logf("%s: parse %v total %v err=%v", filepath.Base(f), p, d, err != nil)
		}
	}
}
