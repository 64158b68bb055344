package diff_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/diff"
)

const onDemandYAML = `
entities:
  user: { prefix: u }
services:
  safety:
    http: { url: "http://safety/v1/users", timeout: 200ms }
features:
  user:
    age: { featureType: static, type: Int }
    blocked: { type: Int, containerType: list, source: { service: safety } }
    next_age: { type: Int, expr: age + 1 }
`

// A changed source or expression of an on-demand feature is a (safe) change; a stored
// feature that becomes on demand leaves its stored values unread.
func TestOnDemandChanges(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     []string
	}{
		{"timeout: 200ms", "timeout: 300ms", []string{"safe source-changed user.blocked"}},
		{"http://safety/v1/users", "http://safety-v2/v1/users", []string{"safe source-changed user.blocked"}},
		{"expr: age + 1", "expr: age + 2", []string{"safe expression-changed user.next_age"}},
		{"age: { featureType: static, type: Int }", "age: { type: Int, expr: '41' }\n    a: { featureType: static, type: Int }",
			[]string{"breaking-data feature-type-changed user.age", "safe field-added User.a", "safe expression-changed user.next_age"}},
	} {
		head := strings.Replace(onDemandYAML, c.from, c.to, 1)
		if c.to == "age: { type: Int, expr: '41' }\n    a: { featureType: static, type: Int }" {
			head = strings.Replace(head, "expr: age + 1", "expr: a + 1", 1)
		}
		rep, err := diff.Compare(parse(t, onDemandYAML), parse(t, head))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ch := range rep.Changes {
			got = append(got, string(ch.Class)+" "+ch.ID())
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s → %s: got %q, want %q", c.from, c.to, got, c.want)
		}
	}
}
