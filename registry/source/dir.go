package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Dir is a registry directory: *.yaml and *.yml files under it (recursively, hidden ones
// skipped) and AcceptFile at its root.
//
// It follows the layouts that swap a whole version at once with a symbolic link: a Kubernetes
// ConfigMap volume (the files are links into ..data, itself a link to a timestamped directory
// that the kubelet replaces with one rename), and git-sync (the checkout is a link to a worktree
// that is replaced the same way). A read resolves the links first and reads one version's
// directory, then checks that the links still point there (else reads again), so that it never
// mixes two versions.
type Dir struct {
	dir  string
	poll time.Duration
	// Debounce is the quiet time after a change event before changed is called: an editor's
	// save or a kubelet update is several events. Default 25ms.
	Debounce time.Duration
}

// NewDir returns the directory source of dir; poll (0: off) re-reads it that often in case a
// change event was missed (network file systems, some container overlays).
func NewDir(dir string, poll time.Duration) *Dir {
	return &Dir{dir: dir, poll: poll, Debounce: 25 * time.Millisecond}
}

func (d *Dir) String() string { return d.dir }

// resolve returns the directory that holds the current version: dir with its symbolic links
// resolved, and, when it is a ConfigMap volume, the target of its ..data link.
func (d *Dir) resolve() (string, error) {
	real, err := filepath.EvalSymlinks(d.dir)
	if err != nil {
		return "", fmt.Errorf("feature registry: %w", err)
	}
	data := filepath.Join(real, "..data")
	if fi, err := os.Lstat(data); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if real, err = filepath.EvalSymlinks(data); err != nil {
			return "", fmt.Errorf("feature registry: %s: %w", data, err)
		}
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("feature registry: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("feature registry: %s is not a directory", d.dir)
	}
	return real, nil
}

// Read reads the current version of the directory.
func (d *Dir) Read(ctx context.Context) (*Snapshot, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		real, err := d.resolve()
		if err != nil {
			return nil, err
		}
		files, err := readTree(real)
		if again, _ := d.resolve(); again != real {
			// The links moved while reading (a ConfigMap or git-sync update): read the new
			// version; an error reading the old one (its directory removed) does not count.
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(files) == 0 || !hasYAML(files) {
			return nil, fmt.Errorf("feature registry: no *.yaml files under %s", d.dir)
		}
		return newSnapshot(d.dir, files), nil
	}
	return nil, fmt.Errorf("feature registry: %s kept changing while it was read: %v", d.dir, lastErr)
}

func hasYAML(files map[string][]byte) bool {
	for n := range files {
		if isYAML(n) {
			return true
		}
	}
	return false
}

// readTree reads the wanted files under root, by their slash-separated path relative to it.
func readTree(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	fsys := os.DirFS(root)
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() || !wanted(p) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p) // follows a link (a ConfigMap's files are links)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("feature registry: %w", err)
	}
	return files, nil
}

// Watch watches the directory, the directories under it, and the directories holding each
// symbolic link on the way to it (where ConfigMap and git-sync updates happen), and calls
// changed, debounced, after any event there; and every poll interval when poll is set.
func (d *Dir) Watch(ctx context.Context, changed func()) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", d.dir, err)
	}
	defer fw.Close()
	watched := map[string]bool{}
	rewatch := func() error {
		want, err := d.watchList()
		if err != nil {
			return err
		}
		for p := range watched {
			if !want[p] {
				_ = fw.Remove(p)
				delete(watched, p)
			}
		}
		var errs []error
		for p := range want {
			if !watched[p] {
				if err := fw.Add(p); err != nil {
					errs = append(errs, err)
					continue
				}
				watched[p] = true
			}
		}
		return errors.Join(errs...)
	}
	if err := rewatch(); err != nil {
		return fmt.Errorf("watching %s: %w", d.dir, err)
	}
	var poll <-chan time.Time
	if d.poll > 0 {
		t := time.NewTicker(d.poll)
		defer t.Stop()
		poll = t.C
	}
	// One look as soon as the watches are in place: a change made between the first read of
	// the registry and now raised no event (identical files are not reloaded again).
	timer := time.NewTimer(d.Debounce)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			timer.Reset(d.Debounce)
		case <-fw.Errors:
			// An overflow or a watch lost: look again.
			timer.Reset(d.Debounce)
		case <-timer.C:
			_ = rewatch() // new subdirectories, a link now pointing elsewhere
			changed()
		case <-poll:
			changed()
		}
	}
}

// watchList is every directory Watch watches now.
func (d *Dir) watchList() (map[string]bool, error) {
	abs, err := filepath.Abs(d.dir)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{filepath.Dir(abs): true}
	// Each link on the way: its directory is where it is replaced.
	p := abs
	for p != filepath.Dir(p) {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			want[filepath.Dir(p)] = true
		}
		p = filepath.Dir(p)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return want, nil // watch the parent until the directory appears
	}
	want[real] = true // a ConfigMap's ..data swap happens here
	err = filepath.WalkDir(real, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() && p != real && strings.HasPrefix(e.Name(), ".") {
			return fs.SkipDir
		}
		if e.IsDir() {
			want[p] = true
		}
		return nil
	})
	return want, err
}
