package ingest_test

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/registry"
)

// repoDir is the module root (see ingesttest.ModuleRoot).
func repoDir(testing.TB) string { return ingesttest.ModuleRoot() }

func exampleRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := registry.Load(filepath.Join(repoDir(t), "features"))
	if err != nil {
		t.Fatalf("load example registry: %v", err)
	}
	return reg
}

var fixedNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func exampleDispatcher(t testing.TB) *ingest.Dispatcher {
	return ingest.NewDispatcher(exampleRegistry(t), ingest.WithClock(func() time.Time { return fixedNow }))
}

// demoEvents returns the lines of features/demo/events.jsonl, or nil when the file is absent.
func demoEvents(t testing.TB) [][]byte {
	f, err := os.Open(filepath.Join(repoDir(t), "features", "demo", "events.jsonl"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out
}

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}
