package app

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
)

// staticCacheOverhead is the memory a serving process takes besides its in-process static
// cache (binary, goroutines, buffers, in-flight requests at the default limits), the fixed part
// of the bound README's "Static cache" states: RSS ≤ 1.5 × --static-cache-size + 64 MiB.
const staticCacheOverhead = 64 << 20

// cacheMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) of a process whose
// static cache may hold size bytes: the cache's bound plus half of it as the GC's headroom,
// plus the fixed overhead. Without a limit the heap grows to twice its live set (GOGC=100)
// before a collection, so a full cache alone would take twice its bound.
func cacheMemoryLimit(size int) int64 {
	return int64(size)*3/2 + staticCacheOverhead
}

// limitMemoryForCache sets that limit when the static cache is on, unless GOMEMLIMIT (which
// the Go runtime reads itself) says otherwise or a lower limit is already set.
func limitMemoryForCache(size int, log *slog.Logger) { limitMemory(size, os.Getenv("GOMEMLIMIT"), log) }

func limitMemory(size int, gomemlimit string, log *slog.Logger) {
	if size <= 0 || gomemlimit != "" {
		return
	}
	limit := cacheMemoryLimit(size)
	if cur := debug.SetMemoryLimit(-1); cur != math.MaxInt64 && cur <= limit {
		return
	}
	debug.SetMemoryLimit(limit)
	log.Debug("memory: soft limit for the static cache", "limit_mib", limit>>20, "static_cache_mib", size>>20)
}
