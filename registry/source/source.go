package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"
)

// AcceptFile is the name, inside the registry's directory or prefix, of the list of accepted
// breaking changes (IDs as `featuregraph diff` prints them, one per line, # comments): a reload
// that makes a breaking change listed there is taken. It is the file the CI example gives to
// `featuregraph diff --accept-file`.
const AcceptFile = "accepted-changes.txt"

// DefaultPoll is how often an S3 registry is listed (and a directory re-read, in case a change
// event was missed), by default.
const DefaultPoll = 10 * time.Second

// Source is where a registry is read from.
type Source interface {
	// Read returns the registry's files as they are now, all from one version of the source.
	Read(ctx context.Context) (*Snapshot, error)
	// Watch calls changed whenever the registry may have changed (it may call it for nothing:
	// the caller compares Snapshot.Version), until ctx is done. It returns nil then, or an
	// error when watching cannot start.
	Watch(ctx context.Context, changed func()) error
	// String names the source (a directory or an s3:// URL).
	String() string
}

// Snapshot is a registry's files, read together.
type Snapshot struct {
	// Files are the registry's *.yaml and *.yml files, by name (the source's name joined with
	// the file's path in it, so that problems name where to look).
	Files map[string][]byte
	// Other holds the other files read with them, by their path relative to the source:
	// AcceptFile, and whatever other registry-dependent configuration is kept beside the
	// registry (so that it reloads together with it).
	Other map[string][]byte
	// Version identifies the content: a hash of every path and content (independent of where
	// the files were read from), 16 hex digits. The same files give the same version.
	Version string
	// ReadAt is when the files were read.
	ReadAt time.Time
}

// Accepted returns the content of AcceptFile (nil when there is none).
func (s *Snapshot) Accepted() []byte { return s.Other[AcceptFile] }

// newSnapshot builds a snapshot from files by their path relative to the source root.
func newSnapshot(root string, rel map[string][]byte) *Snapshot {
	s := &Snapshot{Files: map[string][]byte{}, Other: map[string][]byte{}, ReadAt: time.Now()}
	names := make([]string, 0, len(rel))
	for n := range rel {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b := rel[n]
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
		if isYAML(n) {
			s.Files[joinName(root, n)] = b
		} else {
			s.Other[n] = b
		}
	}
	s.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return s
}

// joinName names a file of root as problems show it (path.Join would fold the "//" of s3://).
func joinName(root, rel string) string {
	if scheme, rest, ok := strings.Cut(root, "://"); ok {
		return scheme + "://" + path.Join(rest, rel)
	}
	return path.Join(root, rel)
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// wanted reports whether a file (path relative to the root) is part of a snapshot: registry YAML
// and AcceptFile at the root. Hidden files and directories (editor swap files, a ConfigMap's
// ..data and timestamped directories) are never read.
func wanted(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, "~") {
			return false
		}
	}
	return isYAML(rel) || rel == AcceptFile
}

// Hangup calls changed on every SIGHUP until ctx is done. SIGHUP no longer ends the process
// once it returns (it registers before returning, and handles the signals in a goroutine).
func Hangup(ctx context.Context, changed func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				changed()
			}
		}
	}()
}

// Open returns the source that features names: an s3://bucket/prefix/ URL (read with s3, which
// must then not be nil) or a directory.
func Open(features string, s3 S3API, poll time.Duration) (Source, error) {
	if strings.HasPrefix(features, "s3://") {
		return NewS3(features, s3, poll)
	}
	return NewDir(features, poll), nil
}

// FromFiles is the snapshot of files given by their path relative to root (a registry built
// into the binary, tests).
func FromFiles(root string, files map[string][]byte) *Snapshot { return newSnapshot(root, files) }
