package memory

import (
	"cmp"
	"context"
	"slices"

	"github.com/featuregraph/featuregraph/store"
)

var _ store.StaticHistoryReader = (*Store)(nil)

// eventLog is every event an action feature was ever written (each event once, as DynamoDB
// keeps them), newest first, for point-in-time reads: the series itself forgets a repeated
// member's older time and trims to maxCount, so it cannot tell what it held in the past.
type eventLog struct {
	events []loggedEvent
}

type loggedEvent struct {
	store.ActionEvent
	expireAt int64 // Unix seconds; 0 = never
}

// logEvent records w in its key's log (s.mu held for writing).
func (s *Store) logEvent(w store.ActionWrite) {
	l := s.history[w.Key]
	if l == nil {
		l = &eventLog{}
		s.history[w.Key] = l
	}
	e := loggedEvent{ActionEvent: store.ActionEvent{TS: w.TS, Member: w.Member}, expireAt: w.ExpireAt()}
	i, found := slices.BinarySearchFunc(l.events, e, func(a, b loggedEvent) int {
		if c := cmp.Compare(b.TS, a.TS); c != 0 {
			return c
		}
		return cmp.Compare(b.Member, a.Member)
	})
	if found {
		l.events[i].expireAt = max(l.events[i].expireAt, e.expireAt)
		return
	}
	l.events = slices.Insert(l.events, i, e)
}

// pointInTime answers a query with MaxTS from the log (s.mu held for reading).
func (s *Store) pointInTime(q store.ActionQuery, nowSec int64) []store.ActionEvent {
	l := s.history[q.Key]
	if l == nil {
		return nil
	}
	all := make([]store.ActionEvent, 0, len(l.events))
	for _, e := range l.events {
		if e.expireAt == 0 || e.expireAt > nowSec {
			all = append(all, e.ActionEvent)
		}
	}
	return store.PointInTime(all, q)
}

// version is one kept version of a static feature, oldest first in Store.statics.
type version struct {
	store.StaticValue
	expireAt int64 // Unix seconds; 0 = never
}

// keepVersions records the versions of writes that keep history (s.mu held for writing).
func (s *Store) keepVersions(writes []store.StaticWrite) {
	for _, w := range writes {
		if !w.History {
			continue
		}
		v := version{StaticValue: store.StaticValue{Value: w.Value, TS: w.TS}}
		if w.HistoryTTL > 0 {
			v.expireAt = (w.TS + w.HistoryTTL.Milliseconds()) / 1000
		}
		vs := s.statics[w.Key]
		i, found := slices.BinarySearchFunc(vs, w.TS, func(a version, ts int64) int { return cmp.Compare(a.TS, ts) })
		if found {
			vs[i] = v
		} else {
			vs = slices.Insert(vs, i, v)
		}
		s.statics[w.Key] = vs
	}
}

// ReadStaticAsOf implements store.StaticHistoryReader.
func (s *Store) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, &store.BackendError{Backend: "memory", Op: "read static history", Err: err}
	}
	nowSec := s.now().Unix()
	out := make(map[store.Key]store.StaticValue, len(keys))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		vs := s.statics[k]
		for i := len(vs) - 1; i >= 0; i-- {
			if vs[i].TS > asOf {
				continue
			}
			if vs[i].expireAt == 0 || vs[i].expireAt > nowSec {
				out[k] = vs[i].StaticValue
			}
			break
		}
	}
	return out, nil
}
