package source

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/featuregraph/featuregraph/internal/s3lite"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// configMapVersion lays out one version of a ConfigMap volume the way the kubelet does: a
// timestamped directory, ..data pointing at it (replaced with one rename), and each key a link
// into ..data.
func configMapVersion(t *testing.T, dir, version string, files map[string]string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_"+version)
	for n, s := range files {
		write(t, filepath.Join(ts, n), s)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for n := range files {
		link := filepath.Join(dir, n)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", n), link); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// waitChange waits for Watch to call changed.
func waitChange(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no change reported after %s", what)
	}
}

func watch(t *testing.T, s Source) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func() { ch <- struct{}{} }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // the watches are added
	return ch
}

// A ConfigMap volume is read from the version ..data points at (its timestamped directory is
// not read a second time, nor ..data), and swapping ..data is seen and read whole.
func TestDirConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	configMapVersion(t, dir, "1", map[string]string{"a.yaml": "one", AcceptFile: "x y\n"})
	d := NewDir(dir, 0)
	snap, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != 1 || string(snap.Files[filepath.Join(dir, "a.yaml")]) != "one" || string(snap.Accepted()) != "x y\n" {
		t.Fatalf("files %v other %v", snap.Files, snap.Other)
	}
	changes := watch(t, d)
	configMapVersion(t, dir, "2", map[string]string{"a.yaml": "two", "b.yaml": "bee"})
	waitChange(t, changes, "the ..data swap")
	snap2, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap2.Files) != 2 || string(snap2.Files[filepath.Join(dir, "a.yaml")]) != "two" || snap2.Accepted() != nil {
		t.Fatalf("after the swap: files %v other %v", snap2.Files, snap2.Other)
	}
	if snap2.Version == snap.Version {
		t.Fatal("the version did not change")
	}
}

// git-sync: --features names a directory inside a link that is replaced by a rename; the
// directory holding the link is watched.
func TestDirGitSyncLink(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "worktrees", "aaa", "features", "a.yaml"), "one")
	if err := os.Symlink(filepath.Join("worktrees", "aaa"), filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	d := NewDir(filepath.Join(root, "current", "features"), 0)
	changes := watch(t, d)
	write(t, filepath.Join(root, "worktrees", "bbb", "features", "a.yaml"), "two")
	if err := os.Symlink(filepath.Join("worktrees", "bbb"), filepath.Join(root, "tmp-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "tmp-link"), filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changes, "the link swap")
	snap, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range snap.Files {
		if string(b) != "two" {
			t.Fatalf("read %q after the swap", b)
		}
	}
	// And the new worktree is watched: an edit there is seen.
	for len(changes) > 0 {
		<-changes
	}
	write(t, filepath.Join(root, "worktrees", "bbb", "features", "c.yaml"), "three")
	waitChange(t, changes, "an edit in the new worktree")
}

// A plain directory: an editor's save (write to a temporary file, rename over) is seen;
// hidden files and editor backups are not part of the registry; a directory without YAML is
// an error naming it.
func TestDirEditsAndErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "one")
	write(t, filepath.Join(dir, "sub", "b.yml"), "bee")
	write(t, filepath.Join(dir, ".a.yaml.swp"), "swap")
	write(t, filepath.Join(dir, "a.yaml~"), "backup")
	write(t, filepath.Join(dir, ".git", "x.yaml"), "git")
	d := NewDir(dir, 0)
	snap, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != 2 || len(snap.Other) != 0 {
		t.Fatalf("files %v other %v", snap.Files, snap.Other)
	}
	changes := watch(t, d)
	write(t, filepath.Join(dir, ".a.yaml.tmp"), "saved")
	if err := os.Rename(filepath.Join(dir, ".a.yaml.tmp"), filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changes, "an editor's save")
	write(t, filepath.Join(dir, "sub", "b.yml"), "changed")
	waitChange(t, changes, "a change in a subdirectory")

	empty := t.TempDir()
	if _, err := NewDir(empty, 0).Read(context.Background()); err == nil || !strings.Contains(err.Error(), "no *.yaml files under "+empty) {
		t.Fatalf("empty directory: %v", err)
	}
	if _, err := NewDir(filepath.Join(empty, "missing"), 0).Read(context.Background()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing directory: %v", err)
	}
}

// The same files give the same version wherever they are read from.
func TestVersionIsContent(t *testing.T) {
	a := FromFiles("x", map[string][]byte{"a.yaml": []byte("1")})
	b := FromFiles("y", map[string][]byte{"a.yaml": []byte("1")})
	c := FromFiles("x", map[string][]byte{"a.yaml": []byte("2")})
	if a.Version != b.Version || a.Version == c.Version || len(a.Version) != 16 {
		t.Fatalf("versions %s %s %s", a.Version, b.Version, c.Version)
	}
}

func fakeS3(t *testing.T) (*s3mem.Backend, *s3lite.Client) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("reg"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	client, err := s3lite.New(context.Background(), s3lite.Config{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return be, client
}

func put(t *testing.T, be *s3mem.Backend, key, s string) {
	t.Helper()
	if _, err := be.PutObject("reg", key, map[string]string{}, bytes.NewReader([]byte(s)), int64(len(s)), nil); err != nil {
		t.Fatal(err)
	}
}

// An S3 prefix is read whole (objects outside the prefix, hidden and non-YAML ones left out),
// and a poll reports a change only when a key or an ETag moved.
func TestS3ReadAndPoll(t *testing.T) {
	be, client := fakeS3(t)
	put(t, be, "prod/features/a.yaml", "one")
	put(t, be, "prod/features/sub/b.yaml", "bee")
	put(t, be, "prod/features/"+AcceptFile, "x y")
	put(t, be, "prod/features/README.md", "no")
	put(t, be, "prod/features-old/c.yaml", "other prefix")
	s, err := NewS3("s3://reg/prod/features", client, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != 2 || string(snap.Files["s3://reg/prod/features/a.yaml"]) != "one" || string(snap.Accepted()) != "x y" {
		t.Fatalf("files %v other %v", snap.Files, snap.Other)
	}
	changes := watch(t, s)
	waitChange(t, changes, "the first listing")
	time.Sleep(200 * time.Millisecond) // several polls of an unchanged prefix
	if n := len(changes); n != 0 {
		t.Fatalf("%d changes reported for an unchanged prefix", n)
	}
	put(t, be, "prod/features/a.yaml", "two")
	waitChange(t, changes, "an object rewritten")
	snap2, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(snap2.Files["s3://reg/prod/features/a.yaml"]) != "two" || snap2.Version == snap.Version {
		t.Fatalf("after the upload: %v", snap2.Files)
	}
	if _, err := NewS3("s3://reg/empty/", client, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := (&S3{url: "s3://reg/empty/", bucket: "reg", prefix: "empty/", api: client}).Read(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "no *.yaml objects under s3://reg/empty/") {
		t.Fatalf("empty prefix: %v", err)
	}
	if _, err := NewS3("s3:///x", client, 0); err == nil {
		t.Fatal("a URL without a bucket was accepted")
	}
}

// SIGHUP asks for a reload (and no longer ends the process).
func TestHangup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan struct{}, 1)
	Hangup(ctx, func() { got <- struct{}{} })
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitChange(t, got, "SIGHUP")
}
