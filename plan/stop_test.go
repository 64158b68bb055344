package plan

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/registry"
	gqlschema "github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// endsAfter is a context whose deadline passes after it was asked n times whether it has
// ended: a deadline that passes at a known point of the work, without a clock.
type endsAfter struct {
	context.Context
	n atomic.Int64
}

func (c *endsAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// bigRun prepares the plan of a users(ids:) query of 1000 users, each with statics and events,
// over the memory store, and reads its levels.
func bigRun(t *testing.T) (*Executor, *run, *Plan) {
	t.Helper()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	user, article := reg.Entity("user"), reg.Entity("article")
	var sw []store.StaticWrite
	var aw []store.ActionWrite
	clicks := user.Feature("recent_clicked_articles")
	ids := make([]string, 1000)
	for i := range ids {
		id := strconv.Itoa(i + 1)
		ids[i] = id
		sw = append(sw, store.StaticWrite{Key: store.Key{Prefix: user.Prefix, ID: id, Feature: "os"}, Value: store.Value{Kind: store.String, Str: "ios"}, TS: 1},
			store.StaticWrite{Key: store.Key{Prefix: article.Prefix, ID: id, Feature: "title"}, Value: store.Value{Kind: store.String, Str: "title " + id}, TS: 1})
		for e := range 3 {
			m, err := store.EncodeMember(map[string]any{"article_id": i + e + 1, "source": "feed"}, int64(1700000000000+e), clicks.Dedupe)
			if err != nil {
				t.Fatal(err)
			}
			aw = append(aw, store.ActionWrite{Key: store.Key{Prefix: user.Prefix, ID: id, Feature: clicks.Name}, TS: int64(1700000000000 + e),
				Member: m, MaxCount: clicks.MaxCount})
		}
	}
	if err := mem.WriteStatic(context.Background(), sw); err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteActions(context.Background(), aw); err != nil {
		t.Fatal(err)
	}
	ex, err := New(reg, mem, Config{})
	if err != nil {
		t.Fatal(err)
	}
	schema := gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(gqlschema.SDL(reg))})
	text := `{ users(ids: [` + strings.Join(ids, ",") + `]) { id os recentClickedArticles(count: 3) { source article { title } } } }`
	doc, gerr := gqlparser.LoadQuery(schema, text)
	if gerr != nil {
		t.Fatal(gerr)
	}
	oc := &graphql.OperationContext{RawQuery: text, Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}
	p := ex.planFor(context.Background(), oc)
	if p == nil {
		t.Fatal("the query is not covered by plans")
	}
	r := ex.prepare(graphql.WithOperationContext(context.Background(), oc), p, nil)
	r.execute()
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}
	return ex, r, p
}

// TestWriterStopsWhenTheDeadlinePasses: the deadline passes while a 1000-user answer is being
// written (at the writer's fourth look at its context): the writer stops there, having visited
// 4 × checkEvery objects of the 7000 (users, their events, the joined articles) and written a
// small part of the answer, and reports the context's error.
func TestWriterStopsWhenTheDeadlinePasses(t *testing.T) {
	_, r, p := bigRun(t)
	whole := writer{ctx: context.Background()}
	full := whole.write(nil, r, p)
	if whole.err != nil || whole.objects != 7000 { // 1000 users, 3000 events, 3000 articles
		t.Fatalf("a whole write: %d objects, %v", whole.objects, whole.err)
	}
	ctx := &endsAfter{Context: context.Background()}
	ctx.n.Store(3)
	w := writer{ctx: ctx}
	part := w.write(nil, r, p)
	if !errors.Is(w.err, context.DeadlineExceeded) {
		t.Fatalf("the writer did not stop: %v", w.err)
	}
	if w.objects != 4*checkEvery || len(part) > len(full)/10 {
		t.Errorf("the writer went on after the deadline: %d of %d objects, %d of %d bytes", w.objects, whole.objects, len(part), len(full))
	}
}

// TestEndedRunIsATimeout: a plan run whose context has ended reads nothing and answers one
// TIMEOUT error without data; with the context alive the same operation is answered whole.
func TestEndedRunIsATimeout(t *testing.T) {
	ex, r, _ := bigRun(t)
	oc := graphql.GetOperationContext(r.ctx)
	c := &countingReader{Reader: ex.statics.(store.Reader)}
	ex.statics, ex.actions = c, c
	resp, _ := ex.Execute(r.ctx, nil)
	if resp == nil || len(resp.Errors) > 0 || len(resp.Data) < 100000 || c.calls.Load() != 3 {
		t.Fatalf("alive: %d store calls, %d errors, %d bytes", c.calls.Load(), len(resp.Errors), len(resp.Data))
	}
	ctx, cancel := context.WithTimeout(graphql.WithOperationContext(context.Background(), oc), 0)
	defer cancel()
	<-ctx.Done()
	c.calls.Store(0)
	resp, _ = ex.Execute(ctx, nil)
	if resp == nil || resp.Data != nil || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "TIMEOUT" || c.calls.Load() != 0 {
		t.Fatalf("ended: %d store calls, answer %+v", c.calls.Load(), resp)
	}
}

type countingReader struct {
	store.Reader
	calls atomic.Int64
}

func (c *countingReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	c.calls.Add(1)
	return c.Reader.ReadStatic(ctx, q, out)
}

func (c *countingReader) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	c.calls.Add(1)
	return c.Reader.ReadActions(ctx, qs)
}
