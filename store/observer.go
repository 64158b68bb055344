package store

import "time"

// Observer is told about every backend round trip: Prometheus metrics and the tests that count
// calls (one BatchGetItem round, one Redis pipeline) implement it. Implementations must be safe
// for concurrent use and fast; they run on the request path.
type Observer interface {
	// BackendCall reports one call: backend ("dynamodb", "redis"), op (the API name, e.g.
	// "BatchGetItem", "pipeline"), items (keys or commands carried), its duration and error.
	BackendCall(backend, op string, items int, d time.Duration, err error)
	// Cache reports a cache lookup outcome: cache ("static", "negative"), hit or miss.
	Cache(cache string, hit bool)
}

// NopObserver ignores everything.
type NopObserver struct{}

// BackendCall implements Observer.
func (NopObserver) BackendCall(string, string, int, time.Duration, error) {}

// Cache implements Observer.
func (NopObserver) Cache(string, bool) {}

// CacheCounter is an Observer that takes many cache outcomes at once (Prometheus metrics do:
// one counter add instead of one per value). ReportCache uses it when the Observer has it.
type CacheCounter interface {
	CacheN(cache string, hits, misses int)
}

// ReportCache tells o about hits and misses of cache.
func ReportCache(o Observer, cache string, hits, misses int) {
	if c, ok := o.(CacheCounter); ok {
		c.CacheN(cache, hits, misses)
		return
	}
	for range hits {
		o.Cache(cache, true)
	}
	for range misses {
		o.Cache(cache, false)
	}
}
