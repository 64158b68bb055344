package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store/memory"
)

// A feature added to the YAML after the demo events were written (its path is in none of
// them) does not stop the demo load: it is skipped for those events and every other feature
// is written as before.
func TestDemoLoadSkipsAFeatureTheEventsLack(t *testing.T) {
	load := func(t *testing.T, extra string) (written int64, skipped string) {
		t.Helper()
		dir := t.TempDir()
		copyDir(t, "../../features", dir)
		if extra != "" {
			if err := os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte(extra), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		reg, err := registry.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, "demo", "events.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var skips skipTally
		sum, err := ingestDemo(context.Background(), reg, f, memory.New(), &skips, nil)
		if err != nil {
			t.Fatalf("demo load: %v", err)
		}
		return sum.Written, skips.counts()
	}
	base, none := load(t, "")
	if none != "" {
		t.Errorf("the example's demo events skip %s", none)
	}
	got, skipped := load(t, `
features:
  user:
    locale:
      featureType: static
      type: String
      events:
        - { streamName: app_events, topic: user_cdc, subTopic: user_updated, entityId: user_id, timestamp: updated_at,
            fields: [{ name: device.locale, rename: locale }] }
`)
	if got != base {
		t.Errorf("written %d, want %d as without the new feature", got, base)
	}
	if skipped == "" || skipped[:len("user.locale=")] != "user.locale=" {
		t.Errorf("skipped %q, want user.locale counted", skipped)
	}
}

// copyDir copies the files under src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}
