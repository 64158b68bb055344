package app

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/diff"
	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/internal/s3lite"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/registry/check"
	"github.com/featuregraph/featuregraph/registry/source"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
)

// The live registry (docs/registry-reload.md): serve and ingest read the registry from a
// source (registry/source), and on every change build a new Generation of everything that
// depends on it off to the side, check it (registry/check), and publish it whole or not at all.

// LiveOptions are the live registry's flags.
type LiveOptions struct {
	// Poll is --registry-poll: how often an S3 registry is listed (and a directory re-read, in
	// case a change event was missed). Default source.DefaultPoll.
	Poll time.Duration
	// Watch is --registry-watch: reload on changes at all. Default true.
	Watch bool
	// AcceptFile is --accept-file: accepted breaking changes, one ID per line, re-read at every
	// reload (besides accepted-changes.txt inside the registry).
	AcceptFile string
	// S3 configures the client of an s3:// registry.
	S3 s3lite.Config
}

// Flags registers the live registry's flags on fs.
func (o *LiveOptions) Flags(fs *flag.FlagSet) {
	fs.DurationVar(&o.Poll, "registry-poll", source.DefaultPoll, "how often an s3:// registry is listed for changes (ETags; the objects are read only when one changed), and a registry directory re-read in case a change event was missed")
	fs.BoolVar(&o.Watch, "registry-watch", true, "reload the registry when it changes (directory events, S3 poll, SIGHUP); false: the registry of the start is served until restart")
	fs.StringVar(&o.AcceptFile, "accept-file", "", "file of accepted breaking registry changes, one ID per line as `featuregraph diff` prints them (# comments), re-read at every reload; accepted-changes.txt inside the registry counts too")
	fs.StringVar(&o.S3.Endpoint, "registry-s3-endpoint", "", "S3 endpoint URL of an s3:// --features, for S3-compatible stores (default: AWS's)")
	fs.StringVar(&o.S3.Region, "registry-s3-region", "", "region of the bucket of an s3:// --features (default: from the AWS environment)")
	fs.BoolVar(&o.S3.PathStyle, "registry-s3-path-style", false, "path-style bucket addressing for an s3:// --features")
}

// Generation is one registry being served, as taken: what every Part is built from.
type Generation struct {
	Registry    *registry.Registry
	Fingerprint string // source.Snapshot.Version
	LoadedAt    time.Time
	// Snapshot is the files it was read from; Snapshot.Other holds the files beside the
	// registry (accepted-changes.txt, and what other registry-dependent parts read).
	Snapshot *source.Snapshot
	schema   string // schema.Fingerprint(Registry)
}

// Part is one thing that depends on the registry (the gateway's schema and plans, a
// dispatcher's rules, a decoder...). Build makes its next version from gen without making it
// visible, and returns publish, which does (a pointer swap: it must not fail). A reload
// builds every part first and publishes them only when all built, in the order they were
// added; an error from any Build leaves everything as it was.
//
// This is where more registry-dependent components plug in: access-control rules kept
// beside the registry (Snapshot.Other), plans compiled per grant set, and so on.
type Part struct {
	Name  string
	Build func(gen *Generation) (publish func(), err error)
}

// LiveRegistry serves a registry from a source and reloads it.
type LiveRegistry struct {
	src  source.Source
	opts LiveOptions
	log  *slog.Logger
	m    *metrics.Metrics // nil: no metrics

	mu      sync.Mutex // one reload at a time; guards parts and seen
	parts   []Part
	seen    string // the files (and accepted IDs) of the latest reload not taken, not re-checked
	cur     atomic.Pointer[Generation]
	last    atomic.Pointer[catalog.ReloadStatus]
	trigger chan struct{}
}

