package gateway_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/featuregraph/featuregraph/gateway"
)

// depth is how deeply a selection nests, fragments expanded.
func depth(doc *ast.QueryDocument, set ast.SelectionSet) int {
	d := 0
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			d = max(d, 1+depth(doc, s.SelectionSet))
		case *ast.InlineFragment:
			d = max(d, depth(doc, s.SelectionSet))
		case *ast.FragmentSpread:
			d = max(d, depth(doc, doc.Fragments.ForName(s.Name).SelectionSet))
		}
	}
	return d
}

// The introspection query GraphiQL 4 sends (captured from the page by the browser test) is
// deeper than the default depth limit of data queries, and is answered under the defaults.
func TestGraphiQLIntrospectionUnderDefaultLimits(t *testing.T) {
	src, err := os.ReadFile("testdata/graphiql-introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	doc, perr := parser.ParseQuery(&ast.Source{Input: string(src)})
	if perr != nil {
		t.Fatal(perr)
	}
	def := gateway.DefaultConfig()
	if d := depth(doc, doc.Operations[0].SelectionSet); d <= def.MaxDepth {
		t.Fatalf("GraphiQL's query is %d levels deep, not deeper than the default --max-depth %d: the test proves nothing", d, def.MaxDepth)
	}
	e := newEnv(t)
	r, _ := e.query(string(src), nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	for _, want := range []string{`"queryType":{"name":"Query"`, `"name":"UserRecentClickedArticlesEvent"`, `"name":"recentClickedArticles"`} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("introspection answer lacks %s", want)
		}
	}
}

func TestIntrospectionLimits(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, q, code string
	}{
		// Nesting the lists that lead back to types multiplies the answer: at most 2 (gqlparser's
		// validation, as graphql-js).
		{"two nested lists", `{ __type(name: "User") { fields { type { ofType { fields { name } } } } } }`, ""},
		{"three nested lists", `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"three through fragments", `{ __schema { types { ...A } } } fragment A on __Type { fields { type { ...B } } }
			fragment B on __Type { interfaces { ...C } } fragment C on __Type { possibleTypes { name } }`, "GRAPHQL_VALIDATION_FAILED"},
		// A long ofType chain is only as large as the query.
		{"deep ofType", `{ __type(name: "User") { ` + strings.Repeat("ofType { ", 20) + "name" + strings.Repeat(" }", 20) + ` } }`, ""},
		// Introspection next to data: the data part is still measured.
		{"data depth still limited", `{ __schema { queryType { name } } user(id: 1) { recentClickedArticles { article { recentViewers { user { recentClickedArticles { article { recentViewers { user { recentClickedArticles { articleId } } } } } } } } } } }`, "DEPTH_LIMIT_EXCEEDED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.query(tc.q, nil)
			if tc.code == "" {
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				return
			}
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != tc.code {
				t.Fatalf("want %s, got %+v", tc.code, r.Errors)
			}
		})
	}
}

func TestIntrospectionOff(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Introspection = false })
	r, _ := e.query(`{ __schema { queryType { name } } }`, nil)
	if len(r.Errors) == 0 {
		t.Fatalf("introspection answered with it off: %s", r.Data)
	}
}
