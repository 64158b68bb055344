package gateway

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Only the variables the operation declares as Int (under any lists) become int64 (1e3 too);
// the others keep their json.Number for the validator.
func TestIntVariablesConvertsDeclaredInts(t *testing.T) {
	q := `query Q($ids: [Int!]!, $n: Int, $m: [[Int]], $s: String, $f: Float, $e: Int, $fs: [Float]) { x }`
	vars := map[string]any{
		"ids": []any{json.Number("1"), json.Number("-2")},
		"n":   json.Number("7"),
		"m":   []any{[]any{json.Number("3"), nil}},
		"s":   json.Number("5"),
		"f":   json.Number("2"),
		"e":   json.Number("1e3"),
		"fs":  []any{json.Number("1.5")},
	}
	mutate(t, cached(t, q), &graphql.RawParams{Query: q, Variables: vars})
	want := map[string]any{
		"ids": []any{int64(1), int64(-2)},
		"n":   int64(7),
		"m":   []any{[]any{int64(3), nil}},
		"s":   json.Number("5"),
		"f":   json.Number("2"),
		"e":   int64(1000),
		"fs":  []any{json.Number("1.5")},
	}
	if !reflect.DeepEqual(vars, want) {
		t.Fatalf("got %#v\nwant %#v", vars, want)
	}
}

// The operation is the one the request names: a variable declared Int in one operation of the
// document and String in another is converted only for the first. A query text not in the
// parsed-query cache yet is left to the validator as it is.
func TestIntVariablesFollowTheOperationAndTheCache(t *testing.T) {
	q := `query A($x: Int) { a } query B($x: String) { b }`
	c := cached(t, q)
	for _, tc := range []struct {
		op   string
		want any
	}{{"A", int64(5)}, {"B", json.Number("5")}, {"", json.Number("5")}} {
		vars := map[string]any{"x": json.Number("5")}
		mutate(t, c, &graphql.RawParams{Query: q, OperationName: tc.op, Variables: vars})
		if !reflect.DeepEqual(vars["x"], tc.want) {
			t.Errorf("operation %q: $x %#v, want %#v", tc.op, vars["x"], tc.want)
		}
	}
	vars := map[string]any{"n": json.Number("7")}
	mutate(t, c, &graphql.RawParams{Query: `query($n: Int) { x }`, Variables: vars})
	if vars["n"] != json.Number("7") {
		t.Errorf("a query not in the cache: $n %#v, want it as it came", vars["n"])
	}
}

// cached is a parsed-query cache holding q, as the executor leaves it after q's first request.
func cached(t *testing.T, q string) graphql.Cache[*ast.QueryDocument] {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	c := newByteLRU(16, 1<<20, docWeight)
	c.Add(context.Background(), q, doc)
	return c
}

func mutate(t *testing.T, c graphql.Cache[*ast.QueryDocument], p *graphql.RawParams) {
	t.Helper()
	if err := (intVariables{cache: c}).MutateOperationParameters(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// A number given for an Int that is not an integer within 64 bits is refused, naming the
// variable, the element and the number (gqlparser said "cannot use string as Int").
func TestIntVariablesRefuseNonIntegers(t *testing.T) {
	q := `query Q($ids: [Int!]!, $n: Int) { x }`
	c := cached(t, q)
	for _, tc := range []struct {
		name string
		vars map[string]any
		want string
	}{
		{"fraction_in_a_list", map[string]any{"ids": []any{json.Number("1"), json.Number("1.5")}}, "variable.ids[1] cannot use 1.5 as Int: not an integer"},
		{"out_of_range", map[string]any{"n": json.Number("123456789012345678901234")}, "variable.n cannot use 123456789012345678901234 as Int: out of range"},
		{"too_large_for_a_float", map[string]any{"n": json.Number("1e400")}, "variable.n cannot use 1e400 as Int: out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (intVariables{cache: c}).MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q, Variables: tc.vars})
			if err == nil || !strings.Contains(err.Error(), tc.want) || err.Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
				t.Fatalf("got %v (extensions %v), want %q", err, err.Extensions, tc.want)
			}
		})
	}
}
