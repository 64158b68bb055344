package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// openTiered starts redis-server and dynalite on free loopback ports and composes the
// production store over them (store/tiered with its defaults: static reads from Redis, which
// the load writes through, action reads from Redis; DynamoDB is the fallback of both).
//
// The generated read data goes in as production would have it for the read path: static values
// through the tiered store (DynamoDB), action events straight into Redis with redis.Store. The
// events are not copied to DynamoDB — dynalite would need minutes for the millions of items —
// so a Redis miss would read an empty series; the observer's "tiered" count (fallbacks) shows
// that none happens. S4 writes through the tiered store into a fresh table and Redis database.
func openTiered(ctx context.Context, o *options) (*backend, error) {
	redisAddr, stopRedis, err := testenv.StartRedis()
	if err != nil {
		return nil, err
	}
	endpoint, stopDynamo, err := testenv.StartDynamoDB()
	if err != nil {
		stopRedis()
		return nil, err
	}
	obs := &countingObserver{}
	var dbs atomic.Int32 // Redis databases handed out to S4 runs
	var closers []func() error
	open := func(ctx context.Context, table string, db int) (*tiered.Store, *redis.Store, error) {
		r, err := redis.New(redis.Config{Addrs: []string{redisAddr}, DB: db, Observer: obs})
		if err != nil {
			return nil, nil, err
		}
		d, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: endpoint, Table: table, Observer: obs, Values: o.reg})
		if err != nil {
			return nil, nil, errors.Join(err, r.Close())
		}
		if err := d.CreateTable(ctx); err != nil {
			return nil, nil, errors.Join(fmt.Errorf("create table %s: %w", table, err), r.Close())
		}
		cfg := tiered.DefaultConfig()
		cfg.StaticCacheTTL = o.staticCacheTTL
		cfg.Observer = obs
		t, err := tiered.New(r, d, cfg)
		if err != nil {
			return nil, nil, errors.Join(err, r.Close())
		}
		closers = append(closers, t.Close)
		return t, r, nil
	}
	cleanup := func() {
		for _, c := range closers {
			_ = c()
		}
		stopDynamo()
		stopRedis()
	}
	t, r, err := open(ctx, "featuregraph_bench", 0)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &backend{
		name:     backendTiered,
		reader:   t,
		pinger:   t,
		obs:      obs,
		loadInto: loadTarget{static: t, actions: r, parallel: 8},
		freshStore: func(ctx context.Context, run string) (*ingestStore, error) {
			db := int(dbs.Add(1))
			if db > 15 {
				return nil, errors.New("out of Redis databases for S4 runs")
			}
			st, _, err := open(ctx, fmt.Sprintf("featuregraph_bench_%s_%d", run, db), db)
			if err != nil {
				return nil, err
			}
			return &ingestStore{w: st, cleanup: func() { st.WaitBackground() }}, nil
		},
		close: cleanup,
	}, nil
}
