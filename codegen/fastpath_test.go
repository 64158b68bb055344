package codegen

import (
	"os"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/registry"
)

// The committed execution code carries both rewrites, and rewriting it again changes nothing
// (the rewrite only matches gqlgen's own shapes).
func TestFastPathApplied(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../graph/generated.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"func (ec *executionContext) _UserRecentClickedArticlesEvent_articleId(ctx context.Context, field graphql.CollectedField, obj *model.UserRecentClickedArticlesEvent) (ret graphql.Marshaler) {\n\treturn ec.marshalOInt2ᚖint(ctx, field.Selections, obj.ArticleID) // fast path",
		"func (ec *executionContext) _Article_price(ctx context.Context, field graphql.CollectedField, obj *model.Article) (ret graphql.Marshaler) {\n\treturn ec.marshalOInt2ᚖint(ctx, field.Selections, obj.Price) // fast path",
		`marshalSlice(ctx, "UserRecentClickedArticlesEvent", len(v)`,
		`marshalSlice(ctx, "User", len(v)`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated.go lacks %q (run `go generate ./...`)", want)
		}
	}
	// Objects without resolver fields lose the @defer scaffolding; entities keep it.
	ev := funcBody(string(src), "func (ec *executionContext) _UserRecentSearchesEvent(ctx context.Context, sel ast.SelectionSet")
	if !strings.Contains(ev, "no field of this object is deferred") || strings.Contains(ev, "ProcessDeferredGroup") {
		t.Errorf("event marshaller still carries the @defer scaffolding:\n%s", ev)
	}
	if user := funcBody(string(src), "func (ec *executionContext) _User(ctx context.Context, sel ast.SelectionSet"); !strings.Contains(user, "ProcessDeferredGroup") {
		t.Error("the User marshaller (it has resolver fields) must keep @defer support")
	}
	// Joins and resolvers keep gqlgen's field machinery.
	if strings.Contains(string(src), "obj.Article) // fast path") {
		t.Error("the join field must not take the scalar fast path")
	}
	if _, err := rewriteExec(src, reg); err == nil {
		t.Error("rewriting already rewritten code should fail: no list marshal is left to rewrite")
	}
}

func TestFastPathFailsLoudlyOnUnknownShapes(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rewriteExec([]byte("package graph\n"), reg); err == nil || !strings.Contains(err.Error(), "changed shape") {
		t.Fatalf("want a changed-shape error, got %v", err)
	}
}

func funcBody(src, start string) string {
	i := strings.Index(src, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(src[i:], "\n}\n")
	return src[i : i+j]
}
