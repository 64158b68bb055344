package dev

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher reports, debounced, that something under a directory changed.
type watcher struct {
	// keep says whether a changed file counts (nil: every file but editor files); skip whether
	// a directory is left unwatched (nil: none).
	keep    func(name string) bool
	skip    func(dir string) bool
	w       *fsnotify.Watcher
	changes chan struct{} // one pending change at most
	errs    chan error
	done    chan struct{}
}

func newWatcher(dir string, debounce time.Duration, log *slog.Logger) (*watcher, error) {
	return startWatcher(&watcher{}, dir, debounce, log)
}

// newCodeWatcher reports changes of the Go code under root: *.go files and go.mod/go.sum,
// outside the registry directory, hidden directories and node_modules.
func newCodeWatcher(root, features string, debounce time.Duration, log *slog.Logger) (*watcher, error) {
	features = filepath.Clean(features)
	return startWatcher(&watcher{
		keep: func(name string) bool {
			base := filepath.Base(name)
			return strings.HasSuffix(base, ".go") || base == "go.mod" || base == "go.sum"
		},
		skip: func(dir string) bool {
			base := filepath.Base(dir)
			return filepath.Clean(dir) == features || base == "node_modules" || base == "testdata" ||
				(strings.HasPrefix(base, ".") && dir != root && base != ".")
		},
	}, root, debounce, log)
}

func startWatcher(w *watcher, dir string, debounce time.Duration, log *slog.Logger) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w.w, w.changes, w.errs, w.done = fw, make(chan struct{}, 1), make(chan error, 1), make(chan struct{})
	if err := w.addTree(dir); err != nil {
		fw.Close()
		return nil, err
	}
	go w.loop(debounce, log)
	return w, nil
}

// addTree watches dir and every directory under it (fsnotify is not recursive).
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if w.skip != nil && w.skip(p) {
				return filepath.SkipDir
			}
			return w.w.Add(p)
		}
		return nil
	})
}

func (w *watcher) loop(debounce time.Duration, log *slog.Logger) {
	defer close(w.done)
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if ignored(ev) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					w.addTree(ev.Name)
					if w.keep != nil {
						continue // a new directory of code is not a change until a file in it is
					}
				}
			}
			if w.keep != nil && !w.keep(ev.Name) {
				continue
			}
			log.Debug("dev: registry changed", "file", ev.Name, "op", ev.Op.String())
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			select {
			case w.changes <- struct{}{}:
			default: // a rebuild is already pending
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			select {
			case w.errs <- err:
			default:
			}
		}
	}
}

// ignored reports whether an event cannot change the registry: a permission change, or an
// editor's swap, backup or temporary file.
func ignored(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return true
	}
	base := filepath.Base(ev.Name)
	return strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") || strings.HasSuffix(base, ".swp") ||
		strings.HasSuffix(base, ".swx") || base == "4913"
}

func (w *watcher) close() {
	w.w.Close()
	<-w.done
}
