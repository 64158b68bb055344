package gateway

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Only the variables the operation declares as Int (under any lists) become int64, and only
// integer literals within int64; the others keep their json.Number for the validator.
func TestIntVariablesConvertsDeclaredInts(t *testing.T) {
	q := `query Q($ids: [Int!]!, $n: Int, $m: [[Int]], $s: String, $f: Float, $big: Int, $frac: Int) { x }`
	vars := map[string]any{
		"ids":  []any{json.Number("1"), json.Number("-2")},
		"n":    json.Number("7"),
		"m":    []any{[]any{json.Number("3"), nil}},
		"s":    json.Number("5"),
		"f":    json.Number("2"),
		"big":  json.Number("123456789012345678901234"),
		"frac": json.Number("1.5"),
	}
	intVariables(q, vars)
	want := map[string]any{
		"ids":  []any{int64(1), int64(-2)},
		"n":    int64(7),
		"m":    []any{[]any{int64(3), nil}},
		"s":    json.Number("5"),
		"f":    json.Number("2"),
		"big":  json.Number("123456789012345678901234"),
		"frac": json.Number("1.5"),
	}
	if !reflect.DeepEqual(vars, want) {
		t.Fatalf("got %#v\nwant %#v", vars, want)
	}
	if got := intVars.names(`{ user(id: 1) { id } }`); got != nil {
		t.Errorf("no variables: %v", got)
	}
	if got := intVars.names(`query($x: Int`); got != nil {
		t.Errorf("a query that does not parse: %v", got)
	}
}

// A large query text is converted but not kept: the cache holds at most 1,024 texts of at most
// 16 KiB, so distinct large queries cannot pile up in it.
func TestIntVariablesCacheKeepsNoLargeQuery(t *testing.T) {
	q := `query Q($n: Int) { x } # ` + strings.Repeat("z", intVarCacheMaxQuery)
	vars := map[string]any{"n": json.Number("7")}
	intVariables(q, vars)
	if vars["n"] != int64(7) {
		t.Fatalf("a large query's Int variable: got %#v, want int64(7)", vars["n"])
	}
	intVars.mu.Lock()
	_, kept := intVars.m[q]
	intVars.mu.Unlock()
	if kept {
		t.Errorf("a %d-byte query text was kept in the cache", len(q))
	}
}
