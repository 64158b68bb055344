package registry

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/features"
)

func mustParse(t *testing.T, files map[string]string) *Registry {
	t.Helper()
	reg, err := Parse(toBytes(files))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return reg
}

func entityNames(reg *Registry) []string {
	var out []string
	for _, e := range reg.Entities {
		out = append(out, e.Name)
	}
	return out
}

func featureNames(fs []*Feature) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// TestExampleRegistry loads the repository's example registry and checks what the schema, the
// resolvers and ingestion rely on.
func TestExampleRegistry(t *testing.T) {
	reg, err := Load("../features")
	if err != nil {
		t.Fatalf("Load(../features): %v", err)
	}
	if got, want := entityNames(reg), []string{"article", "user"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entities = %v, want %v", got, want)
	}

	user, article := reg.Entity("user"), reg.Entity("article")
	if user == nil || article == nil || reg.Entity("nobody") != nil {
		t.Fatal("Entity lookup by name is wrong")
	}
	for _, tt := range []struct {
		e                      *Entity
		prefix, plural, pascal string
		idType                 Type
	}{
		{user, "u", "users", "User", Int},
		{article, "c:flea", "articles", "Article", Int},
	} {
		if tt.e.Prefix != tt.prefix || tt.e.Plural != tt.plural || tt.e.IDType != tt.idType || tt.e.TypeName() != tt.pascal {
			t.Errorf("entity %s = prefix %q plural %q idType %s type %s; want %q %q %s %s",
				tt.e.Name, tt.e.Prefix, tt.e.Plural, tt.e.IDType, tt.e.TypeName(), tt.prefix, tt.plural, tt.idType, tt.pascal)
		}
	}
	if user.Description != "A marketplace user." {
		t.Errorf("user description = %q", user.Description)
	}

	if got, want := featureNames(user.Static), []string{
		"category_affinity", "is_verified", "last_active_at", "manner_temperature", "notification_keywords",
		"os", "recent_search_queries", "region_id", "settings",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("user static features = %v, want %v", got, want)
	}
	if got, want := featureNames(user.Actions), []string{"recent_clicked_articles", "recent_purchases", "recent_searches"}; !reflect.DeepEqual(got, want) {
		t.Errorf("user action features = %v, want %v", got, want)
	}
	if got, want := featureNames(article.Static), []string{"category", "created_at", "image_count", "price", "region_id", "title"}; !reflect.DeepEqual(got, want) {
		t.Errorf("article static features = %v, want %v", got, want)
	}
	if got, want := featureNames(article.Actions), []string{"recent_viewers"}; !reflect.DeepEqual(got, want) {
		t.Errorf("article action features = %v, want %v", got, want)
	}
	if got := featureNames(user.Features()); len(got) != 12 || got[0] != "category_affinity" || got[11] != "settings" {
		t.Errorf("user.Features() = %v; want all 12, sorted", got)
	}

	statics := []struct {
		entity, name string
		typ          Type
		container    Container
		def          any
	}{
		{"user", "os", String, Single, "unknown"},
		{"user", "region_id", Int, Single, nil},
		{"user", "manner_temperature", Float, Single, 36.5},
		{"user", "is_verified", Boolean, Single, false},
		{"user", "last_active_at", Time, Single, nil},
		{"user", "notification_keywords", String, Set, nil},
		{"user", "recent_search_queries", String, List, nil},
		{"user", "category_affinity", Float, Map, nil},
		{"user", "settings", JSON, Single, nil},
		{"article", "price", Int, Single, nil},
		{"article", "created_at", Time, Single, nil},
	}
	for _, tt := range statics {
		f := reg.Entity(tt.entity).Feature(tt.name)
		if f == nil {
			t.Errorf("%s.%s missing", tt.entity, tt.name)
			continue
		}
		if f.FeatureType != Static || f.Type != tt.typ || f.Container != tt.container || !reflect.DeepEqual(f.DefaultValue, tt.def) {
			t.Errorf("%s.%s = %s %s %s default %#v; want static %s %s default %#v",
				tt.entity, tt.name, f.FeatureType, f.Type, f.Container, f.DefaultValue, tt.typ, tt.container, tt.def)
		}
		if f.Entity != reg.Entity(tt.entity) {
			t.Errorf("%s.%s: Entity back-pointer is wrong", tt.entity, tt.name)
		}
	}

	os := user.Feature("os")
	if os.Owner != "ml-platform" || os.Description != "OS of the user's latest session." || os.Deprecated != "" {
		t.Errorf("user.os owner/description/deprecated = %q / %q / %q", os.Owner, os.Description, os.Deprecated)
	}
	if os.Pos != (Pos{File: "../features/user.yaml", Line: 3}) {
		t.Errorf("user.os position = %+v", os.Pos)
	}
	if len(os.Events) != 1 {
		t.Fatalf("user.os has %d events", len(os.Events))
	}
	ev := os.Events[0]
	if ev.Feature != os || ev.StreamName != "app_events" || ev.Topic != "user_cdc" || ev.SubTopic != "user_updated" ||
		ev.EntityID != "user_id" || ev.Timestamp != "updated_at" || len(ev.Filters) != 0 {
		t.Errorf("user.os event = %+v", ev)
	}
	if got := *ev.Fields[0]; got.Path != "device.os" || got.Rename != "os" || got.Type != String || got.Target() != "os" {
		t.Errorf("user.os event field = %+v", got)
	}
	// A static event field without a type takes the feature's type.
	if got := user.Feature("region_id").Events[0].Fields[0]; got.Type != Int || got.Target() != "region_id" {
		t.Errorf("user.region_id event field = %+v; want type Int, target region_id", got)
	}
	if d := article.Feature("image_count").Deprecated; d != "Counts photos only; the ranking models no longer read it." {
		t.Errorf("article.image_count deprecated = %q", d)
	}

	actions := []struct {
		entity, name       string
		maxCount, defCount int
		ttl                time.Duration
		dedupe             bool
		events             int
	}{
		{"user", "recent_clicked_articles", 100, 30, 87600 * time.Hour, true, 2},
		{"user", "recent_searches", 50, 10, 87600 * time.Hour, true, 1},
		{"user", "recent_purchases", 200, 20, 87600 * time.Hour, false, 1},
		{"article", "recent_viewers", 50, 10, 87600 * time.Hour, true, 1},
	}
	for _, tt := range actions {
		f := reg.Entity(tt.entity).Feature(tt.name)
		if f.FeatureType != Action || f.MaxCount != tt.maxCount || f.DefaultCount != tt.defCount || f.TTL != tt.ttl ||
			f.Dedupe != tt.dedupe || len(f.Events) != tt.events {
			t.Errorf("%s.%s = max %d default %d ttl %v dedupe %v events %d; want %d %d %v %v %d", tt.entity, tt.name,
				f.MaxCount, f.DefaultCount, f.TTL, f.Dedupe, len(f.Events), tt.maxCount, tt.defCount, tt.ttl, tt.dedupe, tt.events)
		}
	}

	clicks := user.Feature("recent_clicked_articles")
	if got := clicks.Fields; len(got) != 2 ||
		*got[0] != (Field{Name: "article_id", Type: Int, Join: "article", Description: "The article opened.", Pos: got[0].Pos}) ||
		got[1].Name != "source" || got[1].Type != String || got[1].Join != "" {
		t.Errorf("recent_clicked_articles fields = %+v %+v", got[0], got[1])
	}
	if clicks.Field("source") != clicks.Fields[1] || clicks.Field("nope") != nil {
		t.Error("Feature.Field lookup is wrong")
	}
	flt := clicks.Events[0].Filters
	if len(flt) != 1 || flt[0].Path != "country_code" || flt[0].Type != String || flt[0].Op != OpEqual || !reflect.DeepEqual(flt[0].Values, []any{"kr"}) {
		t.Errorf("recent_clicked_articles filter = %+v", flt)
	}
	// Filters default to String; exists defaults to [true]; values take the filter's type.
	if got := clicks.Events[1].Filters[0]; got.Type != String || got.Op != OpEqual || !reflect.DeepEqual(got.Values, []any{"article"}) {
		t.Errorf("push_opened filter = %+v", got)
	}
	searches := user.Feature("recent_searches").Events[0].Filters
	if searches[0].Op != OpExists || !reflect.DeepEqual(searches[0].Values, []any{true}) {
		t.Errorf("exists filter = %+v", searches[0])
	}
	if searches[1].Op != OpGTE || searches[1].Type != Int || !reflect.DeepEqual(searches[1].Values, []any{int64(0)}) {
		t.Errorf("gte filter = %+v", searches[1])
	}
	purchases := user.Feature("recent_purchases").Events[0]
	if got := purchases.Filters[0]; got.Op != OpIn || !reflect.DeepEqual(got.Values, []any{"completed", "settled"}) {
		t.Errorf("in filter = %+v", got)
	}
	// Action event fields without a type take the type of the field they feed.
	if got := purchases.Fields[1]; got.Target() != "price" || got.Type != Int {
		t.Errorf("recent_purchases amount field = %+v", got)
	}

	if len(reg.Streams) != 2 || reg.Streams["app_events"].SubTopicField != "event_name" ||
		reg.Streams["client_event"].Description != "Cleansed client logs from the apps." {
		t.Errorf("streams = %+v", reg.Streams)
	}
}

