package catalog_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/registry"
)

// The catalog shows where an on-demand feature comes from: its service (never its headers) or
// its expression and arguments.
func TestOnDemandSources(t *testing.T) {
	reg, err := registry.Parse(map[string][]byte{"r.yaml": []byte(`
entities:
  user: { prefix: u }
services:
  safety:
    http: { url: "http://safety/v1/users", cacheTTL: 30s, headers: { Authorization: "Bearer ${TOKEN}" } }
features:
  user:
    age: { featureType: static, type: Int }
    blocked_users: { type: Int, containerType: list, source: { service: safety } }
    boosted: { type: Float, arguments: [ { name: boost, type: Float, defaultValue: 2 } ], expr: double(age) * args.boost }
`)})
	if err != nil {
		t.Fatal(err)
	}
	h := catalog.New(reg, catalog.Config{})
	_, body := get(t, h, "/catalog?format=json")
	var v struct {
		Entities []struct {
			Features []struct {
				Name    string         `json:"name"`
				Kind    string         `json:"featureType"`
				Type    string         `json:"type"`
				Example string         `json:"exampleQuery"`
				Source  map[string]any `json:"source"`
			} `json:"features"`
		} `json:"entities"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range v.Entities[0].Features {
		b, _ := json.Marshal(f.Source)
		got[f.Name] = f.Kind + " " + f.Type + " " + string(b) + " " + strings.Join(strings.Fields(f.Example), " ")
	}
	for name, want := range map[string]string{
		"blocked_users": `service Int {"batchSize":100,"cacheTTL":"30s","concurrency":8,"field":"blocked_users","method":"POST","service":"safety","timeout":"250ms","url":"http://safety/v1/users"} { user(id: 1) { blockedUsers } }`,
		"boosted":       `derived Float {"arguments":["boost: Float = 2"],"expr":"double(age) * args.boost"} { user(id: 1) { boosted } }`,
		"age":           `static Int null { user(id: 1) { age } }`,
	} {
		if got[name] != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got[name], want)
		}
	}
	if strings.Contains(body, "Bearer") {
		t.Error("the catalog shows a service's headers")
	}
	_, page := get(t, h, "/catalog")
	if !strings.Contains(page, "double(age) * args.boost") || !strings.Contains(page, "service <code>safety</code>") {
		t.Error("the catalog page lacks the expression or the service")
	}
}
