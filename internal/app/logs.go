package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// routeLibraryLogs sends the logs of libraries through the configured handler, so that every line
// follows --log-format and --log-level: go-redis's internal logger (redis.SetLogger, process-wide)
// and slog.Default (the log package's default logger too). The last command run in a process
// wins; tests run several, each with its own writer.
func routeLibraryLogs(log *slog.Logger) {
	libLogs.mu.Lock()
	defer libLogs.mu.Unlock()
	libLogs.log = log
	libLogs.once.Do(func() { goredis.SetLogger(redisLogger{}) })
	slog.SetDefault(log)
}

var libLogs struct {
	mu   sync.Mutex
	once sync.Once
	log  *slog.Logger
}

// redisLogger is go-redis's internal.Logging, writing warnings through slog.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	libLogs.mu.Lock()
	log := libLogs.log
	libLogs.mu.Unlock()
	log.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
