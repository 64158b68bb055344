package plan_test

import (
	"context"
	"sync"
	"testing"

	"github.com/featuregraph/featuregraph/plan/querygen"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// calls counts the store calls of the plan path.
type calls struct {
	store.Reader
	mu              sync.Mutex
	static, actions int
}

func (c *calls) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	c.mu.Lock()
	c.static++
	c.mu.Unlock()
	return c.Reader.ReadStatic(ctx, q, out)
}

func (c *calls) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	c.mu.Lock()
	c.actions++
	c.mu.Unlock()
	return c.Reader.ReadActions(ctx, qs)
}

// TestOneReadPerLevel: a plan reads each level's static features in one call per entity kind
// (a store.StaticQuery is of one kind) and its action features in one call, whatever the number
// of root fields, aliases and entities: here root users and articles with statics and actions
// (level 0: 2 static reads, 1 action read), their joined articles and users (level 1: 2 and 1)
// and the users those join to (level 2: 1 static read).
func TestOneReadPerLevel(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{Reader: querygen.NewStore(reg, 7, 0)}
	srv := newServer(t, reg, c, true)
	q := querygen.Query{Text: `{
		users(ids: [1, 2, 3]) { os a: regionId recentClickedArticles(count: 5) { article { price recentViewers(count: 3) { user { os } } } } }
		b: users(ids: [4]) { isVerified recentPurchases { article { title } } }
		articles(ids: [5, 6]) { price recentViewers { user { os recentSearches { query } } } }
	}`}
	body := post(t, srv.URL, q)
	if len(body) < 100 {
		t.Fatalf("short answer %s", body)
	}
	if c.static != 5 || c.actions != 2 {
		t.Errorf("got %d static and %d action reads, want 5 and 2 (one per entity kind and level, one per level)", c.static, c.actions)
	}
}
