package gateway_test

import (
	"strings"
	"testing"
)

// A list of ids passed as a variable answers in order, as a literal list does; an Int variable
// that is not an integer within range is still a request error naming Int.
func TestIntListVariable(t *testing.T) {
	e := newEnv(t)
	e.static("article", "1", "price", 100, 1)
	e.static("article", "3", "price", 300, 1)
	r, _ := e.query(`query($ids: [Int!]!) { articles(ids: $ids) { id price } }`, map[string]any{"ids": []int{3, 1, 3}})
	if len(r.Errors) != 0 {
		t.Fatalf("errors %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"articles":[{"id":3,"price":300},{"id":1,"price":100},{"id":3,"price":300}]}`)
	for _, v := range []any{1.5, "x", 1e30} {
		r, _ = e.query(`query($ids: [Int!]!) { articles(ids: $ids) { id } }`, map[string]any{"ids": []any{1, v}})
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "Int") {
			t.Errorf("ids [1, %v]: errors %+v", v, r.Errors)
		}
	}
}
