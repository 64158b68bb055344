package app

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitForCache: with the static cache on, the process's soft memory limit is
// 1.5 × its bound + 64 MiB, unless GOMEMLIMIT is set or a lower limit already holds.
func TestMemoryLimitForCache(t *testing.T) {
	prev := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(prev)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	limitMemory(256<<20, "", log)
	if got, want := debug.SetMemoryLimit(-1), int64(448<<20); got != want {
		t.Errorf("limit %d MiB, want %d MiB", got>>20, want>>20)
	}
	limitMemory(512<<20, "", log) // a lower limit holds
	if got := debug.SetMemoryLimit(-1); got != 448<<20 {
		t.Errorf("limit %d MiB after a bigger cache, want 448 MiB kept", got>>20)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(256<<20, "1GiB", log)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d with GOMEMLIMIT set, want the runtime's own", got)
	}
}
