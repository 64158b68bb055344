package registry

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const onDemandBase = `
entities:
  user: { prefix: u }
services:
  trust_safety:
    http:
      url: http://safety.internal/v1/users
      timeout: 150ms
      batchSize: 50
      cacheTTL: 30s
      headers: { X-Caller: featuregraph }
features:
  user:
    age: { featureType: static, type: Int }
    clicks:
      featureType: action
      fields: [ { name: article_id, type: Int }, { name: price, type: Float } ]
    impressions:
      featureType: action
      fields: [ { name: article_id, type: Int } ]
`

func TestOnDemandFeatures(t *testing.T) {
	reg, err := Parse(map[string][]byte{"a.yaml": []byte(onDemandBase + `
    blocked_users:
      type: Int
      containerType: list
      source: { service: trust_safety }
    trust_level:
      type: String
      defaultValue: unknown
      source: { service: trust_safety, field: level }
    avatar:
      type: String
      source: { http: { url: "http://profiles.internal/users/{id}/avatar", concurrency: 4 } }
    ctr_7d:
      type: Float
      expr: "count(impressions, 7 * 86400) == 0 ? 0.0 : double(count(clicks, 7 * 86400)) / double(count(impressions, 7 * 86400))"
    boosted_age:
      type: Float
      arguments: [ { name: boost, type: Float, defaultValue: 1.5 } ]
      expr: double(age) * args.boost
`)})
	if err != nil {
		t.Fatal(err)
	}
	u := reg.Entity("user")
	if len(u.Services) != 3 || len(u.Derived) != 2 || len(u.Static) != 1 || len(u.Actions) != 2 {
		t.Fatalf("services %d derived %d static %d actions %d", len(u.Services), len(u.Derived), len(u.Static), len(u.Actions))
	}
	b := u.Feature("blocked_users")
	if b.FeatureType != ServiceFeature || b.Source != reg.Services["trust_safety"] || b.SourceField != "blocked_users" {
		t.Errorf("blocked_users: %+v", b)
	}
	h := b.Source.HTTP
	if h.Method != "POST" || h.Timeout != 150*time.Millisecond || h.BatchSize != 50 || h.CacheTTL != 30*time.Second ||
		h.NegativeCacheTTL != 30*time.Second || h.Concurrency != 8 || h.MaxResponseBytes != 1<<20 || h.Headers["X-Caller"] != "featuregraph" || h.PerID() {
		t.Errorf("trust_safety http: %+v", h)
	}
	if u.Feature("trust_level").SourceField != "level" || u.Feature("trust_level").Default.Str != "unknown" {
		t.Errorf("trust_level: %+v", u.Feature("trust_level"))
	}
	a := u.Feature("avatar").Source
	if a.Name != "user.avatar" || !a.HTTP.PerID() || a.HTTP.Method != "GET" || a.HTTP.Concurrency != 4 || reg.Services["user.avatar"] != a {
		t.Errorf("avatar source: %+v", a)
	}
	ctr := u.Feature("ctr_7d")
	if ctr.FeatureType != DerivedFeature || ctr.Program == nil || len(ctr.Program.Actions) != 2 || ctr.Program.Actions[0].LastNSec != 7*86400 {
		t.Errorf("ctr_7d: %+v", ctr.Program)
	}
	if ba := u.Feature("boosted_age"); len(ba.Arguments) != 1 || ba.Arguments[0].Default.Float != 1.5 || ba.Program.Statics[0] != "age" {
		t.Errorf("boosted_age: %+v", ba)
	}
	if ctr.Downsync.Enabled {
		t.Error("an on-demand feature is downsynced")
	}
}

func TestOnDemandProblems(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // each a substring of one problem, in order
	}{
		{"type error at line and column", `
    ctr:
      type: Float
      expr: double(age) + "x"
`, []string{`a.yaml:24:25: feature user.ctr: expr: found no matching overload for '_+_'`}},
		{"block expression", `
    ctr:
      type: Float
      expr: |
        double(age) +
          nope
`, []string{`a.yaml:26: feature user.ctr: expr: undeclared reference to 'nope'`}},
		{"wrong result type", `
    ctr: { type: Int, expr: "double(age)" }
`, []string{"the expression is Float, but the feature is Int"}},
		{"window not constant", `
    ctr: { type: Int, expr: "count(clicks, age)" }
`, []string{"the window of count() must be a constant"}},
		{"unknown service", `
    blocked: { type: Int, source: { service: trust_safty } }
`, []string{`unknown service "trust_safty" (fix: did you mean "trust_safety"?)`}},
		{"bad http", `
    blocked:
      type: Int
      source: { http: { url: "ftp://x", method: GET, timeout: fast, batchSize: 0 } }
`, []string{`url "ftp://x" is not an http URL`, "a batch call carries its ids in a POST body", `timeout "fast" is not a duration`, "batchSize 0 is out of range"}},
		{"keys of stored features", `
    blocked:
      type: Int
      history: true
      source: { service: trust_safety }
      events: []
`, []string{"history applies to static features only", "events applies to static and action features only"}},
		{"source and expr on the wrong kind", `
    x: { featureType: static, type: Int, expr: "1" }
`, []string{"expr applies to derived features only"}},
		{"argument without default", `
    y: { type: Int, arguments: [ { name: n, type: Int } ], expr: "args.n" }
`, []string{`argument "n" has no defaultValue`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(map[string][]byte{"a.yaml": []byte(onDemandBase + c.yaml)})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err %v, want problems", err)
			}
			all := err.Error()
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
		})
	}
}
