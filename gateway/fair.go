package gateway

import (
	"context"
	"sync"
	"time"
)

// Fair admission per client (access control on): one client may hold at most a share of the
// door's slots (three quarters of --max-in-flight, at least 1) and of the values budget (three
// quarters of --max-in-flight-values); beyond its share its requests wait in the queue for one of
// its own slots (at most --queue-wait) or get 503, while the slots it cannot take stay for the
// other clients. So a flood from one client never refuses another client's cheap queries (the
// quarter it leaves free is theirs); a lone client loses a quarter of the slots only when it
// would hold them all.
type fairShare struct {
	mu       sync.Mutex
	clients  map[string]*share
	maxSlots int
	maxCost  int64
}

type share struct {
	slots chan struct{}
	cost  int64 // units held (under fairShare.mu)
	users int   // requests holding or waiting for the entry (under fairShare.mu)
}

func newFairShare(maxInFlight int, maxCost int64) *fairShare {
	return &fairShare{clients: map[string]*share{}, maxSlots: max(1, maxInFlight-maxInFlight/4), maxCost: max(1, maxCost-maxCost/4)}
}

func (f *fairShare) get(client string) *share {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.clients[client]
	if s == nil {
		s = &share{slots: make(chan struct{}, f.maxSlots)}
		f.clients[client] = s
	}
	s.users++
	return s
}

func (f *fairShare) put(client string, s *share) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.users--; s.users == 0 && s.cost == 0 {
		delete(f.clients, client)
	}
}

// enter takes one of the client's slots within wait.
func (f *fairShare) enter(ctx context.Context, client string, wait time.Duration) (*share, bool) {
	s := f.get(client)
	select {
	case s.slots <- struct{}{}:
		return s, true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return s, true
	case <-t.C:
	case <-ctx.Done():
	}
	f.put(client, s)
	return nil, false
}

func (f *fairShare) leave(client string, s *share) {
	<-s.slots
	f.put(client, s)
}

// takeCost takes n units of the client's values share, or reports false at once.
func (f *fairShare) takeCost(s *share, n int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.cost+n > f.maxCost {
		return false
	}
	s.cost += n
	return true
}

func (f *fairShare) giveCost(s *share, n int64) {
	f.mu.Lock()
	s.cost -= n
	f.mu.Unlock()
}
