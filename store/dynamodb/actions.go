package dynamodb

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/featuregraph/featuregraph/store"
)

// batchWriteLimit is the most items one BatchWriteItem may carry.
const batchWriteLimit = 25

// fracSpace is the number of fractions an event's sort key can take within its millisecond.
const fracSpace = 999_999_999_999_999

// eventSK is the sort key of an action event: "<ms>.<15 digits>", the digits derived from the
// member (FNV-1a) and never all zero. The same event always gets the same key, so a redelivery
// overwrites itself; two members in one millisecond collide only with probability 1e-15. Every
// event key is greater than its millisecond and so greater than 0, the static item's key.
func eventSK(ts int64, member string) string {
	h := fnv.New64a()
	h.Write([]byte(member))
	return fmt.Sprintf("%d.%015d", ts, h.Sum64()%fracSpace+1)
}

// Event is an action event as DynamoDB holds it, with its expiry.
type Event = store.StoredEvent

// WriteActions implements store.ActionWriter: one item per event (repeats of the same event in
// one call collapse to one, keeping the latest expiry), in BatchWriteItem calls of at most 25
// items run concurrently. UnprocessedItems are retried with exponential backoff and jitter
// within the deadline and Config.UnprocessedRetries rounds, then fail the call with
// store.ErrIncomplete. MaxCount is not applied here: the table keeps every event until its TTL,
// and reads answer as the trimmed Redis series would.
func (s *Store) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	type itemKey struct{ pk, sk string }
	index := make(map[itemKey]int, len(writes))
	var reqs []item
	var exps []int64
	for _, w := range writes {
		if w.TS < 0 {
			return &store.BackendError{Backend: backend, Op: "BatchWriteItem", Err: fmt.Errorf("%w: key %s: negative event time %d", store.ErrInvalid, w.Key, w.TS)}
		}
		k := itemKey{w.Key.String(), eventSK(w.TS, w.Member)}
		exp := w.ExpireAt()
		if i, dup := index[k]; dup {
			if exp > exps[i] || (exp == 0 && exps[i] != 0) { // 0 = never: the latest of all
				exps[i] = exp
				setExp(&reqs[i], exp)
			}
			continue
		}
		it := make(item, 4, 6)
		it[0], it[1], it[2], it[3] = field{"pk", attrS(k.pk)}, field{"sk", attrNum(k.sk)}, field{"ts", attrN(w.TS)}, field{"m", attrS(w.Member)}
		if v, ok := memberFields(w.Member); ok {
			it = append(it, field{"v", v})
		}
		setExp(&it, exp)
		index[k] = len(reqs)
		reqs = append(reqs, it)
		exps = append(exps, exp)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for start := 0; start < len(reqs); start += batchWriteLimit {
		batch := reqs[start:min(start+batchWriteLimit, len(reqs))]
		g.Go(func() error { return s.batchWrite(gctx, batch) })
	}
	return g.Wait()
}

func setExp(it *item, exp int64) {
	if exp > 0 {
		it.set("exp", attrN(exp))
	} else {
		it.del("exp")
	}
}

// memberFields is the member's JSON object as an M, for people reading the table.
func memberFields(member string) (attrValue, bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(member)))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return attrValue{}, false
	}
	av, err := toAttr(fields)
	return av, err == nil
}

// batchWrite writes at most 25 items, retrying UnprocessedItems.
func (s *Store) batchWrite(ctx context.Context, batch []item) error {
	for attempt := 0; ; attempt++ {
		left, err := call(s, "BatchWriteItem", len(batch), func() ([]item, error) {
			return s.db.batchWriteItem(ctx, s.cfg.Table, batch)
		})
		if err != nil {
			if attempt > 0 {
				return incomplete("BatchWriteItem", fmt.Sprintf("%s: %d items still unprocessed", s.cfg.Table, len(batch)), err)
			}
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if attempt >= s.cfg.UnprocessedRetries || !s.sleepBackoff(ctx, attempt) {
			return incomplete("BatchWriteItem", fmt.Sprintf("%s: %d items still unprocessed after %d attempts%s",
				s.cfg.Table, len(left), attempt+1, ctxNote(ctx)), nil)
		}
		batch = left
	}
}

// ReadActions implements store.ActionReader; see ReadEvents.
func (s *Store) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	evs, err := s.ReadEvents(ctx, queries)
	if err != nil {
		return nil, err
	}
	out := make(map[store.ActionQuery][]store.ActionEvent, len(evs))
	for q, es := range evs {
		if len(es) == 0 {
			out[q] = nil
			continue
		}
		as := make([]store.ActionEvent, len(es))
		for i, e := range es {
			as[i] = e.ActionEvent
		}
		out[q] = as
	}
	return out, nil
}

