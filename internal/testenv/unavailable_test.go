package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder records Skipf and Fatalf instead of stopping the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestMissingServerSkipsOrFails(t *testing.T) {
	err := missing("redis-server", redisInstall)
	tests := []struct {
		name     string
		env      string
		wantFail bool
	}{
		{"integration_required", "1", true},
		{"not_required", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(IntegrationEnv, tt.env)
			r := &recorder{TB: t}
			unavailable(r, err)
			got := r.skipped
			if tt.wantFail {
				got = r.failed
			}
			if got == "" || (tt.wantFail && r.skipped != "") || (!tt.wantFail && r.failed != "") {
				t.Fatalf("want fail=%v, got skipped %q failed %q", tt.wantFail, r.skipped, r.failed)
			}
			if !strings.Contains(got, "apt-get install -y redis-server") {
				t.Fatalf("message does not say what to install: %q", got)
			}
		})
	}
}
