package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// liveOffline is liveBase with served-feature logging on and os downsynced.
const liveOffline = liveBase + `      downsync: { enabled: true }
servedLog: {}
`

// waitServing waits until the live registry serves a registry other than first.
func waitServing(t *testing.T, s *liveStack, first string) *Generation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.live.Serving().Fingerprint == first {
		if time.Now().After(deadline) {
			t.Fatalf("the new registry is not served after 10 s:\n%s", s.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s.live.Serving()
}

// TestLiveReloadFollowsTheOfflineBlocks: with --offline-sink, a reload that turns on
// `servedLog:` and a feature's `downsync:` starts both at once — the requests answered and the
// events written after it are in the sink, stamped with the new registry's fingerprints — and
// a reload that turns them off again stops them. Without a sink such a reload is refused,
// naming the flag, and the previous registry keeps serving.
func TestLiveReloadFollowsTheOfflineBlocks(t *testing.T) {
	ctx := context.Background()
	t.Run("with_a_sink", func(t *testing.T) {
		dir, sink := t.TempDir(), t.TempDir()
		writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
		reg, err := registry.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		off, err := offline.Open(ctx, reg, offline.Config{Sink: sink, Spool: offline.DefaultSpoolConfig()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { off.Close(ctx) })
		s := startLiveOffline(t, dir, LiveOptions{Watch: true}, true, off)
		st := offline.DirStore{Dir: sink}
		rows := func() ([]offline.ServedValue, []offline.Row) {
			t.Helper()
			if err := off.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			served, err := offline.ReadAll[offline.ServedValue](ctx, st, "served/")
			if err != nil {
				t.Fatal(err)
			}
			down, err := offline.ReadAll[offline.Row](ctx, st, "downsync/")
			if err != nil {
				t.Fatal(err)
			}
			return served, down
		}
		push := `{"streamName":"app","topic":"user_cdc","event":{"event_name":"user_updated","user_id":1,"os":"ios"}}`
		s.push(t, push)
		if a := s.query(t, `query Home { user(id: 1) { os } }`); len(a.Errors) > 0 {
			t.Fatal(a.Errors)
		}
		if served, down := rows(); len(served)+len(down) != 0 {
			t.Fatalf("nothing is enabled yet, the sink holds %d served and %d downsynced rows", len(served), len(down))
		}

		writeFile(t, filepath.Join(dir, "r.yaml"), liveOffline)
		gen := waitServing(t, s, s.live.Serving().Fingerprint)
		s.push(t, strings.Replace(push, "ios", "android", 1))
		a := s.query(t, `query Home { user(id: 1) { os } }`)
		if string(a.Data) != `{"user":{"os":"android"}}` {
			t.Fatalf("after the reload: %s %+v", a.Data, a.Errors)
		}
		served, down := rows()
		if len(served) != 1 || served[0].Operation != "Home" || served[0].Feature != "os" || served[0].ValueString == nil || *served[0].ValueString != "android" ||
			served[0].Fingerprint != gen.Fingerprint {
			t.Fatalf("served rows after the reload (want one of Home, os=android, fingerprint %s): %+v", gen.Fingerprint, served)
		}
		if len(down) != 1 || down[0].Feature != "os" || down[0].EntityID != "1" || down[0].Fingerprint != schema.Fingerprint(gen.Registry) {
			t.Fatalf("downsynced rows after the reload (want one of os, user 1, fingerprint %s): %+v", schema.Fingerprint(gen.Registry), down)
		}

		writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
		waitServing(t, s, gen.Fingerprint)
		s.push(t, push)
		s.query(t, `query Home { user(id: 1) { os } }`)
		if served, down := rows(); len(served) != 1 || len(down) != 1 {
			t.Fatalf("turned off again, the sink should hold the same rows: %d served, %d downsynced", len(served), len(down))
		}
	})
	t.Run("without_a_sink", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
		s := startLiveOffline(t, dir, LiveOptions{Watch: true}, true, nil)
		first := s.live.Serving().Fingerprint
		writeFile(t, filepath.Join(dir, "r.yaml"), liveOffline)
		deadline := time.Now().Add(10 * time.Second)
		for {
			last := s.live.Status().Last
			if last != nil {
				if last.Outcome != "failed" || !strings.Contains(strings.Join(last.Problems, "; "), "--offline-sink") {
					t.Fatalf("the reload should fail naming --offline-sink: %+v", last)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no reload outcome after 10 s (serving %s):\n%s", s.live.Serving().Fingerprint, s.logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if s.live.Serving().Fingerprint != first {
			t.Fatal("the refused registry is served")
		}
		if a := s.query(t, `{ user(id: 1) { os } }`); len(a.Errors) > 0 {
			t.Fatalf("the previous registry should keep answering: %+v", a.Errors)
		}
	})
}
