package registry_test

import (
	"testing"

	"github.com/featuregraph/featuregraph/registry"
)

// Event specs shared with YAML anchors, aliases and merge keys load as if written out, and an
// x- top-level key may hold the anchors.
func TestAnchorsAliasesAndMergeKeys(t *testing.T) {
	src := `
x-article-upsert: &upsert
  streamName: app_events
  topic: article_cdc
  subTopic: article_upserted
  entityId: article_id
  timestamp: updated_at

entities:
  article: { prefix: a }
streams:
  app_events: {}
features:
  article:
    price:
      featureType: static
      type: Int
      events:
        - <<: *upsert
          fields: [{ name: price }]
    title:
      featureType: static
      type: String
      events:
        - <<: *upsert
          subTopic: title_changed     # overrides the merged value
          fields: [{ name: title }]
    tags: &tags
      featureType: static
      type: String
      containerType: list
    labels: *tags
`
	reg, err := registry.Parse(map[string][]byte{"a.yaml": []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	a := reg.Entity("article")
	price, title := a.Feature("price").Events[0], a.Feature("title").Events[0]
	if price.Topic != "article_cdc" || price.SubTopic != "article_upserted" || price.EntityID != "article_id" || price.Timestamp != "updated_at" {
		t.Fatalf("merged spec: %+v", price)
	}
	if title.SubTopic != "title_changed" || title.Topic != "article_cdc" || title.Fields[0].Path != "title" {
		t.Fatalf("overriding a merged key: %+v", title)
	}
	if l := a.Feature("labels"); l == nil || l.Container != registry.List || l.Type != registry.String {
		t.Fatalf("aliased feature: %+v", l)
	}
}

func TestMergeKeyStillRejectsUnknownKeys(t *testing.T) {
	src := `
x-base: &base { streamName: s, topic: t, entityId: id, topik: oops }
entities: { e: { prefix: e } }
streams: { s: {} }
features:
  e:
    f:
      featureType: static
      type: Int
      events:
        - <<: *base
          fields: [{ name: f }]
`
	_, err := registry.Parse(map[string][]byte{"a.yaml": []byte(src)})
	rerr, ok := err.(*registry.Error)
	if !ok || len(rerr.Problems) != 1 || rerr.Problems[0].Msg != `unknown key "topik" in feature e.f event` {
		t.Fatalf("want the merged unknown key reported, got %v", err)
	}
}
