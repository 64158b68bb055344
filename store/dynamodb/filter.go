package dynamodb

import (
	"fmt"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// filterExpression translates a query filter into a DynamoDB FilterExpression over the event
// item's `v` map (the member's fields), so that non-matching events are not sent back. It is a
// pre-filter: a condition DynamoDB cannot decide exactly (order on Time, whose RFC 3339 text
// does not sort as the instant) is left out, and the gateway applies the whole filter to what
// comes back (store.Filter.Match), so the answer is the same either way. Note that DynamoDB
// bills a filtered Query for every item it evaluates, matching or not.
func filterExpression(f *store.Filter, names map[string]string, values map[string]attrValue) string {
	var parts []string
	for i, c := range f.Conds {
		path := fmt.Sprintf("v.#f%d", i)
		names[fmt.Sprintf("#f%d", i)] = c.Field
		val := func(j int) string {
			ph := fmt.Sprintf(":f%d_%d", i, j)
			values[ph] = filterAttr(c.Values[j])
			return ph
		}
		if !exact(c) {
			switch c.Op {
			case store.OpNe, store.OpNotIn, store.OpExists:
			default:
				parts = append(parts, "attribute_exists("+path+")")
			}
			continue
		}
		switch c.Op {
		case store.OpExists:
			if len(c.Values) == 0 || c.Values[0].Bool() {
				parts = append(parts, "attribute_exists("+path+")")
			} else {
				parts = append(parts, "attribute_not_exists("+path+")")
			}
		case store.OpEq:
			parts = append(parts, path+" = "+val(0))
		case store.OpNe:
			parts = append(parts, "(attribute_not_exists("+path+") OR "+path+" <> "+val(0)+")")
		case store.OpIn:
			phs := make([]string, len(c.Values))
			for j := range c.Values {
				phs[j] = val(j)
			}
			parts = append(parts, path+" IN ("+strings.Join(phs, ", ")+")")
		case store.OpNotIn:
			conds := make([]string, len(c.Values))
			for j := range c.Values {
				conds[j] = path + " <> " + val(j)
			}
			parts = append(parts, "(attribute_not_exists("+path+") OR ("+strings.Join(conds, " AND ")+"))")
		case store.OpGt, store.OpGte, store.OpLt, store.OpLte:
			op := map[store.FilterOp]string{store.OpGt: ">", store.OpGte: ">=", store.OpLt: "<", store.OpLte: "<="}[c.Op]
			parts = append(parts, path+" "+op+" "+val(0))
		}
	}
	return strings.Join(parts, " AND ")
}

// exact reports whether DynamoDB decides c exactly as store.Filter.Match does.
func exact(c store.Cond) bool {
	for _, v := range c.Values {
		switch v.Kind {
		case store.Float:
			if _, err := formatFloat(v.Float); err != nil {
				return false
			}
		case store.Time, store.Bool:
			if c.Op >= store.OpGt && c.Op <= store.OpLte {
				return false
			}
		}
	}
	return true
}

// filterAttr is a filter value in the form ingestion stores the member field in `v`.
func filterAttr(v store.Value) attrValue {
	switch v.Kind {
	case store.Int:
		return attrN(v.Num)
	case store.Float:
		n, _ := formatFloat(v.Float) // exact has checked it
		return attrNum(n)
	case store.Bool:
		return attrBool(v.Bool())
	case store.Time:
		return attrS(v.Time().Format(time.RFC3339Nano))
	}
	return attrS(v.Str)
}
