package readme

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// TestReadmeOfflineExample runs the README's "Training sets" block: its heredoc files, its
// featuregraph commands (with the store flags and the section's registry fragment added) and
// its find, comparing every output with the `# ` lines shown (… matches anything); then the
// training set with the table the README shows.
func TestReadmeOfflineExample(t *testing.T) {
	block := harness.ReadmeBlockTestedBy(t, "TestReadmeOfflineExample")
	root, err := os.Getwd() // the module root (harness.Main)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// The registry: the example's plus the section's fragment (the yaml block before it).
	feats := filepath.Join(work, "features")
	if err := os.CopyFS(feats, os.DirFS("features")); err != nil {
		t.Fatal(err)
	}
	var fragment string
	for _, f := range harness.ReadmeFences(t) {
		if f.Lang == "yaml" && f.Before == harness.FragmentMarker && strings.HasPrefix(f.Body, "downsync:") {
			fragment = f.Body
		}
	}
	if fragment == "" {
		t.Fatal("README.md has no downsync registry fragment")
	}
	if err := os.WriteFile(filepath.Join(feats, "offline.yaml"), []byte(fragment), 0o644); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("fg_offline_%d", time.Now().UnixNano())
	stores := []string{"--features", feats, "--dynamodb-endpoint", testenv.DynamoDB(t), "--dynamodb-table", table, "--redis-addr", testenv.Redis(t)}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, stores[2:]...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	// The commands run in work, where the demo events are at the path the README gives.
	if err := os.CopyFS(filepath.Join(work, "features", "demo-src"), os.DirFS(filepath.Join("features", "demo"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	if err := os.MkdirAll("features/demo", 0o755); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(block.Body, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		var expect []string
		next := func() {
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "# ") {
				i++
				expect = append(expect, strings.TrimPrefix(lines[i], "# "))
			}
		}
		switch {
		case strings.HasPrefix(line, "cat > "):
			// cat > FILE <<'END' ... END
			m := regexp.MustCompile(`^cat > (\S+) <<'(\w+)'$`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("README.md:%d: cannot read %q", block.Line+i+1, line)
			}
			var body []string
			for i++; i < len(lines) && lines[i] != m[2]; i++ {
				body = append(body, lines[i])
			}
			if err := os.WriteFile(m[1], []byte(strings.Join(body, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "featuregraph "):
			args := strings.Fields(strings.TrimPrefix(line, "featuregraph "))
			next()
			args = append(args[:1], append(append([]string{}, stores...), args[1:]...)...)
			if args[0] == "load" {
				// The demo events file at the README's path.
				b, err := os.ReadFile(filepath.Join(feats, "demo-src", "events.jsonl"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile("features/demo/events.jsonl", b, 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--no-progress")
			}
			if args[0] == "dataset" {
				args = append(args, "--no-progress")
			}
			var stdout, stderr bytes.Buffer
			if err := cli.Run(context.Background(), args, &stdout, &stderr, harness.NoEnv); err != nil {
				t.Fatalf("featuregraph %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			matchLines(t, line, strings.TrimSpace(stdout.String()), expect)
		case strings.HasPrefix(line, "find "):
			m := regexp.MustCompile(`^find (\S+) -name '\*\.parquet' -path '\*(\S+)/\*'$`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("README.md:%d: cannot run %q", block.Line+i+1, line)
			}
			next()
			var found []string
			_ = filepath.WalkDir(m[1], func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") && strings.Contains(p, m[2]+"/") {
					found = append(found, p)
				}
				return nil
			})
			sort.Strings(found)
			matchLines(t, line, strings.Join(found, "\n"), expect)
		case strings.TrimSpace(line) == "":
		default:
			t.Fatalf("README.md:%d: unknown command %q", block.Line+i+1, line)
		}
	}

	// The training set, as the README's table shows it.
	type trainRow struct {
		EntityID string    `parquet:"entity_id"`
		Time     time.Time `parquet:"timestamp,timestamp(millisecond)"`
		Label    *string   `parquet:"label,optional"`
		OS       *string   `parquet:"os,optional"`
		Clicks   *string   `parquet:"recentClickedArticles,optional"`
		Errors   *string   `parquet:"_errors,optional"`
	}
	raw, err := os.ReadFile("train.parquet")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := offline.DecodeParquet[trainRow](raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		if r.Errors != nil {
			t.Errorf("row %+v has errors: %s", r, *r.Errors)
		}
		got = append(got, fmt.Sprintf("| %s | %s | %s | %s | `%s` |", r.EntityID, r.Time.UTC().Format(time.RFC3339), deref(r.Label), deref(r.OS), deref(r.Clicks)))
	}
	b, _ := os.ReadFile(filepath.Join(root, "README.md"))
	_, after, ok := strings.Cut(string(b), "<!-- training set of TestReadmeOfflineExample -->\n")
	if !ok {
		t.Fatal("README.md has no training set table")
	}
	var shown []string
	for _, l := range strings.Split(after, "\n")[2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		shown = append(shown, l)
	}
	if strings.Join(got, "\n") != strings.Join(shown, "\n") {
		t.Errorf("training set\n%s\nthe README shows\n%s", strings.Join(got, "\n"), strings.Join(shown, "\n"))
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// matchLines compares output with the README's lines, where … matches anything.
func matchLines(t *testing.T, cmd, got string, want []string) {
	t.Helper()
	var parts []string
	for _, l := range want {
		parts = append(parts, strings.ReplaceAll(regexp.QuoteMeta(l), "…", ".*"))
	}
	re := regexp.MustCompile("^" + strings.Join(parts, "\n") + "$")
	if !re.MatchString(got) {
		t.Errorf("%s printed\n%s\nthe README shows\n%s", cmd, got, strings.Join(want, "\n"))
	}
}
