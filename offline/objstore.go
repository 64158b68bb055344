package offline

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ObjectStore is the little a Parquet sink needs of a file system or an object store: the S3
// client and a local directory implement it (and another S3 client can, by implementing
// these three calls).
type ObjectStore interface {
	// Put stores body under key, replacing any object of that key; it returns once the object
	// is durable. It does not keep body once it returns (the served log reuses the buffer).
	Put(ctx context.Context, key string, body []byte) error
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns the object's content.
	Get(ctx context.Context, key string) ([]byte, error)
	// String names the store in messages: "/data/offline/", "s3://bucket/prefix/".
	String() string
}

// DirStore is an ObjectStore on a local directory; keys are slash-separated paths under it.
type DirStore struct{ Dir string }

var _ ObjectStore = DirStore{}

func (d DirStore) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("offline: bad object key %q", key)
	}
	return filepath.Join(d.Dir, filepath.FromSlash(key)), nil
}

// Put writes the file through a temporary name and an fsync, then renames it: a reader never
// sees a half-written file.
func (d DirStore) Put(_ context.Context, key string, body []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("offline: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("offline: %w", err)
	}
	if _, err = f.Write(body); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("offline: write %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}

// List walks the directory; files whose name starts with "." (temporary files) are left out.
func (d DirStore) List(_ context.Context, prefix string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == d.Dir {
				return fs.SkipAll
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(d.Dir, p)
		if err != nil {
			return err
		}
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("offline: list %s: %w", d.Dir, err)
	}
	sort.Strings(out)
	return out, nil
}

// Get reads the file.
func (d DirStore) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("offline: %w", err)
	}
	return b, nil
}

func (d DirStore) String() string { return d.Dir + string(filepath.Separator) }

// syncDir makes a rename or a removal in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("offline: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("offline: sync %s: %w", dir, err)
	}
	return nil
}
