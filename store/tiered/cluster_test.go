package tiered_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// TestClusterFailover runs the tiered store on a real six-node Redis Cluster and kills a master
// while events and static values are written and read: every read is answered (Redis or the
// DynamoDB fallback) with no error, every static read is at least as new as the last write
// that returned before it, every write succeeds (statics too: none waits for the dead shard),
// Redis writes to the failed shard resume within 10 s of the election, the healthy shards are
// written throughout, and at the end every written event is served (no event lost) and Redis
// holds every static as last written, including one written just before the kill and never
// again (a failover may lose it from the promoted replica; it is then written back).
func TestClusterFailover(t *testing.T) {
	testenv.Slow(t, "a six-node Redis Cluster, a killed primary and its replica's election")
	cluster := testenv.NewRedisCluster(t)
	rs, err := redis.New(redis.Config{Addrs: cluster.Addrs(), Cluster: true, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tiered.New(rs, newTable(t, nil), tiered.Config{RedisRetryAfter: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	ctx := context.Background()

	keys := make([]store.Key, 24)
	queries := make([]store.ActionQuery, len(keys))
	seqKeys, onceKeys := make([]store.Key, len(keys)), make([]store.Key, len(keys)) // statics
	seqQuery := store.StaticQuery{Prefix: "tt", Features: []string{"region_id"}}
	for i := range keys {
		keys[i] = newKey("clicks")
		queries[i] = store.ActionQuery{Key: keys[i], Count: 1000, MaxCount: 1000, Dedupe: true}
		mustWrite(t, ts, events(keys[i], 1, 1, 1000, true)...)
		seqKeys[i], onceKeys[i] = newKey("region_id"), newKey("os")
		seqQuery.IDs = append(seqQuery.IDs, seqKeys[i].ID)
		mustWriteStatic(t, ts, store.StaticWrite{Key: seqKeys[i], Value: store.IntValue(0), TS: 1})
	}
	mustRead(t, ts, queries...) // falls back and refills every series
	ts.WaitBackground()

	victim := cluster.MasterOf(keys[0].String())
	var onVictim, healthy []int
	for i, k := range keys {
		if cluster.MasterOf(k.String()) == victim {
			onVictim = append(onVictim, i)
		} else {
			healthy = append(healthy, i)
		}
	}

	var written sync.Map       // key index -> *atomic.Int64 events written
	var staticSeq atomic.Int64 // the seq of the last static write that returned
	var writeErrs, readErrs, staleReads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writer: one event per key every 20 ms
		defer wg.Done()
		seq := 0
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			seq++
			var ws []store.ActionWrite
			for _, k := range keys {
				ts := time.Now().UnixMilli()
				m, _ := store.EncodeMember(map[string]any{"article_id": seq}, ts, true)
				ws = append(ws, store.ActionWrite{Key: k, TS: ts, Member: m, MaxCount: 1000, TTL: 24 * time.Hour})
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := ts.WriteActions(wctx, ws)
			cancel()
			if err != nil {
				writeErrs.Add(1)
				t.Errorf("write failed: %v", err)
				continue
			}
			for i := range keys {
				n, _ := written.LoadOrStore(i, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
			var sws []store.StaticWrite
			for _, k := range seqKeys {
				sws = append(sws, store.StaticWrite{Key: k, Value: store.IntValue(int64(seq)), TS: int64(1 + seq)})
			}
			wctx, cancel = context.WithTimeout(ctx, 2*time.Second)
			err = ts.WriteStatic(wctx, sws)
			cancel()
			if err != nil {
				writeErrs.Add(1)
				t.Errorf("static write failed: %v", err)
				continue
			}
			staticSeq.Store(int64(seq))
		}
	}()
	go func() { // reader: every series every 50 ms, 1 s deadline
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := ts.ReadActions(rctx, queries)
			cancel()
			if err != nil {
				readErrs.Add(1)
				t.Errorf("read failed: %v", err)
			}
			floor := staticSeq.Load()
			out := make([]store.StaticValue, seqQuery.Len())
			rctx, cancel = context.WithTimeout(ctx, time.Second)
			err = ts.ReadStatic(rctx, seqQuery, out)
			cancel()
			if err != nil {
				readErrs.Add(1)
				t.Errorf("static read failed: %v", err)
				continue
			}
			for i, v := range out {
				if v.Kind != store.Int || v.Num < floor {
					staleReads.Add(1)
					t.Errorf("static %d: read %v, older than seq %d written before the read", i, v.Value, floor)
				}
			}
		}
	}()

	time.Sleep(500 * time.Millisecond)
	var once []store.StaticWrite
	for _, k := range onceKeys {
		once = append(once, store.StaticWrite{Key: k, Value: store.StringValue("before the kill"), TS: time.Now().UnixMilli()})
	}
	mustWriteStatic(t, ts, once...)
	killed := time.Now()
	cluster.Kill(victim)
	// Direct Redis writes to the failed shard: when do they work again?
	probe := "{" + keys[onVictim[0]].String() + "}probe"
	healthyProbe := "{" + keys[healthy[0]].String() + "}probe"
	var resumed time.Duration
	healthyFailures := 0
	for time.Since(killed) < 30*time.Second {
		hctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		if rs.Client().Set(hctx, healthyProbe, "1", time.Minute).Err() != nil {
			healthyFailures++
		}
		cancel()
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := rs.Client().Set(pctx, probe, "1", time.Minute).Err()
		cancel()
		if err == nil {
			resumed = time.Since(killed)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	electedAfter := cluster.WaitOK(30*time.Second) + resumed
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("master %s killed: %d series on it, %d on healthy shards; Redis writes to its slots resumed after %s (cluster ok after ≤ %s); "+
		"%d write errors, %d read errors, %d stale static reads, %d failed writes to a healthy shard",
		victim, len(onVictim), len(healthy), resumed.Round(10*time.Millisecond), electedAfter.Round(10*time.Millisecond),
		writeErrs.Load(), readErrs.Load(), staleReads.Load(), healthyFailures)
	if resumed == 0 || resumed > 15*time.Second {
		t.Fatalf("Redis writes to the failed shard did not resume within 15 s of the kill (election ≈ 2–4 s + 10 s): %s", resumed)
	}

	// No event lost: once the stale series are dropped, every series served (through Redis,
	// refilled from DynamoDB where needed) holds every event written.
	for deadline := time.Now().Add(15 * time.Second); ts.StaleSeries()+ts.PendingStatics() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d stale series, %d pending statics left 15 s after the failover", ts.StaleSeries(), ts.PendingStatics())
		}
	}
	// Redis itself holds every static as last written.
	last := staticSeq.Load()
	for i := range keys {
		v, err := store.ReadKey(ctx, rs, seqKeys[i])
		if err != nil || v.Kind != store.Int || v.Num != last {
			t.Errorf("static %d in Redis: %v @%d (%v), want %d", i, v.Value, v.TS, err, last)
		}
		v, err = store.ReadKey(ctx, rs, onceKeys[i])
		if err != nil || v.Str != "before the kill" {
			t.Errorf("static written before the kill, %d in Redis: %v (%v)", i, v.Value, err)
		}
	}
	got := mustRead(t, ts, queries...)
	lost := 0
	for i, q := range queries {
		n, _ := written.Load(i)
		want := 1 + int(n.(*atomic.Int64).Load())
		if len(got[q]) != want {
			lost += want - len(got[q])
			t.Errorf("series %d: %d events served, %d written", i, len(got[q]), want)
		}
	}
	t.Logf("events lost: %d", lost)
}
