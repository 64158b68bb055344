package ingest

import (
	"sync/atomic"

	"github.com/featuregraph/featuregraph/registry"
)

// Router routes events to the feature specs of a registry: *Dispatcher, or *LiveDispatcher
// whose registry is replaced while it runs (the live registry). push and kafka take one.
type Router interface {
	Dispatch(env Envelope) (*Result, error)
	// Topics is the topics the registry's specs read, with the streams that use each.
	Topics() map[string][]string
	// Registry is the registry routed by.
	Registry() *registry.Registry
}

var (
	_ Router = (*Dispatcher)(nil)
	_ Router = (*LiveDispatcher)(nil)
)

// LiveDispatcher is a Dispatcher that can be replaced while events are routed: each event is
// routed by one Dispatcher (the one published when its Dispatch started), never by two.
type LiveDispatcher struct {
	d atomic.Pointer[Dispatcher]
}

// NewLiveDispatcher routes with d until Swap.
func NewLiveDispatcher(d *Dispatcher) *LiveDispatcher {
	l := &LiveDispatcher{}
	l.d.Store(d)
	return l
}

// Swap routes the events dispatched from now on with d.
func (l *LiveDispatcher) Swap(d *Dispatcher) { l.d.Store(d) }

// Dispatch implements Router.
func (l *LiveDispatcher) Dispatch(env Envelope) (*Result, error) { return l.d.Load().Dispatch(env) }

// Topics implements Router.
func (l *LiveDispatcher) Topics() map[string][]string { return l.d.Load().Topics() }

// Registry implements Router.
func (l *LiveDispatcher) Registry() *registry.Registry { return l.d.Load().Registry() }
