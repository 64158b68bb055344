package check

import (
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/registry"
)

const base = `
entities:
  user: { prefix: u, idType: Int }
streams:
  app: { subTopicField: event_name }
features:
  user:
    os:
      featureType: static
      type: String
      events:
        - { streamName: app, topic: user_cdc, entityId: user_id, fields: [ { name: os } ] }
`

const withAge = base + `
    age:
      featureType: static
      type: Int
      events:
        - { streamName: app, topic: user_cdc, entityId: user_id, fields: [ { name: age } ] }
`

func parse(t *testing.T, s string) *registry.Registry {
	t.Helper()
	reg, err := registry.Parse(map[string][]byte{"r.yaml": []byte(s)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestCheck(t *testing.T) {
	serving := parse(t, withAge)
	for _, tc := range []struct {
		name     string
		serving  *registry.Registry
		files    string
		accepted string
		extra    []string
		want     Outcome
		problem  string // in the first problem
	}{
		{name: "first registry", files: withAge, want: Taken},
		{name: "feature added", serving: parse(t, base), files: withAge, want: Taken},
		{name: "unchanged", serving: serving, files: withAge, want: Taken},
		{name: "feature removed", serving: serving, files: base, want: Refused,
			problem: `breaking-client change not accepted: field User.age was removed`},
		{name: "removal accepted in the registry", serving: serving, files: base, accepted: "# reviewed\nfield-removed User.age\n", want: Taken},
		{name: "removal accepted by --accept-file", serving: serving, files: base, extra: []string{"field-removed User.age"}, want: Taken},
		{name: "type changed", serving: serving, files: strings.Replace(withAge, "type: Int", "type: String", 1), want: Refused,
			problem: `value-type-changed user.age`},
		{name: "invalid", serving: serving, files: withAge + "\n    bad: { featureType: nope }\n", want: Invalid, problem: "r.yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(tc.serving, map[string][]byte{"r.yaml": []byte(tc.files)}, []byte(tc.accepted), tc.extra)
			if v.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s; problems %v", v.Outcome, tc.want, v.Problems)
			}
			if tc.problem != "" && (len(v.Problems) == 0 || !strings.Contains(strings.Join(v.Problems, "\n"), tc.problem)) {
				t.Fatalf("problems %q, want one with %q", v.Problems, tc.problem)
			}
			if tc.want == Taken && (v.Registry == nil || len(v.Problems) > 0) {
				t.Fatalf("taken without a registry or with problems %v", v.Problems)
			}
			if tc.want == Refused && !strings.Contains(v.Problems[0], "accepted-changes.txt") {
				t.Fatalf("the problem does not say how to accept it: %s", v.Problems[0])
			}
		})
	}
}