// The embedded copy of the example registry is the same registry.
func TestExampleRegistryEmbedded(t *testing.T) {
	fromDir, err := Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	fromFS, err := LoadFS(features.FS, "features")
	if err != nil {
		t.Fatalf("LoadFS(features.FS): %v", err)
	}
	if got, want := entityNames(fromFS), entityNames(fromDir); !reflect.DeepEqual(got, want) {
		t.Fatalf("embedded entities %v, want %v", got, want)
	}
	for _, e := range fromDir.Entities {
		if got, want := featureNames(fromFS.Entity(e.Name).Features()), featureNames(e.Features()); !reflect.DeepEqual(got, want) {
			t.Errorf("embedded %s features %v, want %v", e.Name, got, want)
		}
	}
}

func TestActionDefaults(t *testing.T) {
	reg := mustParse(t, map[string]string{"base.yaml": baseYAML, "a.yaml": `features:
  user:
    plain:
      featureType: action
      fields: [{name: n, type: Int}]
    small:
      featureType: action
      maxCount: 10
      fields: [{name: n, type: Int}]
    deep:
      featureType: action
      defaultCount: 50
      dedupe: false
      fields: [{name: n, type: Int}]
`})
	tests := []struct {
		name     string
		max, def int
		dedupe   bool
	}{
		{"plain", 100, 30, true},
		{"small", 10, 10, true},
		{"deep", 100, 50, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := reg.Entity("user").Feature(tt.name)
			if f.MaxCount != tt.max || f.DefaultCount != tt.def || f.Dedupe != tt.dedupe || f.TTL != 0 {
				t.Errorf("max %d default %d dedupe %v ttl %v; want %d %d %v and no ttl", f.MaxCount, f.DefaultCount, f.Dedupe, f.TTL, tt.max, tt.def, tt.dedupe)
			}
		})
	}
}

