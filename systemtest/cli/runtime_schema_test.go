package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// newRegistryYAML is a registry this binary was never generated for: a new entity with String
// ids, static features of every type and container (one keeping history), an action feature
// with fields of every type, and a join to a second new entity.
const newRegistryYAML = `entities:
  shop:
    prefix: sh
    idType: String
    description: A shop (an entity this binary was never generated for).
  seller:
    prefix: sl
    idType: Int
streams:
  shop_events:
    subTopicField: kind
features:
  shop:
    rating:
      featureType: static
      type: Float
      containerType: single
      history: true
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: rating }] }
    visits:
      featureType: static
      type: Int
      containerType: single
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: visits }] }
    name:
      featureType: static
      type: String
      containerType: single
      defaultValue: unnamed
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: name }] }
    open:
      featureType: static
      type: Boolean
      containerType: single
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: open }] }
    opened_at:
      featureType: static
      type: Time
      containerType: single
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: opened_at }] }
    extra:
      featureType: static
      type: JSON
      containerType: single
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: extra }] }
    tags:
      featureType: static
      type: String
      containerType: set
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: tags }] }
    scores:
      featureType: static
      type: Int
      containerType: list
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: scores }] }
    weights:
      featureType: static
      type: Float
      containerType: map
      events:
        - { streamName: shop_events, topic: shops, subTopic: updated, entityId: shop_id, timestamp: at, fields: [{ name: weights }] }
    recent_orders:
      featureType: action
      maxCount: 10
      defaultCount: 5
      fields:
        - { name: seller_id, type: Int, join: seller }
        - { name: amount, type: Float }
        - { name: item, type: String }
        - { name: gift, type: Boolean }
        - { name: paid_at, type: Time }
        - { name: meta, type: JSON }
      events:
        - streamName: shop_events
          topic: shops
          subTopic: ordered
          entityId: shop_id
          timestamp: at
          fields: [{ name: seller_id }, { name: amount }, { name: item }, { name: gift }, { name: paid_at }, { name: meta }]
  seller:
    country:
      featureType: static
      type: String
      events:
        - { streamName: shop_events, topic: sellers, subTopic: updated, entityId: seller_id, timestamp: at, fields: [{ name: country }] }
`

// `featuregraph serve --features DIR` serves a registry the binary was never generated for, with
// no go generate and no rebuild: the schema and its executor are built from the registry at
// start. GraphiQL's introspection query shows the new types; pushed events are answered,
// filter, asOf and the join included.
func TestServeARegistryTheBinaryWasNotGeneratedFor(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(newRegistryYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := harness.StartServe(t, "--features", dir)
	post := func(path, body string) string {
		t.Helper()
		res, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s %s: %d %s", path, body, res.StatusCode, b)
		}
		return string(bytes.TrimSpace(b))
	}
	for _, ev := range []string{
		`{"streamName": "shop_events", "topic": "shops", "subTopic": "updated", "event": {"kind": "updated", "shop_id": "s1", "at": "2026-01-01T00:00:00Z",
			"rating": 3.5, "visits": 12, "name": "Corner \"Books\"", "open": true, "opened_at": "2020-05-01T09:00:00Z", "extra": {"floor": 2, "tags": [null]},
			"tags": ["used", "books"], "scores": [3, 1, 2], "weights": {"b": 0.5, "a": 1.25}}}`,
		`{"streamName": "shop_events", "topic": "shops", "subTopic": "updated", "event": {"kind": "updated", "shop_id": "s1", "at": "2026-06-01T00:00:00Z", "rating": 4.5}}`,
		`{"streamName": "shop_events", "topic": "sellers", "subTopic": "updated", "event": {"kind": "updated", "seller_id": 7, "at": "2026-01-01T00:00:00Z", "country": "kr"}}`,
		`{"streamName": "shop_events", "topic": "shops", "subTopic": "ordered", "event": {"kind": "ordered", "shop_id": "s1", "at": "2026-02-01T00:00:00Z",
			"seller_id": 7, "amount": 10.5, "item": "atlas", "gift": true, "paid_at": "2026-02-01T00:01:00Z", "meta": {"via": "app"}}}`,
		`{"streamName": "shop_events", "topic": "shops", "subTopic": "ordered", "event": {"kind": "ordered", "shop_id": "s1", "at": "2026-03-01T00:00:00Z",
			"seller_id": 8, "amount": 3, "item": "map", "gift": false}}`,
	} {
		if got := post("/v1/events", ev); !strings.Contains(got, `"accepted":1`) {
			t.Fatalf("push %s: %s", ev, got)
		}
	}
	graphiql, err := os.ReadFile("gateway/testdata/graphiql-introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": string(graphiql), "operationName": "IntrospectionQuery"})
	schema := post("/graphql", string(body))
	if strings.Contains(schema, `"errors"`) {
		t.Fatalf("introspection: %.500s", schema)
	}
	for _, want := range []string{`"queryType":{"name":"Query"`, `{"kind":"OBJECT","name":"Shop","description":"A shop (an entity this binary was never generated for)."`,
		`"name":"recentOrders"`, `"name":"ShopRecentOrdersEventFilter"`, `"name":"weights"`, `"name":"FloatMapEntry"`, `"name":"sellers"`} {
		if !strings.Contains(schema, want) {
			t.Errorf("the introspected schema lacks %s", want)
		}
	}
	query := `{ shop(id: "s1") { __typename id name rating visits open openedAt extra tags scores weights { key value }
		recentOrders { item } gifts: recentOrders(filter: {gift: {eq: true}, amount: {gt: 5}}) { amount item gift paidAt meta seller { id country } } }
		then: shop(id: "s1", asOf: "2026-03-01T00:00:00Z") { rating recentOrders { item timestamp } }
		none: shops(ids: ["nope"]) { name visits } }`
	body, _ = json.Marshal(map[string]any{"query": query})
	got := post("/graphql", string(body))
	want := `{"data":{"shop":{"__typename":"Shop","id":"s1","name":"Corner \"Books\"","rating":4.5,"visits":12,"open":true,
		"openedAt":"2020-05-01T09:00:00Z","extra":{"floor":2,"tags":[null]},"tags":["books","used"],"scores":[3,1,2],
		"weights":[{"key":"a","value":1.25},{"key":"b","value":0.5}],"recentOrders":[{"item":"map"},{"item":"atlas"}],
		"gifts":[{"amount":10.5,"item":"atlas","gift":true,"paidAt":"2026-02-01T00:01:00Z","meta":{"via":"app"},"seller":{"id":7,"country":"kr"}}]},
		"then":{"rating":3.5,"recentOrders":[{"item":"map","timestamp":"2026-03-01T00:00:00Z"},{"item":"atlas","timestamp":"2026-02-01T00:00:00Z"}]},
		"none":[{"name":"unnamed","visits":null}]}}`
	if !harness.SameJSON(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
