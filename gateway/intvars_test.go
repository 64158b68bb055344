package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A number that is not an integer for an Int variable is answered with a validation error
// naming the variable, the element and the number — on the first request of a query text (not
// parsed yet) and on the next ones (from the parsed-query cache) alike; integers are answered.
func TestIntVariableErrorsNameTheNumber(t *testing.T) {
	e := newEnv(t)
	q := `query Q($ids: [Int!]!) { users(ids: $ids) { os } }`
	for i := range 2 {
		r, code := e.query(q, map[string]any{"ids": []any{json.Number("1"), json.Number("1.5")}})
		if code != http.StatusOK || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" ||
			!strings.Contains(r.Errors[0].Message, "cannot use 1.5 as Int: not an integer") {
			t.Fatalf("request %d: %d %+v", i+1, code, r.Errors)
		}
		if r, code := e.query(q, map[string]any{"ids": []any{json.Number("1"), json.Number("2e0")}}); code != http.StatusOK || len(r.Errors) != 0 {
			t.Fatalf("request %d, integers: %d %+v", i+1, code, r.Errors)
		}
	}
}
