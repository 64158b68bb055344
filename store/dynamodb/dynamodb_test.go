package dynamodb_test

import (
	"context"
	"fmt"
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
