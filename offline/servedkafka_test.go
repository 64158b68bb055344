package offline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// TestServedKafkaRecord: the Kafka sink's record of a request is keyed by its request id and
// holds the request's columns once and one entry per value read, without them.
func TestServedKafkaRecord(t *testing.T) {
	reg, err := registry.Parse(map[string][]byte{"f.yaml": []byte("entities:\n  user: {prefix: u}\nservedLog: {}\nfeatures:\n  user:\n    age: {featureType: static, type: Int}\n    name: {featureType: static, type: String, defaultValue: anon}\n")})
	if err != nil {
		t.Fatal(err)
	}
	l := &ServedLog{}
	l.SetRegistry(reg)
	l.gen.Load().fingerprint = "fp1"
	r := &ServedRequest{log: l, ID: "req-1", Operation: "Home", OperationHash: "h", Time: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)}
	r.AppendStatic(store.StaticQuery{Prefix: "u", IDs: []string{"7", "8"}, Features: []string{"age", "name"}},
		[]store.StaticValue{{Value: store.IntValue(41), TS: 1700000000000}, {Value: store.StringValue("ann"), TS: 1700000000000}, {}, {}}, nil)
	s := &ServedKafkaSink{Topic: "served"}
	s.Add(&ServedRows{log: l, req: r})
	if len(s.recs) != 1 || string(s.recs[0].Key) != "req-1" || s.recs[0].Topic != "served" {
		t.Fatalf("records %+v", s.recs)
	}
	var got struct {
		RequestID   string           `json:"request_id"`
		Operation   string           `json:"operation"`
		Fingerprint string           `json:"registry_fingerprint"`
		Values      []map[string]any `json:"values"`
	}
	if err := json.Unmarshal(s.recs[0].Value, &got); err != nil {
		t.Fatal(err)
	}
	if got.RequestID != "req-1" || got.Operation != "Home" || got.Fingerprint != "fp1" || len(got.Values) != 4 {
		t.Fatalf("record %s", s.recs[0].Value)
	}
	want := []map[string]any{
		{"entity": "user", "entity_id": "7", "feature": "age", "value_type": "Int", "status": "present", "event_time": "2023-11-14T22:13:20Z", "value_int": 41.0},
		{"entity": "user", "entity_id": "7", "feature": "name", "value_type": "String", "status": "present", "event_time": "2023-11-14T22:13:20Z", "value_string": "ann"},
		{"entity": "user", "entity_id": "8", "feature": "age", "value_type": "Int", "status": "absent"},
		{"entity": "user", "entity_id": "8", "feature": "name", "value_type": "String", "status": "default", "value_string": "anon"},
	}
	for i, v := range got.Values {
		b1, _ := json.Marshal(v)
		b2, _ := json.Marshal(want[i])
		if string(b1) != string(b2) {
			t.Errorf("value %d: %s, want %s", i, b1, b2)
		}
	}
	s.Discard()
	if len(s.recs) != 0 {
		t.Fatal("Discard kept records")
	}
}
