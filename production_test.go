package main

import (
	"net/http"
	"strings"
	"testing"
)

// --production turns off the playground (page and bundles), introspection and the catalog;
// --catalog turns the catalog back on. Without --production all of them are served.
func TestProductionTurnsOffPlaygroundIntrospectionAndCatalog(t *testing.T) {
	stores := tieredArgs(t)
	status := func(base, path string) int {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	introspection := func(base string) string {
		return post(t, base, "/graphql", `{"query":"{ __schema { queryType { name } } }"}`)
	}
	for _, tc := range []struct {
		args                  []string
		playground, catalog   int
		introspectionAnswered bool
	}{
		{nil, 200, 200, true},
		{[]string{"--production"}, 404, 404, false},
		{[]string{"--production", "--catalog"}, 404, 200, false},
	} {
		base := startServer(t, append(tc.args, stores...)...)
		if got := status(base, "/"); got != tc.playground {
			t.Errorf("%v: GET / = %d, want %d", tc.args, got, tc.playground)
		}
		if got := status(base, "/playground/graphiql.min.js"); got != tc.playground {
			t.Errorf("%v: GET /playground/graphiql.min.js = %d, want %d", tc.args, got, tc.playground)
		}
		if got := status(base, "/catalog"); got != tc.catalog {
			t.Errorf("%v: GET /catalog = %d, want %d", tc.args, got, tc.catalog)
		}
		got := introspection(base)
		if answered := strings.Contains(got, `"queryType":{"name":"Query"}`); answered != tc.introspectionAnswered {
			t.Errorf("%v: introspection answered %s", tc.args, got)
		}
	}
}
