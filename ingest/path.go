package ingest

import (
	"strconv"
	"strings"
)

// path is a compiled dot path into a decoded JSON event: "params.article_id_v1", "items.0.id".
type path []string

func compilePath(p string) path {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func (p path) String() string { return strings.Join(p, ".") }

// lookup returns the value at p. A JSON null counts as absent. A numeric element indexes a list.
// When the nested walk misses below a map, the rest of the path is tried as one literal key of
// that map, so flattened events ({"params.source": "feed"}) are read as well as nested ones.
func (p path) lookup(v any) (any, bool) {
	if len(p) == 0 {
		return nil, false
	}
	return p.walk(v, 0)
}

func (p path) walk(cur any, i int) (any, bool) {
	if i == len(p) {
		return cur, cur != nil
	}
	switch x := cur.(type) {
	case map[string]any:
		if next, ok := x[p[i]]; ok {
			if v, ok := p.walk(next, i+1); ok {
				return v, true
			}
		}
		if i < len(p)-1 {
			if v, ok := x[strings.Join(p[i:], ".")]; ok {
				return v, v != nil
			}
		}
	case []any:
		n, err := strconv.Atoi(p[i])
		if err == nil && n >= 0 && n < len(x) {
			return p.walk(x[n], i+1)
		}
	}
	return nil, false
}
