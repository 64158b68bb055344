// Package ingesttest holds test helpers shared by the ingest packages: a store wrapper that
// fails on demand and readers that dump a memory store's contents in a comparable form.
package ingesttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Flaky wraps a store.Writer: it fails the next FailNext calls with store.ErrUnavailable, blocks
// calls while Down is set (until the call's context ends, as a hung backend would), and rejects for
// good (store.ErrInvalid) any batch holding a key whose ID is RejectID.
type Flaky struct {
	store.Writer
	FailNext atomic.Int64
	Down     atomic.Bool
	Calls    atomic.Int64
	Failed   atomic.Int64

	mu       sync.Mutex
	RejectID string
}

// Reject sets the id whose writes the store rejects for good.
func (f *Flaky) Reject(id string) {
	f.mu.Lock()
	f.RejectID = id
	f.mu.Unlock()
}

func (f *Flaky) check(ctx context.Context, ids func(func(string) bool) bool) error {
	f.Calls.Add(1)
	if f.Down.Load() {
		<-ctx.Done()
		f.Failed.Add(1)
		return &store.BackendError{Backend: "flaky", Op: "write", Err: fmt.Errorf("%w: %v", store.ErrUnavailable, ctx.Err())}
	}
	if f.FailNext.Add(-1) >= 0 {
		f.Failed.Add(1)
		return &store.BackendError{Backend: "flaky", Op: "write", Err: store.ErrUnavailable}
	}
	f.FailNext.Store(0)
	f.mu.Lock()
	reject := f.RejectID
	f.mu.Unlock()
	if reject != "" && ids(func(id string) bool { return id == reject }) {
		return &store.BackendError{Backend: "flaky", Op: "write", Err: fmt.Errorf("%w: id %s", store.ErrInvalid, reject)}
	}
	return nil
}

// WriteStatic implements store.StaticWriter.
func (f *Flaky) WriteStatic(ctx context.Context, ws []store.StaticWrite) error {
	err := f.check(ctx, func(match func(string) bool) bool {
		for _, w := range ws {
			if match(w.Key.ID) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	return f.Writer.WriteStatic(ctx, ws)
}

// WriteActions implements store.ActionWriter.
func (f *Flaky) WriteActions(ctx context.Context, ws []store.ActionWrite) error {
	err := f.check(ctx, func(match func(string) bool) bool {
		for _, w := range ws {
			if match(w.Key.ID) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	return f.Writer.WriteActions(ctx, ws)
}

// Registry loads the example registry (features/ at the module root).
func Registry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := registry.Load(filepath.Join(ModuleRoot(), "features"))
	if err != nil {
		t.Fatalf("load example registry: %v", err)
	}
	return reg
}

// DemoEventsPath is the path of the example registry's demo events.
func DemoEventsPath() string {
	return filepath.Join(ModuleRoot(), "features", "demo", "events.jsonl")
}

// ModuleRoot is the directory of the module's go.mod, found upwards from the working directory
// (go test runs a package's tests in its directory). Not from this file's path: scripts/test
// builds with -trimpath, where runtime.Caller names a file by its import path.
func ModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir // no go.mod above: paths under it then fail naming the directory
		}
	}
}

// Dump reads every feature of the given entity ids from a store and renders it as
// "key = value @ts" (static) and "key = [ts member, ...]" (actions, newest first), sorted.
func Dump(t testing.TB, st store.Reader, reg *registry.Registry, ids map[string][]string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	var queries []store.ActionQuery
	for _, e := range reg.Entities {
		q := store.StaticQuery{Prefix: e.Prefix, IDs: ids[e.Name]}
		for _, f := range e.Static {
			q.Features = append(q.Features, f.Name)
		}
		sv := make([]store.StaticValue, q.Len())
		if err := st.ReadStatic(ctx, q, sv); err != nil {
			t.Fatal(err)
		}
		for i, v := range sv {
			if v.Kind != store.Absent {
				out = append(out, fmt.Sprintf("%s = %s @%s", q.Key(i), Render(v.Value), time.UnixMilli(v.TS).UTC().Format(time.RFC3339)))
			}
		}
		for _, id := range ids[e.Name] {
			for _, f := range e.Actions {
				queries = append(queries, store.ActionQuery{Key: store.Key{Prefix: e.Prefix, ID: id, Feature: f.Name}, Count: 1000, Dedupe: f.Dedupe, MaxCount: f.MaxCount})
			}
		}
	}
	av, err := st.ReadActions(ctx, queries)
	if err != nil {
		t.Fatal(err)
	}
	for q, evs := range av {
		if len(evs) == 0 {
			continue
		}
		s := q.Key.String() + " ="
		for _, e := range evs {
			s += fmt.Sprintf(" [%s %s]", time.UnixMilli(e.TS).UTC().Format(time.RFC3339), e.Member)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Render shows a value compactly: its JSON form, times unquoted.
func Render(v store.Value) string {
	if v.Kind == store.Time {
		return v.Time().Format(time.RFC3339Nano)
	}
	return string(v.AppendJSON(nil))
}

// Val converts a canonical Go value (registry.Coerce's form) to a store.Value, panicking on
// anything else: tests write expected values with it.
func Val(v any) store.Value {
	sv, err := registry.CanonicalValue(v)
	if err != nil {
		panic(err)
	}
	return sv
}

// Any is the canonical Go form of v (registry.Coerce's form), for tests that compare those.
func Any(v store.Value) any { return registry.CanonicalOf(v) }

// Eventually polls cond every few milliseconds until it holds or the deadline passes.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