// ReadEvents answers each distinct query with one paginated Query (`pk = :pk AND sk >= :min`,
// newest first; `sk BETWEEN` MinTS and MaxTS+1 for a point-in-time query), the queries run
// concurrently; a Filter goes as a FilterExpression (filter.go). It answers exactly as the Redis
// sorted set that the same writes produce would: expired events (exp <= now) are skipped; with
// Dedupe only the newest occurrence of a member counts (it reads on until it has Count distinct
// members or the items run out, at most Config.MaxQueryItems); at most MaxCount members,
// counted from the newest, are ever returned; events of one millisecond are ordered by member,
// descending. The tiered store uses ExpireAt to refill Redis.
func (s *Store) ReadEvents(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]Event, error) {
	out := make(map[store.ActionQuery][]Event, len(queries))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	seen := make(map[store.ActionQuery]bool, len(queries))
	for _, q := range queries {
		if seen[q] {
			continue
		}
		seen[q] = true
		g.Go(func() error {
			evs, err := s.query(gctx, q)
			if err != nil {
				return err
			}
			mu.Lock()
			out[q] = evs
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for q := range seen {
		if _, ok := out[q]; !ok {
			out[q] = nil
		}
	}
	return out, nil
}

// query answers one ActionQuery.
func (s *Store) query(ctx context.Context, q store.ActionQuery) ([]Event, error) {
	want := q.Count
	if q.MaxCount > 0 {
		want = min(want, q.MaxCount)
	}
	if want <= 0 {
		return nil, nil
	}
	kc, vals := keyCondition(q)
	in := &queryInput{
		key:        condition{expr: kc, names: map[string]string{"#ts": "ts", "#exp": "exp"}, values: vals},
		consistent: s.cfg.ConsistentRead,
		projection: "#ts, m, #exp",
	}
	if q.Filter != nil {
		in.filter = filterExpression(q.Filter, in.key.names, in.key.values)
	}
	nowSec := s.now().Unix()
	var evs []Event
	seen := make(map[string]bool)
	read := 0 // items DynamoDB evaluated (before the filter expression)
	for {
		// One item past what is needed shows whether the last millisecond is complete; with
		// dedupe, read twice as far since repeats are skipped; with a filter, further still.
		need := want - len(evs)
		limit := need + 1
		if q.Dedupe {
			limit = 2*need + 1
		}
		if q.Filter != nil {
			limit = 4*need + 16
		}
		in.limit = min(max(limit, 4), 1000, s.cfg.MaxQueryItems-read)
		out, err := call(s, "Query", 1, func() (queryOutput, error) { return s.db.query(ctx, s.cfg.Table, in) })
		if err != nil {
			return nil, err
		}
		read += out.scannedCount
		for _, item := range out.items {
			ts, _ := intAttr(item, "ts")
			if len(evs) >= want && ts < evs[len(evs)-1].TS {
				return s.cut(ctx, q, finish(evs, want), read)
			}
			if exp, ok := intAttr(item, "exp"); ok && exp > 0 && exp <= nowSec {
				continue
			}
			m, _ := stringAttr(item, "m")
			if q.Dedupe {
				if seen[m] {
					continue
				}
				seen[m] = true
			}
			if !q.Filter.Match(m) {
				continue
			}
			exp, _ := intAttr(item, "exp")
			evs = append(evs, Event{ActionEvent: store.ActionEvent{TS: ts, Member: m}, ExpireAt: exp})
		}
		if len(out.lastKey) == 0 || read >= s.cfg.MaxQueryItems ||
			(q.Filter != nil && !q.Dedupe && q.MaxCount > 0 && read > q.MaxCount) {
			return s.cut(ctx, q, finish(evs, want), read)
		}
		in.startKey = out.lastKey
	}
}

// keyCondition selects the events of q's window: sk >= MinTS and, for a point-in-time query,
// sk < MaxTS+1 (an event's sort key is its millisecond plus a non-zero fraction), never the
// static item (sk 0).
func keyCondition(q store.ActionQuery) (string, map[string]attrValue) {
	vals := map[string]attrValue{":pk": attrS(q.Key.String())}
	lower := "sk > :min"
	vals[":min"] = attrN(0)
	if q.MinTS > 0 {
		lower = "sk >= :min"
		vals[":min"] = attrN(q.MinTS)
	}
	if q.MaxTS > 0 {
		vals[":max"] = attrN(q.MaxTS + 1)
		if q.MinTS > 0 {
			return "pk = :pk AND sk BETWEEN :min AND :max", vals
		}
		vals[":min"] = attrNum("0.000000000000001")
		return "pk = :pk AND sk BETWEEN :min AND :max", vals
	}
	return "pk = :pk AND " + lower, vals
}

// cut drops the matches of a filtered query that lie beyond the series: the series holds only
// the newest MaxCount events (distinct members with dedupe), and a filtered Query that
// evaluated more items than that may have matched older ones. The series' oldest event is then
// read with an unfiltered query (up to MaxCount items more: the cost of a selective filter on a
// long series).
func (s *Store) cut(ctx context.Context, q store.ActionQuery, evs []Event, read int) ([]Event, error) {
	if q.Filter == nil || q.MaxCount <= 0 || read <= q.MaxCount || len(evs) == 0 {
		return evs, nil
	}
	all := q
	all.Filter, all.Count = nil, q.MaxCount
	series, err := s.query(ctx, all)
	if err != nil {
		return nil, err
	}
	if len(series) < q.MaxCount {
		return evs, nil
	}
	last := series[len(series)-1]
	for i, e := range evs {
		if e.TS < last.TS || (e.TS == last.TS && e.Member < last.Member) {
			return evs[:i], nil
		}
	}
	return evs, nil
}

// finish orders events as ZRANGE ... REV does (time, then member, descending) and keeps want.
func finish(evs []Event, want int) []Event {
	slices.SortStableFunc(evs, func(a, b Event) int {
		if c := cmp.Compare(b.TS, a.TS); c != 0 {
			return c
		}
		return cmp.Compare(b.Member, a.Member)
	})
	return evs[:min(len(evs), want)]
}
