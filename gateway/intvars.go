package gateway

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// The request body is decoded with UseNumber, so every JSON number of the variables is a
// json.Number, a string kind to gqlparser's variable validation: for an Int it checks one with
// strconv.ParseInt(fmt.Sprintf("%v", v)), an allocation and a formatting per value: 20% of
// the gateway's CPU for a candidate list of 200 ids (bench S2). intVariables turns the integer
// json.Numbers of the variables the operation declares as Int (at any list depth) into int64
// first, which the validator takes as they are and every Int coercion after it reads alike
// (graphql.UnmarshalInt64). Variables of other types keep their json.Number: a String
// variable given a number is validated exactly as before.

// intVarCache holds, per query text, the names of its variables declared as Int, [Int], ...
// (nil: none). Bounded: when full it is cleared (the set of query texts of a deployment is
// small; a client sending ever-new texts costs one parse per request, as gqlgen's own
// parsing does).
type intVarCache struct {
	mu sync.Mutex
	m  map[string][]string
}

const (
	intVarCacheSize = 1024
	// intVarCacheMaxQuery is the longest query text kept: at most 1,024 × 16 KiB = 16 MiB.
	intVarCacheMaxQuery = 16 << 10
)

var intVars = &intVarCache{m: map[string][]string{}}

// names returns the variables of query declared with the named type Int (under any lists).
func (c *intVarCache) names(query string) []string {
	c.mu.Lock()
	names, ok := c.m[query]
	c.mu.Unlock()
	if ok {
		return names
	}
	if strings.Contains(query, "$") {
		if doc, err := parser.ParseQuery(&ast.Source{Input: query}); err == nil {
			seen := map[string]bool{}
			for _, op := range doc.Operations {
				for _, v := range op.VariableDefinitions {
					t := v.Type
					for t != nil && t.Elem != nil {
						t = t.Elem
					}
					if t != nil && t.NamedType == "Int" && !seen[v.Variable] {
						seen[v.Variable] = true
						names = append(names, v.Variable)
					}
				}
			}
		}
	}
	if len(query) > intVarCacheMaxQuery {
		return names // not kept: the cache must not hold large query texts (hostile clients)
	}
	c.mu.Lock()
	if len(c.m) >= intVarCacheSize {
		clear(c.m)
	}
	c.m[query] = names
	c.mu.Unlock()
	return names
}

// intVariables converts, in place, the integer json.Numbers of vars declared as Int by query.
// A number that is not an integer literal within int64 (1.5, 1e3, 2^70) is left as it is, for
// the validator to judge as before.
func intVariables(query string, vars map[string]any) {
	if len(vars) == 0 || query == "" {
		return
	}
	for _, name := range intVars.names(query) {
		if v, ok := vars[name]; ok {
			vars[name] = intVar(v)
		}
	}
}

func intVar(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
	case []any:
		for i, e := range x {
			x[i] = intVar(e)
		}
	}
	return v
}
