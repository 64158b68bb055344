package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestLibraryLogsFollowTheLogFormat: with --log-format json, go-redis's own log lines and
// slog.Default come out as JSON through the configured handler.
func TestLibraryLogsFollowTheLogFormat(t *testing.T) {
	var buf bytes.Buffer
	if _, err := (LogOptions{Level: "info", Format: "json"}).Logger(&buf, true); err != nil {
		t.Fatal(err)
	}
	defer routeLibraryLogs(slog.New(slog.NewTextHandler(io.Discard, nil)))
	redisLogger{}.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts\n", 1)
	slog.Default().Warn("from a library")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
	}
	if !strings.Contains(lines[0], `"component":"go-redis"`) || !strings.Contains(lines[0], "failed to dial after 1 attempts") {
		t.Fatalf("go-redis line: %s", lines[0])
	}
}