// OpenLive reads the registry that features names (a directory or s3://bucket/prefix/) and
// checks that it is valid; it is what the process serves first. The default directory, when
// absent, is the built-in example registry (which never changes).
func OpenLive(ctx context.Context, where string, opts LiveOptions, log *slog.Logger, m *metrics.Metrics) (*LiveRegistry, fs.FS, error) {
	var src source.Source
	var regFS fs.FS
	switch {
	case strings.HasPrefix(where, "s3://"):
		client, err := s3lite.New(ctx, opts.S3)
		if err != nil {
			return nil, nil, fmt.Errorf("--features %s: %w", where, err)
		}
		if src, err = source.NewS3(where, client, opts.Poll); err != nil {
			return nil, nil, err
		}
		regFS = fstest.MapFS{}
	case where == DefaultFeatures && !exists(DefaultFeatures):
		log.Info("no ./features directory: serving the built-in example registry")
		src, regFS = builtin{}, features.FS
	default:
		src, regFS = source.NewDir(where, opts.Poll), os.DirFS(where)
	}
	l := &LiveRegistry{src: src, opts: opts, log: log, m: m, trigger: make(chan struct{}, 1)}
	snap, err := src.Read(ctx)
	if err != nil {
		return nil, nil, err
	}
	v := check.Check(nil, snap.Files, snap.Accepted(), nil)
	if v.Err != nil { // every problem, file:line each; errors.As finds the *registry.Error
		return nil, nil, fmt.Errorf("%s: %w", src, v.Err)
	}
	if v.Outcome != check.Taken {
		return nil, nil, fmt.Errorf("invalid feature registry %s: %d problem(s)\n  %s", src, len(v.Problems), strings.Join(v.Problems, "\n  "))
	}
	l.cur.Store(&Generation{Registry: v.Registry, Fingerprint: snap.Version, LoadedAt: time.Now(), Snapshot: snap, schema: schema.Fingerprint(v.Registry)})
	if m != nil {
		m.RegistryServed(snap.Version, time.Now())
	}
	return l, regFS, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Serving is the generation served now.
func (l *LiveRegistry) Serving() *Generation { return l.cur.Load() }

// Source names where the registry is read from.
func (l *LiveRegistry) Source() string { return l.src.String() }

// Add adds a part (in the order they are published). The part must already be built from
// Serving(): Add does not build it.
func (l *LiveRegistry) Add(p Part) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.parts = append(l.parts, p)
}

// Status is what /readyz and the catalog show.
func (l *LiveRegistry) Status() catalog.RegistryStatus {
	gen := l.cur.Load()
	return catalog.RegistryStatus{Fingerprint: gen.Fingerprint, Schema: gen.schema, Source: l.src.String(), LoadedAt: gen.LoadedAt, Last: l.last.Load()}
}

// Unchanged is Reload's outcome when the files are those served (or those of the latest
// reload not taken): nothing is counted or logged.
const Unchanged check.Outcome = "unchanged"

// Reload reads the source and takes the registry when it changed, is valid, and makes no
// breaking change that is not accepted; else it keeps serving the current one. Every outcome
// but Unchanged is logged (with every problem), counted and shown by Status.
func (l *LiveRegistry) Reload(ctx context.Context) check.Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := time.Now()
	cur := l.cur.Load()
	snap, err := l.src.Read(ctx)
	if err != nil {
		key := "unreadable: " + err.Error()
		if key == l.seen {
			return Unchanged
		}
		l.seen = key
		return l.record(check.Failed, "", []string{err.Error()}, start)
	}
	extra, err := l.acceptedIDs()
	if err != nil {
		return l.record(check.Invalid, snap.Version, []string{err.Error()}, start)
	}
	key := snap.Version + "\x00" + strings.Join(extra, "\n")
	if snap.Version == cur.Fingerprint || key == l.seen {
		return Unchanged
	}
	l.seen = key
	v := check.Check(cur.Registry, snap.Files, snap.Accepted(), extra)
	if v.Outcome != check.Taken {
		return l.record(v.Outcome, snap.Version, v.Problems, start)
	}
	gen := &Generation{Registry: v.Registry, Fingerprint: snap.Version, LoadedAt: time.Now(), Snapshot: snap, schema: schema.Fingerprint(v.Registry)}
	publish := make([]func(), 0, len(l.parts))
	for _, p := range l.parts {
		pub, err := p.Build(gen)
		if err != nil {
			return l.record(check.Failed, snap.Version, []string{fmt.Sprintf("building %s: %v", p.Name, err)}, start)
		}
		publish = append(publish, pub)
	}
	for _, pub := range publish {
		pub()
	}
	l.cur.Store(gen)
	l.seen = ""
	if l.m != nil {
		l.m.RegistryServed(gen.Fingerprint, gen.LoadedAt)
		forgetRemoved(l.m, cur.Registry, gen.Registry)
	}
	var changes []string
	if v.Report != nil {
		for _, c := range v.Report.Changes {
			changes = append(changes, c.ID())
		}
	}
	l.log.Info("registry reloaded", "fingerprint", gen.Fingerprint, "previous", cur.Fingerprint, "source", l.src.String(),
		"changes", changes, "elapsed", time.Since(start).Round(time.Microsecond))
	return l.record(check.Taken, gen.Fingerprint, nil, start)
}

