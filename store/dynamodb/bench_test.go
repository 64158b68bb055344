package dynamodb_test

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/featuregraph/featuregraph/store"
)

// BenchmarkReadStatic100 reads 100 keys (one BatchGetItem) from an httptest server answering a
// canned response of 100 items, each a map of five fields: the hot path of the store, request
// encoding, signing, the HTTP round trip on loopback and the decoding of the answer.
func BenchmarkReadStatic100(b *testing.B) {
	items := make([]any, 100)
	ks := keys(100)
	for i := range items {
		items[i] = map[string]any{
			"pk": map[string]any{"S": ks[i].String()},
			"ts": map[string]any{"N": "1700000000000"},
			"v": map[string]any{"M": map[string]any{
				"name":  map[string]any{"S": "user " + strconv.Itoa(i) + " \u00e9\"quoted\""},
				"score": map[string]any{"N": "12.5"},
				"ok":    map[string]any{"BOOL": true},
				"tags":  map[string]any{"L": []any{map[string]any{"S": "a"}, map[string]any{"S": "b"}}},
				"n":     map[string]any{"NULL": true},
			}},
		}
	}
	body, _ := json.Marshal(map[string]any{"Responses": map[string]any{fakeTable: items}, "UnprocessedKeys": map[string]any{}})
	sum := strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", sum)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	s := fakeStore(&testing.T{}, srv.URL, nil, nil)
	out := make([]store.StaticValue, len(ks))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.ReadStaticKeys(ctx, ks, out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if out[99].Value.Kind == 0 {
		b.Fatal("no value read")
	}
}