func TestMultiFileMerge(t *testing.T) {
	reg, err := Load("testdata/merge")
	if err != nil {
		t.Fatalf("Load(testdata/merge): %v", err)
	}
	if got, want := entityNames(reg), []string{"article", "shop", "user"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entities = %v, want %v", got, want)
	}
	user := reg.Entity("user")
	if user.IDType != Int || user.Description != "A user." {
		t.Errorf("user idType %s description %q; want the default Int", user.IDType, user.Description)
	}
	if shop := reg.Entity("shop"); shop.IDType != String || shop.Plural != "shops_list" || shop.BatchQueryField() != "shopsList" {
		t.Errorf("shop = %s plural %q batch field %q", shop.IDType, shop.Plural, shop.BatchQueryField())
	}
	if got, want := featureNames(user.Features()), []string{"clicks", "legacy_score", "os", "score"}; !reflect.DeepEqual(got, want) {
		t.Errorf("user features = %v, want %v (merged from two files)", got, want)
	}
	if got := reg.Entity("article").Feature("views"); got == nil || got.MaxCount != 10 || got.DefaultCount != 10 || got.Dedupe {
		t.Errorf("article.views = %+v; want maxCount 10, defaultCount 10, dedupe false", got)
	}
	if s := reg.Streams["app_events"]; s == nil || s.SubTopicField != "meta.type" || s.Description != "CDC." || s.Pos.File != "testdata/merge/streams.yml" {
		t.Errorf("app_events stream = %+v", s)
	}
	if s := reg.Streams["client_event"]; s == nil || s.SubTopicField != "event_name" {
		t.Errorf("client_event stream = %+v; want the default subTopicField event_name", s)
	}
	if p := user.Feature("clicks").Pos; p != (Pos{File: "testdata/merge/user/actions.yaml", Line: 3}) {
		t.Errorf("user.clicks position = %+v", p)
	}

	for _, tt := range []struct{ feature, deprecated string }{
		{"os", "No longer supported"},
		{"legacy_score", "Use score instead."},
		{"score", ""},
	} {
		if got := user.Feature(tt.feature).Deprecated; got != tt.deprecated {
			t.Errorf("%s deprecated = %q, want %q", tt.feature, got, tt.deprecated)
		}
	}
	clicks := user.Feature("clicks")
	if clicks.TTL != 30*24*time.Hour {
		t.Errorf("ttl 30d = %v, want 720h", clicks.TTL)
	}
	if got := clicks.Fields[1]; got.Join != "shop" || got.Type != String || got.JoinName() != "shop" {
		t.Errorf("shop_id field = %+v", got)
	}
}

