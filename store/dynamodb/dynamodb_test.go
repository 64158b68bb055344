package dynamodb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var tableSeq atomic.Int64

// newTableStore creates a fresh table on the shared dynalite and returns a store on it.
func newTableStore(t *testing.T, obs store.Observer) *dynamodb.Store {
	t.Helper()
	endpoint := testenv.DynamoDB(t)
	cfg := dynamodb.Config{
		Endpoint: endpoint,
		Region:   "us-east-1",
		Table:    fmt.Sprintf("fg_test_%d_%d", time.Now().UnixNano()%1e9, tableSeq.Add(1)),
		Observer: obs,
		Values:   storetest.Values,
	}
	ctx := context.Background()
	s, err := dynamodb.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, newTableStore(t, nil))
}

func TestFilterAndPointInTimeContract(t *testing.T) {
	s := newTableStore(t, nil)
	storetest.RunFilter(t, s, storetest.Options{})
	storetest.RunPointInTime(t, s, storetest.Options{})
}

// calls counts SDK calls by API name and the most run at once.
type calls struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *calls) BackendCall(_, op string, _ int, _ time.Duration, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil {
		c.ops = map[string]int{}
	}
	c.ops[op]++
}
func (c *calls) Cache(string, bool) {}
func (c *calls) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     dynamodb.Config
		wantErr []string
	}{
		{"zero_is_defaults", dynamodb.Config{}, nil},
		{"defaults", dynamodb.DefaultConfig(), nil},
		{"local", dynamodb.Config{Endpoint: "http://127.0.0.1:8000", Table: "features"}, nil},
		{"short_table", dynamodb.Config{Table: "ab"}, []string{"Table"}},
		{"bad_table_chars", dynamodb.Config{Table: "my table"}, []string{"Table"}},
		{"bad_endpoint", dynamodb.Config{Endpoint: "localhost:8000"}, []string{"Endpoint"}},
		{"half_credentials", dynamodb.Config{AccessKeyID: "AK"}, []string{"AccessKeyID"}},
		{"negatives", dynamodb.Config{Concurrency: -1, MaxAttempts: -1, RetryBaseDelay: -1}, []string{"Concurrency", "MaxAttempts", "RetryBaseDelay"}},
		{"max_below_base", dynamodb.Config{RetryBaseDelay: time.Second, RetryMaxDelay: time.Millisecond}, []string{"RetryMaxDelay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("want errors %v, got %v", tt.wantErr, err)
			}
			for _, f := range tt.wantErr {
				if !strings.Contains(err.Error(), f+":") {
					t.Fatalf("error does not name field %s: %v", f, err)
				}
			}
		})
	}
}
