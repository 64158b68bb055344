package registry

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Limits bound one ingested value, so that a hostile or broken producer cannot store a value
// that makes every read of it slow or large. Ingestion (push, Kafka, load) rejects a value over
// a limit, naming the feature and the limit; nothing of that event is written.
//
// In YAML, a top-level `limits:` block (in at most one file) sets the registry's defaults and a
// feature's own `limits:` block overrides them key by key:
//
//	limits:
//	  maxStringBytes: 65536   # a String value or item, an action field's string, a JSON value's text
//	  maxElements: 10000      # the items of a list or set, the entries of a map
type Limits struct {
	MaxStringBytes int
	MaxElements    int
}

// DefaultLimits are the limits of a registry that sets none: 64 KiB and 10,000.
var DefaultLimits = Limits{MaxStringBytes: 64 << 10, MaxElements: 10_000}

var limitKeys = []string{"maxStringBytes", "maxElements"}

// limits reads a limits block over base (the values it does not set stay base's).
func (p *parser) limitsBlock(file string, n *yaml.Node, what string, base Limits) Limits {
	m := p.mapping(file, n, what, limitKeys...)
	out := base
	for _, k := range limitKeys {
		v, ok := p.integer(file, m.byKey[k], what+": "+k)
		if !ok {
			continue
		}
		if v < 1 {
			p.errs.add(p.pos(file, m.byKey[k]), "give a positive number", "%s: %s must be at least 1, got %d", what, k, v)
			continue
		}
		switch k {
		case "maxStringBytes":
			out.MaxStringBytes = v
		case "maxElements":
			out.MaxElements = v
		}
	}
	return out
}

// String describes the limits, for error messages.
func (l Limits) String() string {
	return fmt.Sprintf("maxStringBytes %d, maxElements %d", l.MaxStringBytes, l.MaxElements)
}