func TestStaticDefaultValues(t *testing.T) {
	reg := mustParse(t, map[string]string{"base.yaml": baseYAML, "a.yaml": `features:
  user:
    keywords: {featureType: static, type: String, containerType: set, defaultValue: [b, a, b, c]}
    ids: {featureType: static, type: Int, containerType: set, defaultValue: [3, 1, 3, "2"]}
    history: {featureType: static, type: Int, containerType: list, defaultValue: [3, 1, 3]}
    weights: {featureType: static, type: Float, containerType: map, defaultValue: {a: 1, b: 0.5}}
    born: {featureType: static, type: Time, defaultValue: 2026-10-15T17:12:00+09:00}
    epoch: {featureType: static, type: Time, defaultValue: 1792051920}
    settings: {featureType: static, type: JSON, defaultValue: {theme: dark, sizes: [1, 2]}}
    score: {featureType: static, type: Float, defaultValue: 1}
    name: {featureType: static, type: String, defaultValue: 42}
    flag: {featureType: static, type: Boolean, defaultValue: "true"}
`})
	when := time.Date(2026, 10, 15, 8, 12, 0, 0, time.UTC)
	tests := []struct {
		name string
		want any
	}{
		{"keywords", []any{"a", "b", "c"}},
		{"ids", []any{int64(1), int64(2), int64(3)}},
		{"history", []any{int64(3), int64(1), int64(3)}},
		{"weights", map[string]any{"a": 1.0, "b": 0.5}},
		{"born", when},
		{"epoch", when},
		{"settings", json.RawMessage(`{"sizes":[1,2],"theme":"dark"}`)},
		{"score", 1.0},
		{"name", "42"},
		{"flag", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reg.Entity("user").Feature(tt.name).DefaultValue
			if !equalValue(got, tt.want) {
				t.Errorf("defaultValue = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// equalValue compares canonical values, times by instant.
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && x.Location() == time.UTC && y.Location() == time.UTC
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalValue(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
