package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store/memory"
)

// Every example query the playground starts with and the catalog shows (one per feature)
// answers, against the demo data, without errors and with a value for every feature it asks:
// a newcomer who runs an example sees data, not null.
func TestExamplesAnswerAgainstTheDemoData(t *testing.T) {
	reg, err := registry.LoadFS(features.FS, "features")
	if err != nil {
		t.Fatal(err)
	}
	f, err := features.FS.Open(features.DemoEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem := memory.New()
	if _, err := ingestDemo(context.Background(), reg, f, mem, nil, nil); err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.DefaultConfig(), reg, mem, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	type example struct {
		name, query string
		entity      *registry.Entity
		features    []*registry.Feature
	}
	var examples []example
	var best *registry.Entity // the entity RegistryExample picks: the one with the most features
	for _, e := range reg.Entities {
		if best == nil || len(e.Static)+len(e.Actions) > len(best.Static)+len(best.Actions) {
			best = e
		}
		for _, ft := range e.Features() {
			examples = append(examples, example{"catalog " + e.Name + "." + ft.Name, catalog.FeatureExample(reg, ft), e, []*registry.Feature{ft}})
		}
	}
	var asked []*registry.Feature
	for _, ft := range best.Features() {
		if ft.Deprecated == "" {
			asked = append(asked, ft) // RegistryExample leaves deprecated features out
		}
	}
	examples = append(examples, example{"playground", catalog.RegistryExample(reg), best, nil})
	if len(examples) < 10 {
		t.Fatalf("only %d examples", len(examples))
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"query": ex.query})
			resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Data   map[string]map[string]json.RawMessage
				Errors []json.RawMessage
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
				t.Fatalf("%d %s\n%s", resp.StatusCode, out.Errors, ex.query)
			}
			obj := out.Data[ex.entity.QueryField()]
			if obj == nil {
				t.Fatalf("%s(id: %s) is null: the demo data has no such %s\n%s", ex.entity.QueryField(), catalog.ExampleID(ex.entity), ex.entity.Name, ex.query)
			}
			want := ex.features
			if want == nil {
				for _, ft := range asked {
					if _, ok := obj[ft.GraphQLName()]; ok {
						want = append(want, ft)
					}
				}
				if len(want) == 0 {
					t.Fatalf("the playground example asks no feature:\n%s", ex.query)
				}
			}
			for _, ft := range want {
				v, ok := obj[ft.GraphQLName()]
				if !ok || string(v) == "null" || string(v) == "[]" {
					t.Errorf("%s is %s for %s %s: the demo data has no value for it", ft.GraphQLName(), v, ex.entity.Name, catalog.ExampleID(ex.entity))
				}
			}
		})
	}
}
