package gateway

import (
	"encoding/json"
	"reflect"
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
