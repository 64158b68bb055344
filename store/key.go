package store

import "strings"

// Key addresses one feature of one entity. Its string form, "<prefix>#<id>#<feature>", is the
// DynamoDB partition key and the Redis key.
type Key struct {
	Prefix  string // the entity's key prefix, e.g. "u" or "c:flea"
	ID      string // the entity id in its canonical decimal or string form
	Feature string // the feature name as written in the registry (snake_case)
}

// String returns "<prefix>#<id>#<feature>".
func (k Key) String() string {
	var b strings.Builder
	b.Grow(len(k.Prefix) + len(k.ID) + len(k.Feature) + 2)
	b.WriteString(k.Prefix)
	b.WriteByte('#')
	b.WriteString(k.ID)
	b.WriteByte('#')
	b.WriteString(k.Feature)
	return b.String()
}
