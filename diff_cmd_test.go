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
	// The README's example: a feature added, one removed, a maxCount lowered.
	from, to := strings.Index(string(user), "    is_verified:"), strings.Index(string(user), "    last_active_at:")
	changed := string(user)[:from] + string(user)[to:]
	changed = strings.Replace(changed, "maxCount: 100", "maxCount: 40", 1)
	if err := os.WriteFile(filepath.Join(head, "user.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(head, "app_version.yaml"), []byte(appVersionFeature), 0o644); err != nil {
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
	// What the README shows, with the directories named as there.
	shown := strings.NewReplacer(head, "./features", base, "origin/main").Replace(out + "featuregraph: " + err.Error() + "\n")
	var readme string
	for _, f := range readmeFences(t) {
		if strings.HasPrefix(f.body, "registry ./features against base") {
			readme = f.body
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

	var rep diffReport
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
	err := run(context.Background(), args, &out, &out, noEnv)
	return out.String(), err
}

// appVersionFeature is the feature the README's walk-through adds.
const appVersionFeature = `
features:
  user:
    app_version:
      featureType: static
      type: String
      description: App version of the user's latest session.
      events:
        - streamName: app_events
          topic: user_cdc
          subTopic: user_updated
          entityId: user_id
          timestamp: updated_at
          fields:
            - { name: device.app_version, rename: app_version }
`
