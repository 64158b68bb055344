package diff

import (
	"reflect"
	"testing"
)

// Schema changes the example registries do not produce yet (input types, enums, nullability in
// both directions), on hand-written schemas.
func TestCompareSchemas(t *testing.T) {
	base := `
type Query { user(id: Int!, asOf: String): User, users(ids: [Int!]!): [User!]! }
type User { id: Int!, name: String!, tags: [String!], mode: Mode, recent(filter: Filter, count: Int): [String!] }
enum Mode { A B }
input Filter { eq: String, gt: Int! }
`
	head := `
type Query { user(id: Int!, at: String!): User, users(ids: [Int!]): [User!]! }
type User { id: Int!, name: String, tags: [String!]!, mode: Mode, recent(filter: Filter, count: Int, since: Int = 0): [String!] }
enum Mode { A C }
input Filter { eq: Int, gt: Int, lt: Int!, ne: String }
`
	bs, err := loadSchema("base", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := loadSchema("head", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{}
	compareSchemas(r, bs, hs)
	r.sort()
	var got []string
	for _, c := range r.Changes {
		got = append(got, string(c.Class)+" "+c.ID())
	}
	want := []string{ // breaking first, then by subject
		"breaking-client input-field-type-changed Filter.eq",
		"breaking-client input-field-required-added Filter.lt",
		"breaking-client enum-value-removed Mode.B",
		"breaking-client argument-removed Query.user(asOf:)",
		"breaking-client argument-required-added Query.user(at:)",
		"breaking-client field-nullability-changed User.name",
		"safe input-field-made-optional Filter.gt",
		"safe input-field-added Filter.ne",
		"safe enum-value-added Mode.C",
		"safe argument-made-optional Query.users(ids:)",
		"safe argument-added User.recent(since:)",
		"safe field-made-non-null User.tags",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes\n got %q\nwant %q", got, want)
	}
}
