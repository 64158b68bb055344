package dev

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatcherDebouncesAndIgnoresEditorFiles(t *testing.T) {
	dir := t.TempDir()
	w, err := newWatcher(dir, 100*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	expectNone := func(what string) {
		t.Helper()
		select {
		case <-w.changes:
			t.Fatalf("%s reported a change", what)
		case <-time.After(400 * time.Millisecond):
		}
	}
	expectOne := func(what string) {
		t.Helper()
		select {
		case <-w.changes:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s reported no change", what)
		}
		expectNone(what + " (a second time)")
	}

	write(".user.yaml.swp")
	write("user.yaml~")
	expectNone("editor files")

	for range 5 { // one save written in several steps
		write("user.yaml")
		time.Sleep(10 * time.Millisecond)
	}
	expectOne("a burst of writes")

	// A directory created later is watched too.
	if err := os.Mkdir(filepath.Join(dir, "more"), 0o755); err != nil {
		t.Fatal(err)
	}
	expectOne("a new directory")
	time.Sleep(50 * time.Millisecond)
	write(filepath.Join("more", "article.yaml"))
	expectOne("a file in the new directory")
}
