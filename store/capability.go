package store

// Optional capabilities. A store may offer more than Store: point-in-time reads
// (StaticHistoryReader), the health of its tiers (Degrader), what it has yet to bring up to
// date (Backlog). Decorators (store/traced, the serving command's wrapper, …) implement Store
// and Unwrap, not every optional interface of what they wrap; callers find a capability with
// As, which looks through them. A decorator may implement a capability itself (to trace it, say):
// As then finds the decorator's.

// Decorator is a store that wraps another and passes its calls on.
type Decorator interface {
	// Unwrap returns the wrapped store.
	Unwrap() Store
}

// As returns the first of s, s.Unwrap(), s.Unwrap().Unwrap(), … that implements T. s may be any
// value (a Reader, a Pinger): only decorators are looked through.
func As[T any](s any) (T, bool) {
	for s != nil {
		if t, ok := s.(T); ok {
			return t, true
		}
		d, ok := s.(Decorator)
		if !ok {
			break
		}
		next := d.Unwrap()
		if next == nil {
			break
		}
		s = next
	}
	var zero T
	return zero, false
}

// Degrader is a store that can serve without one of its backends (the tiered store without
// Redis): Degraded names those it serves without now.
type Degrader interface {
	Degraded() []string
}

// Backlog is a store that keeps a copy up to date in the background (the tiered store's Redis):
// action series it has yet to drop and static features it has yet to write through.
type Backlog interface {
	StaleSeries() int
	PendingStatics() int
}
