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
// When a nested walk misses, the rest of the path is tried as one literal key, so flattened
// events ({"params.source": "feed"}) are read as well as nested ones.
func (p path) lookup(v any) (any, bool) {
	cur := v
	for i, seg := range p {
		switch x := cur.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok && i < len(p)-1 {
				next, ok = x[strings.Join(p[i:], ".")]
				if ok {
					return next, next != nil
				}
			}
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(x) {
				return nil, false
			}
			cur = x[n]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}
