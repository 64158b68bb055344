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
	w       *fsnotify.Watcher
	changes chan struct{} // one pending change at most
	errs    chan error
	done    chan struct{}
}

func newWatcher(dir string, debounce time.Duration, log *slog.Logger) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{w: fw, changes: make(chan struct{}, 1), errs: make(chan error, 1), done: make(chan struct{})}
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
				}
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
