package dynamodb_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
)

type failingPing struct{}

func (failingPing) Ping(context.Context) error {
	return errors.New("dial tcp 127.0.0.1:1: connection refused")
}

// A missing table is an error naming init-table at once (it used to be retried forever, so
// `serve --demo` never listened); reads and writes of it are not ErrUnavailable (ingestion
// does not retry them); an unreachable backend at start is only logged.
func TestCheckAtStart(t *testing.T) {
	ctx := context.Background()
	s, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: testenv.DynamoDB(t), Table: "fg_never_created"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	start := time.Now()
	err = dynamodb.CheckAtStart(ctx, s, nil, log)
	if !errors.Is(err, dynamodb.ErrTableMissing) || !strings.Contains(err.Error(), "featuregraph init-table --dynamodb-table fg_never_created") {
		t.Fatalf("missing table: %v", err)
	}
	t.Logf("missing table reported after %s", time.Since(start).Round(time.Millisecond))
	werr := s.WriteStatic(ctx, []store.StaticWrite{{Key: store.Key{Prefix: "u", ID: "1", Feature: "os"}, Value: store.StringValue("ios"), TS: 1}})
	if !errors.Is(werr, dynamodb.ErrTableMissing) || errors.Is(werr, store.ErrUnavailable) || store.BackendOf(werr) != "dynamodb" {
		t.Errorf("write to a missing table: %v", werr)
	}

	ok := newTableStore(t, nil)
	if err := dynamodb.CheckAtStart(ctx, ok, failingPing{}, log); err != nil {
		t.Fatalf("Redis unreachable: %v", err)
	}
	if !strings.Contains(logs.String(), "Redis is unreachable at start") {
		t.Errorf("Redis unreachable at start not logged: %s", logs.String())
	}
	down, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: "http://127.0.0.1:1", Table: "fg_down", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamodb.CheckAtStart(ctx, down, nil, log); err != nil {
		t.Fatalf("DynamoDB unreachable: %v", err)
	}
	if !strings.Contains(logs.String(), "DynamoDB is unreachable at start") {
		t.Errorf("DynamoDB unreachable at start not logged: %s", logs.String())
	}
}
