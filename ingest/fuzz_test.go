package ingest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// FuzzDispatch feeds arbitrary envelope lines through DecodeEnvelope and Dispatch. Nothing may
// panic, and every write produced must be well formed: a key with an id, a time in range, a
// static value in its canonical form, and a member that is a JSON object.
func FuzzDispatch(f *testing.F) {
	for _, line := range demoEvents(f) {
		f.Add(line)
	}
	for _, s := range []string{
		`{"streamName":"client_event","topic":"client_event_cleansed","event":{"event_name":"view_article_v1","user_id":1,"event_time":1760000000,"country_code":"kr","params":{"article_id_v1":"7","source":"feed"}}}`,
		`{"topic":"user_cdc","event":{"event_name":"user_updated","user_id":"9","device.os":"ios","region":{"id":1.0},"verified":"1","updated_at":"2026-10-10T12:01:00Z"}}`,
		`{"topic":"keyword_cdc","event":{"event_name":"keywords_updated","user_id":1,"keywords":[1,"a",null],"updated_at":1e300}}`,
		`{"topic":"user_profile_batch","event":{"event_name":"affinity","user_id":1,"scores":{"a":"NaN"},"computed_at":"NaN"}}`,
		`{"topic":"order_cdc","event":{"event_name":"order_completed","buyer_id":-1,"article_id":[],"amount":{},"status":"settled","completed_at":-1}}`,
		`{"topic":"user_cdc","subTopic":"settings_updated","event":{"user_id":1,"settings":[[[[]]]],"updated_at":"1"}}`,
		`{"topic":"x","event":[]}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	reg, err := registry.Load(repoDir(f) + "/features")
	if err != nil {
		f.Fatal(err)
	}
	d := ingest.NewDispatcher(reg)
	f.Fuzz(func(t *testing.T, line []byte) {
		env, err := ingest.DecodeEnvelope(line)
		if err != nil {
			return
		}
		res, _ := d.Dispatch(env)
		for _, w := range res.Static {
			checkKey(t, reg, w.Key, w.TS)
			fe := reg.Entity(entityOf(reg, w.Key.Prefix)).Feature(w.Key.Feature)
			again, err := registry.Conform(fe.Type, fe.Container, w.Value)
			if err != nil || !store.Equal(again, w.Value) {
				t.Fatalf("static value %v of %s is not of the feature's type: %v", w.Value, w.Key, err)
			}
		}
		for _, w := range res.Actions {
			checkKey(t, reg, w.Key, w.TS)
			var m map[string]any
			if err := json.Unmarshal([]byte(w.Member), &m); err != nil || len(m) == 0 {
				t.Fatalf("member %q of %s is not a JSON object with fields: %v", w.Member, w.Key, err)
			}
		}
	})
}

func entityOf(reg *registry.Registry, prefix string) string {
	for _, e := range reg.Entities {
		if e.Prefix == prefix {
			return e.Name
		}
	}
	return ""
}

func checkKey(t *testing.T, reg *registry.Registry, k store.Key, ts int64) {
	t.Helper()
	e := reg.Entity(entityOf(reg, k.Prefix))
	if e == nil || e.Feature(k.Feature) == nil || k.ID == "" {
		t.Fatalf("bad key %s", k)
	}
	if e.IDType == registry.Int && strings.TrimLeft(k.ID, "-0123456789") != "" {
		t.Fatalf("Int id %q is not decimal", k.ID)
	}
	if ts < 0 || ts > 253402300799000 {
		t.Fatalf("time %d out of range", ts)
	}
}
