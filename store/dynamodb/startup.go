package dynamodb

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// startupTimeout bounds each ping of CheckAtStart.
const startupTimeout = 3 * time.Second

// CheckAtStart pings the table and, when cache is not nil, Redis, when a command starts. A
// missing table is returned (ErrTableMissing, naming init-table): the command cannot work and
// waiting does not help. An unreachable backend is only logged: the process starts all the same
// (it serves what the other backend holds, and /readyz names the sick one), so that a backend
// coming up later does not need a restart.
func CheckAtStart(ctx context.Context, s *Store, cache store.Pinger, log *slog.Logger) error {
	pctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		if errors.Is(err, ErrTableMissing) {
			return err
		}
		log.Warn("DynamoDB is unreachable at start; starting all the same (reads that need it fail, /readyz says degraded: dynamodb)",
			"table", s.cfg.Table, "err", err)
	}
	if cache != nil {
		if err := cache.Ping(pctx); err != nil {
			log.Warn("Redis is unreachable at start; starting all the same (reads fall back to DynamoDB, /readyz says degraded: redis)", "err", err)
		}
	}
	return nil
}
