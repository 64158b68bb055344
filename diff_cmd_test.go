package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `featuregraph diff` against a directory base: breaking changes fail the command, each named;
// accepted ones (flag or file) do not; --json has the same report.
func TestDiffCommand(t *testing.T) {
	base := t.TempDir()
	copyDir(t, "features", base)
	head := t.TempDir()
	copyDir(t, "features", head)
	user, err := os.ReadFile(filepath.Join(head, "user.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(user), "maxCount: 100", "maxCount: 40", 1)
	changed = strings.Replace(changed, "  is_verified:", "  phone_verified:", 1)
	changed = strings.Replace(changed, "rename: is_verified", "rename: phone_verified", 1)
	if changed == string(user) {
		t.Fatal("user.yaml did not change")
	}
	if err := os.WriteFile(filepath.Join(head, "user.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	diff := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"diff", "--features", head, "--base", base}, args...), &out, &errb, noEnv)
		return out.String() + errb.String(), err
	}
	out, err := diff()
	if err == nil {
		t.Fatalf("breaking changes passed:\n%s", out)
	}
	for _, want := range []string{"field-renamed User.isVerified", "feature-renamed user.is_verified", "max-count-lowered user.recent_clicked_articles"} {
		if !strings.Contains(err.Error(), want) || !strings.Contains(out, want) {
			t.Errorf("error %q / report does not name %q:\n%s", err, want, out)
		}
	}

	accepted := filepath.Join(t.TempDir(), "accepted")
	if err := os.WriteFile(accepted, []byte("# renamed in PR 12\nfield-renamed User.isVerified\nfeature-renamed user.is_verified\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := diff("--accept-file", accepted, "--accept", "max-count-lowered user.recent_clicked_articles"); err != nil {
		t.Fatalf("accepted changes still fail: %v\n%s", err, out)
	}

	var rep diffReport
	out, err = diff("--json", "--accept-file", accepted)
	if err == nil {
		t.Fatal("--json: the unaccepted change passed")
	}
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); jerr != nil {
		t.Fatalf("--json output: %v\n%s", jerr, out)
	}
	if rep.Breaking != 1 || rep.Passed || len(rep.Changes) < 3 {
		t.Errorf("--json report %+v", rep)
	}

	if out, err := run2(t, "diff", "--features", base, "--base", base); err != nil || !strings.Contains(out, "no changes") {
		t.Errorf("same registry: %v\n%s", err, out)
	}
}

func run2(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, &out, noEnv)
	return out.String(), err
}