func (l *LiveRegistry) record(o check.Outcome, fp string, problems []string, start time.Time) check.Outcome {
	l.last.Store(&catalog.ReloadStatus{At: time.Now(), Outcome: string(o), Fingerprint: fp, Problems: problems})
	if l.m != nil {
		l.m.RegistryReloaded(string(o))
	}
	if o != check.Taken {
		l.log.Error("registry reload not taken; still serving the previous registry", "outcome", o, "fingerprint", fp,
			"serving", l.cur.Load().Fingerprint, "source", l.src.String(), "problems", len(problems),
			"elapsed", time.Since(start).Round(time.Microsecond))
		for _, p := range problems {
			l.log.Error("registry reload problem", "outcome", o, "problem", p)
		}
	}
	return o
}

// acceptedIDs reads --accept-file (again at every reload: it may be edited beside a running
// process).
func (l *LiveRegistry) acceptedIDs() ([]string, error) {
	if l.opts.AcceptFile == "" {
		return nil, nil
	}
	f, err := os.Open(l.opts.AcceptFile)
	if err != nil {
		return nil, fmt.Errorf("--accept-file: %w", err)
	}
	defer f.Close()
	ids, err := diff.ReadAccepted(f)
	if err != nil {
		return nil, fmt.Errorf("--accept-file %s: %w", l.opts.AcceptFile, err)
	}
	return ids, nil
}

// forgetRemoved drops the metrics of the features old has and next does not.
func forgetRemoved(m *metrics.Metrics, old, next *registry.Registry) {
	for _, e := range old.Entities {
		ne := next.Entity(e.Name)
		for _, f := range e.Features() {
			if ne == nil || ne.Feature(f.Name) == nil {
				m.ForgetFeature(e.Name, f.Name)
			}
		}
	}
}

// Changed asks for a reload (coalesced with one already asked for).
func (l *LiveRegistry) Changed() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

// Run reloads on every change of the source and on SIGHUP until ctx is done. With
// LiveOptions.Watch off, or for the built-in registry, nothing is reloaded and a SIGHUP is
// logged and ignored (by default it would end the process).
func (l *LiveRegistry) Run(ctx context.Context) {
	if _, ok := l.src.(builtin); ok || !l.opts.Watch {
		source.Hangup(ctx, func() {
			why := "--registry-watch=false"
			if ok {
				why = "the built-in example registry never changes"
			}
			l.log.Warn("registry: SIGHUP ignored, nothing is reloaded ("+why+"); restart to serve a changed registry", "fingerprint", l.cur.Load().Fingerprint)
		})
		return
	}
	go func() {
		if err := l.src.Watch(ctx, l.Changed); err != nil {
			l.log.Error("registry: cannot watch for changes; reloads only on SIGHUP and every --registry-poll", "source", l.src.String(), "err", err)
			// Fall back on polling.
			t := time.NewTicker(max(l.opts.Poll, time.Second))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					l.Changed()
				}
			}
		}
	}()
	source.Hangup(ctx, l.Changed)
	l.log.Info("registry: reloading on changes", "source", l.src.String(), "fingerprint", l.cur.Load().Fingerprint)
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.trigger:
			l.Reload(ctx)
		}
	}
}

// Decoder is the store's value decoder of the live registry: DynamoDB's static values are
// typed by the registry served when they are read.
type Decoder struct {
	reg atomic.Pointer[registry.Registry]
}

// NewDecoder decodes by reg until a reload.
func NewDecoder(reg *registry.Registry) *Decoder {
	d := &Decoder{}
	d.reg.Store(reg)
	return d
}

// DecodeStatic implements store.ValueDecoder.
func (d *Decoder) DecodeStatic(prefix, feature string, v any) (store.Value, error) {
	return d.reg.Load().DecodeStatic(prefix, feature, v)
}

// Part is the decoder's part of a reload.
func (d *Decoder) Part() Part {
	return Part{Name: "store value decoder", Build: func(gen *Generation) (func(), error) {
		return func() { d.reg.Store(gen.Registry) }, nil
	}}
}

var _ store.ValueDecoder = (*Decoder)(nil)

// builtin is the built-in example registry as a source.
type builtin struct{}

func (builtin) String() string { return "features(built-in)" }
func (builtin) Read(context.Context) (*source.Snapshot, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(features.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		b, err := fs.ReadFile(features.FS, p)
		files[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	return source.FromFiles("features(built-in)", files), nil
}
func (builtin) Watch(ctx context.Context, _ func()) error { <-ctx.Done(); return nil }
