package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// `featuregraph diff` against a directory base: breaking changes fail the command, each named;
// accepted ones (flag or file) do not; --json has the same report.
func TestDiffCommand(t *testing.T) {
	base := t.TempDir()
	harness.CopyDir(t, "features", base)
	head := t.TempDir()
	harness.CopyDir(t, "features", head)
	user, err := os.ReadFile(filepath.Join(head, "user.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The README's example: a feature added, one removed, a maxCount lowered.
	from, to := strings.Index(string(user), "    is_verified:"), strings.Index(string(user), "    last_active_at:")
	changed := string(user)[:from] + string(user)[to:]
	changed = strings.Replace(changed, "maxCount: 100", "maxCount: 40", 1)
	if err := os.WriteFile(filepath.Join(head, "user.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(head, "app_version.yaml"), []byte(harness.AppVersionFeature), 0o644); err != nil {
		t.Fatal(err)
	}
	diff := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := cli.Run(context.Background(), append([]string{"diff", "--features", head, "--base", base}, args...), &out, &errb, harness.NoEnv)
		return out.String() + errb.String(), err
	}
	out, err := diff()
	if err == nil {
		t.Fatalf("breaking changes passed:\n%s", out)
	}
	// What the README shows, with the directories named as there.
	shown := strings.NewReplacer(head, "./features", base, "origin/main").Replace(out + "featuregraph: " + err.Error() + "\n")
	var readme string
	for _, f := range harness.ReadmeFences(t) {
		if strings.HasPrefix(f.Body, "registry ./features against base") {
			readme = f.Body
		}
	}
	if shown != readme {
		t.Errorf("diff output\n%s\nthe README shows\n%s", shown, readme)
	}

	accepted := filepath.Join(t.TempDir(), "accepted")
	if err := os.WriteFile(accepted, []byte("# reviewed in PR 12\nfield-removed User.isVerified   # no client reads it\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := diff("--accept-file", accepted, "--accept", "max-count-lowered user.recent_clicked_articles"); err != nil {
		t.Fatalf("accepted changes still fail: %v\n%s", err, out)
	}

	// The fields of the --json report this test reads.
	var rep struct {
		Changes  []struct{ Accepted bool }
		Breaking int
		Passed   bool
	}
	out, err = diff("--json", "--accept-file", accepted)
	if err == nil {
		t.Fatal("--json: the unaccepted change passed")
	}
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); jerr != nil {
		t.Fatalf("--json output: %v\n%s", jerr, out)
	}
	if rep.Breaking != 1 || rep.Passed || len(rep.Changes) != 3 || !rep.Changes[0].Accepted {
		t.Errorf("--json report %+v", rep)
	}

	if out, err := run2(t, "diff", "--features", base, "--base", base); err != nil || !strings.Contains(out, "no changes") {
		t.Errorf("same registry: %v\n%s", err, out)
	}
}

func run2(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cli.Run(context.Background(), args, &out, &out, harness.NoEnv)
	return out.String(), err
}
