package diff_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/diff"
	"github.com/featuregraph/featuregraph/registry"
)

const baseYAML = `
entities:
  user: { prefix: u, idType: Int }
  article: { prefix: a, idType: Int }
streams:
  s: {}
features:
  user:
    os:
      featureType: static
      type: String
      events:
        - { streamName: s, topic: t, entityId: id, fields: [{ name: os }] }
    tags:
      featureType: static
      type: String
      containerType: set
    clicks:
      featureType: action
      maxCount: 100
      defaultCount: 10
      ttl: 720h
      fields:
        - { name: article_id, type: Int, join: article }
        - { name: source, type: String }
  article:
    price:
      featureType: static
      type: Int
`

func parse(t *testing.T, src string) *registry.Registry {
	t.Helper()
	reg, err := registry.Parse(map[string][]byte{"r.yaml": []byte(src)})
	if err != nil {
		t.Fatalf("registry: %v\n%s", err, src)
	}
	return reg
}

// edit applies old→new replacements to the base registry; each old must be there.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := baseYAML
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("base registry has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name  string
		pairs []string
		want  []string // "<class> <id>", in report order
	}{
		{name: "no change"},
		{
			name:  "static feature removed",
			pairs: []string{"    tags:\n      featureType: static\n      type: String\n      containerType: set\n", ""},
			want:  []string{"breaking-client field-removed User.tags"},
		},
		{
			name:  "feature renamed",
			pairs: []string{"    os:", "    platform:"},
			want: []string{"breaking-client field-renamed User.os",
				"breaking-data feature-renamed user.os"},
		},
		{
			name:  "static value type changed",
			pairs: []string{"    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Float"},
			want:  []string{"breaking-client field-type-changed Article.price", "breaking-data value-type-changed article.price"},
		},
		{
			name:  "container changed",
			pairs: []string{"containerType: set", "containerType: single"},
			want:  []string{"breaking-client field-type-changed User.tags", "breaking-data value-type-changed user.tags"},
		},
		{
			name:  "prefix changed",
			pairs: []string{"prefix: u,", "prefix: usr,"},
			want:  []string{"breaking-data prefix-changed user"},
		},
		{
			name:  "id type changed",
			pairs: []string{"user: { prefix: u, idType: Int }", "user: { prefix: u, idType: String }"},
			want: []string{"breaking-client argument-type-changed Query.user(id:)", "breaking-client argument-type-changed Query.users(ids:)",
				"breaking-client field-type-changed User.id", "breaking-data id-type-changed user"},
		},
		{
			name:  "maxCount lowered, defaultCount changed",
			pairs: []string{"maxCount: 100\n      defaultCount: 10", "maxCount: 50\n      defaultCount: 5"},
			want:  []string{"breaking-data max-count-lowered user.clicks", "safe default-count-changed user.clicks"},
		},
		{
			name:  "maxCount raised",
			pairs: []string{"maxCount: 100", "maxCount: 500"},
			want:  []string{"safe max-count-raised user.clicks"},
		},
		{
			name:  "ttl lowered",
			pairs: []string{"ttl: 720h", "ttl: 24h"},
			want:  []string{"breaking-data ttl-lowered user.clicks"},
		},
		{
			name:  "ttl removed (events kept forever)",
			pairs: []string{"      ttl: 720h\n", ""},
			want:  []string{"safe ttl-raised user.clicks"},
		},
		{
			name:  "dedupe toggled",
			pairs: []string{"ttl: 720h", "ttl: 720h\n      dedupe: false"},
			want:  []string{"breaking-data dedupe-toggled user.clicks"},
		},
		{
			name: "join target changed",
			pairs: []string{"  article: { prefix: a, idType: Int }", "  article: { prefix: a, idType: Int }\n  shop: { prefix: s, idType: Int }",
				"join: article", "join: shop"},
			want: []string{"breaking-client field-type-changed UserClicksEvent.article",
				"breaking-data join-target-changed user.clicks.article_id",
				"safe field-added Query.shop", "safe field-added Query.shops", "safe type-added Shop"},
		},
		{
			name:  "action field type changed",
			pairs: []string{"{ name: source, type: String }", "{ name: source, type: Int }"},
			// the event type's filter input changes with it; StringFilter was used by no other field
			want: []string{"breaking-client type-removed StringFilter", "breaking-client field-type-changed UserClicksEvent.source",
				"breaking-client input-field-type-changed UserClicksEventFilter.source", "breaking-data value-type-changed user.clicks.source"},
		},
		{
			name:  "action field removed",
			pairs: []string{"        - { name: source, type: String }\n", ""},
			want: []string{"breaking-client type-removed StringFilter", "breaking-client field-removed UserClicksEvent.source",
				"breaking-client input-field-removed UserClicksEventFilter.source"},
		},
		{
			name:  "static feature became action",
			pairs: []string{"    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: action\n      fields: [{ name: amount, type: Int }]"},
			want: []string{"breaking-client field-type-changed Article.price",
				"breaking-data feature-type-changed article.price",
				"safe argument-added Article.price(asOf:)", "safe argument-added Article.price(count:)", "safe argument-added Article.price(filter:)",
				"safe argument-added Article.price(lastNSec:)", "safe type-added ArticlePriceEvent", "safe type-added ArticlePriceEventFilter"},
		},
		{
			name:  "history turned on",
			pairs: []string{"    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Int\n      history: true\n      historyTTL: 720h"},
			want:  []string{"safe history-added article.price"},
		},
		{
			name:  "entity removed",
			pairs: []string{"  article: { prefix: a, idType: Int }\n", "", "join: article", "", "  article:\n    price:\n      featureType: static\n      type: Int\n", ""},
			want: []string{"breaking-client type-removed Article", "breaking-client field-removed Query.article",
				"breaking-client field-removed Query.articles", "breaking-client field-removed UserClicksEvent.article"},
		},
		{
			name: "additions and ingestion changes are safe",
			pairs: []string{"  article:\n    price:", "    locale:\n      featureType: static\n      type: String\n      deprecated: soon\n  article:\n    price:",
				"fields: [{ name: os }]", "fields: [{ name: device.os, rename: os }]"},
			want: []string{"safe field-added User.locale", "safe ingestion-changed user.os"},
		},
		{
			name:  "value limits changed",
			pairs: []string{"    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Int\n      limits: { maxStringBytes: 100 }"},
			want:  []string{"safe limits-changed article.price"},
		},
		{
			name:  "default value changed",
			pairs: []string{"      type: String\n      events:", "      type: String\n      defaultValue: unknown\n      events:"},
			want:  []string{"safe default-value-changed user.os"},
		},
		{
			name:  "deprecation is safe",
			pairs: []string{"      containerType: set", "      containerType: set\n      deprecated: use labels"},
			want:  []string{"safe field-deprecated User.tags"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := diff.Compare(parse(t, baseYAML), parse(t, edit(t, tt.pairs...)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range rep.Changes {
				got = append(got, string(c.Class)+" "+c.ID())
				if c.Message == "" {
					t.Errorf("change %s has no message", c.ID())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("changes\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestAccept(t *testing.T) {
	rep, err := diff.Compare(parse(t, baseYAML), parse(t, edit(t, "prefix: u,", "prefix: usr,", "ttl: 720h", "ttl: 24h")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Unaccepted()); n != 2 {
		t.Fatalf("unaccepted %d, want 2", n)
	}
	ids, err := diff.ReadAccepted(strings.NewReader("# reviewed in #123\nprefix-changed user   # migrated with a load\n\nfield-removed User.gone\n"))
	if err != nil {
		t.Fatal(err)
	}
	unused := rep.Accept(ids)
	if !reflect.DeepEqual(unused, []string{"field-removed User.gone"}) {
		t.Errorf("unused %q", unused)
	}
	bad := rep.Unaccepted()
	if len(bad) != 1 || bad[0].ID() != "ttl-lowered user.clicks" {
		t.Errorf("unaccepted %+v, want only the ttl change", bad)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"breaking for stored data:", "prefix-changed user (accepted)", "ttl-lowered user.clicks\n", "ttl 720h0m0s → 24h0m0s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// The base can be a git revision: the registry files are read from the repository as of it.
func TestLoadBaseFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: ", err)
	}
	repo := t.TempDir()
	dir := filepath.Join(repo, "features")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write(baseYAML)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	write(edit(t, "prefix: u,", "prefix: usr,"))

	base, err := diff.LoadBase(context.Background(), "main", dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := registry.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(base, head)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || rep.Changes[0].ID() != "prefix-changed user" {
		t.Errorf("changes %+v", rep.Changes)
	}
	if _, err := diff.LoadBase(context.Background(), "no-such-branch", dir); err == nil || !strings.Contains(err.Error(), "no-such-branch") ||
		!strings.Contains(err.Error(), "no such revision") || !strings.Contains(err.Error(), "git fetch") {
		t.Errorf("unknown revision: %v, want it named with what to do", err)
	}
	// A directory base.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "r.yaml"), []byte(baseYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := diff.LoadBase(context.Background(), other, dir); err != nil || b.Entity("user").Prefix != "u" {
		t.Errorf("directory base: %v", err)
	}
}

// A revision base outside a git work tree, or a path that does not exist, is an error that says
// what to do instead.
func TestLoadBaseErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir() // not in a git work tree
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(baseYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // whatever holds the temporary directory
	_, err := diff.LoadBase(context.Background(), "main", dir)
	for _, want := range []string{"--base main is not a directory", dir + " is not in a git work tree", "give --base a directory", "run diff inside a clone"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("outside a git work tree: %v, want it to say %q", err, want)
		}
	}
	for _, base := range []string{"./old-features", filepath.Join(dir, "missing")} {
		_, err := diff.LoadBase(context.Background(), base, dir)
		if err == nil || !strings.Contains(err.Error(), "--base "+base+": no such directory") {
			t.Errorf("--base %s: %v, want no such directory", base, err)
		}
	}
}

// Dropping history (the base keeps it, the head does not) breaks asOf queries on the feature.
func TestHistoryRemovedIsBreaking(t *testing.T) {
	withHistory := edit(t, "    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Int\n      history: true\n      historyTTL: 720h")
	shorter := edit(t, "    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Int\n      history: true\n      historyTTL: 24h")
	for _, c := range []struct {
		head string
		want string
	}{{baseYAML, "breaking-client history-removed article.price"}, {shorter, "breaking-data history-ttl-lowered article.price"}} {
		rep, err := diff.Compare(parse(t, withHistory), parse(t, c.head))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ch := range rep.Changes {
			got = append(got, string(ch.Class)+" "+ch.ID())
		}
		if !reflect.DeepEqual(got, []string{c.want}) {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
