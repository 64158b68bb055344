package plan_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/redis"
)

// A level's only batch of an entity kind takes the static read's answer as its cells; with two
// batches of the kind (a query asking for the same kind twice) the cells are copied from the
// union read. Either way the answer over Redis is the memory store's for the same data: stored
// values, the default of a feature without a value, a value stored as another kind (an Int for
// a Float feature: conformed), a value that cannot be conformed (an error at its field only),
// and entities Redis holds nothing for.
func TestStaticCellsOverRedis(t *testing.T) {
	addr := testenv.Redis(t)
	const regYAML = `entities:
  user: { prefix: cells }
features:
  user:
    n: { featureType: static, type: Int, defaultValue: 7 }
    x: { featureType: static, type: Float }
    s: { featureType: static, type: String }
    b: { featureType: static, type: Boolean }
`
	reg, err := registry.Parse(map[string][]byte{"p.yaml": []byte(regYAML)})
	if err != nil {
		t.Fatal(err)
	}
	var ws []store.StaticWrite
	k := func(id int, f string) store.Key { return store.Key{Prefix: "cells", ID: strconv.Itoa(id), Feature: f} }
	for id := 1; id <= 40; id++ {
		if id%5 != 0 { // every fifth user has no n: the default
			ws = append(ws, store.StaticWrite{Key: k(id, "n"), Value: store.IntValue(int64(id * 3)), TS: 1})
		}
		x := store.FloatValue(float64(id) / 8)
		if id%3 == 0 {
			x = store.IntValue(int64(id)) // conformed to a Float
		}
		ws = append(ws, store.StaticWrite{Key: k(id, "x"), Value: x, TS: 1})
		if id%4 != 0 {
			ws = append(ws, store.StaticWrite{Key: k(id, "s"), Value: store.StringValue("s" + strconv.Itoa(id)), TS: 1})
		}
		b := store.BoolValue(id%2 == 0)
		if id == 7 {
			b = store.StringValue("not a boolean") // an error at users[..].b only
		}
		ws = append(ws, store.StaticWrite{Key: k(id, "b"), Value: b, TS: 1})
	}
	ctx := context.Background()
	mem := memory.New()
	if err := mem.WriteStatic(ctx, ws); err != nil {
		t.Fatal(err)
	}
	rs, err := redis.New(redis.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var keys []store.Key
	for id := 1; id <= 60; id++ {
		keys = append(keys, k(id, "n"))
	}
	_ = rs.DeleteStatic(ctx, keys)
	defer func() { _ = rs.DeleteStatic(ctx, keys) }()
	if err := rs.WriteStatic(ctx, ws); err != nil {
		t.Fatal(err)
	}
	serve := func(st store.Reader, query string) string {
		t.Helper()
		g, err := gateway.New(gateway.DefaultConfig(), reg, st, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"query": query})
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	var ids []string
	for id := 1; id <= 60; id += 1 + id%3 { // 41..60: nothing stored
		ids = append(ids, strconv.Itoa(id))
	}
	list := "[" + strings.Join(ids, ",") + "]"
	// want is what the data say a feature of a user is (nil: null).
	want := func(id int, f string) any {
		if id > 40 {
			if f == "n" {
				return 7.0
			}
			return nil
		}
		switch f {
		case "n":
			if id%5 == 0 {
				return 7.0
			}
			return float64(id * 3)
		case "x":
			if id%3 == 0 {
				return float64(id)
			}
			return float64(id) / 8
		case "s":
			if id%4 == 0 {
				return nil
			}
			return "s" + strconv.Itoa(id)
		case "b":
			if id == 7 {
				return nil
			}
			return id%2 == 0
		}
		return "?"
	}
	for _, q := range []string{
		`{ users(ids: ` + list + `) { id n x s b } }`, // one batch: the read's answer is the cells
		`{ users(ids: ` + list + `) { id x n } }`,     // other features, other order
		`{ a: users(ids: ` + list + `) { id n x b } b: users(ids: [3, 1, 55, 7]) { s n id } }`,
		`{ user(id: 5) { id n x s } users(ids: [6, 5]) { id b n } }`,
	} {
		for name, st := range map[string]store.Reader{"redis": rs, "memory": mem} {
			var answer struct {
				Data map[string]json.RawMessage
			}
			body := serve(st, q)
			if err := json.Unmarshal([]byte(body), &answer); err != nil {
				t.Fatal(err)
			}
			cells := 0
			for root, raw := range answer.Data {
				var objs []map[string]any
				if err := json.Unmarshal(raw, &objs); err != nil {
					var one map[string]any
					if err := json.Unmarshal(raw, &one); err != nil {
						t.Fatalf("%s: %s", root, raw)
					}
					objs = append(objs, one)
				}
				for _, o := range objs {
					id := int(o["id"].(float64))
					for f, v := range o {
						if f == "id" {
							continue
						}
						cells++
						if w := want(id, f); v != w {
							t.Errorf("%s over %s: user %d %s = %v, want %v", q, name, id, f, v, w)
						}
					}
				}
			}
			if cells == 0 {
				t.Errorf("%s over %s: no cells in %s", q, name, body)
			}
		}
	}
	// The unconformable value is an error at its field, the rest of the answer intact.
	got := serve(rs, `{ users(ids: [6, 7, 8]) { id b } }`)
	if !strings.Contains(got, `{"id":7,"b":null}`) || !strings.Contains(got, `{"id":6,"b":true}`) || !strings.Contains(got, `"errors"`) {
		t.Errorf("bad stored value: %s", got)
	}
}
