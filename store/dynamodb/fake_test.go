package dynamodb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
)

// fakeDynamoDB speaks DynamoDB's JSON protocol for the edge cases a real server will not
// produce on demand. handle gets the operation (X-Amz-Target without the prefix), the decoded
// request and the 1-based number of requests so far for that operation.
type fakeDynamoDB struct {
	mu       sync.Mutex
	requests map[string]int
	bodies   map[string][]map[string]any
	handle   func(op string, req map[string]any, n int) (status int, resp any)
	// check, when set, sees every request and its body first.
	check func(r *http.Request, body []byte)
}

func newFake(t *testing.T, handle func(op string, req map[string]any, n int) (int, any)) (*fakeDynamoDB, *httptest.Server) {
	f := &fakeDynamoDB{requests: map[string]int{}, bodies: map[string][]map[string]any{}, handle: handle}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "DynamoDB_20120810."
	target := r.Header.Get("X-Amz-Target")
	op := target[min(len(prefix), len(target)):]
	body, _ := io.ReadAll(r.Body)
	if f.check != nil {
		f.check(r, body)
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.requests[op]++
	n := f.requests[op]
	f.bodies[op] = append(f.bodies[op], req)
	f.mu.Unlock()
	status, resp := f.handle(op, req, n)
	out, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (f *fakeDynamoDB) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[op]
}

func (f *fakeDynamoDB) body(op string, i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[op][i]
}

const fakeTable = "tbl"

func apiError(code, msg string) map[string]any {
	return map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg}
}

// requestedKeys returns the pk of every key of a BatchGetItem request.
func requestedKeys(req map[string]any) []string {
	var pks []string
	for _, ka := range req["RequestItems"].(map[string]any) {
		for _, k := range ka.(map[string]any)["Keys"].([]any) {
			pks = append(pks, k.(map[string]any)["pk"].(map[string]any)["S"].(string))
		}
	}
	return pks
}

// staticItem is the item the fake returns for pk: a string value and ts 1000.
func staticItem(pk string) map[string]any {
	return map[string]any{"pk": map[string]any{"S": pk}, "v": map[string]any{"S": "v:" + pk}, "ts": map[string]any{"N": "1000"}}
}

func keyItems(pks []string) []any {
	var out []any
	for _, pk := range pks {
		out = append(out, map[string]any{"pk": map[string]any{"S": pk}, "sk": map[string]any{"N": "0"}})
	}
	return out
}

func batchGetResponse(found, unprocessed []string) map[string]any {
	items := []any{}
	for _, pk := range found {
		items = append(items, staticItem(pk))
	}
	resp := map[string]any{"Responses": map[string]any{fakeTable: items}}
	if len(unprocessed) > 0 {
		resp["UnprocessedKeys"] = map[string]any{fakeTable: map[string]any{"Keys": keyItems(unprocessed)}}
	}
	return resp
}

func fakeStore(t *testing.T, url string, obs store.Observer, tweak func(*dynamodb.Config)) *dynamodb.Store {
	t.Helper()
	cfg := dynamodb.Config{
		Endpoint: url, Region: "us-east-1", Table: fakeTable, Observer: obs,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := dynamodb.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keys(n int) []store.Key {
	ks := make([]store.Key, n)
	for i := range ks {
		ks[i] = store.Key{Prefix: "u", ID: strconv.Itoa(i), Feature: "os"}
	}
	return ks
}

func TestBatchGetItemEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		// handle answers the n-th BatchGetItem for the requested pks.
		handle       func(pks []string, n int) (int, any)
		timeout      time.Duration
		wantErr      error // nil: every key is found
		wantRequests int   // HTTP requests the fake saw
		wantCalls    int   // BatchGetItem calls the Observer saw
	}{
		{
			name: "unprocessed_once_then_served",
			handle: func(pks []string, n int) (int, any) {
				if n == 1 {
					return 200, batchGetResponse(pks[:1], pks[1:])
				}
				return 200, batchGetResponse(pks, nil)
			},
			wantRequests: 2, wantCalls: 2,
		},
		{
			name: "unprocessed_forever",
			handle: func(pks []string, n int) (int, any) {
				if n == 1 {
					return 200, batchGetResponse(pks[:1], pks[1:]) // some found, the rest never
				}
				return 200, batchGetResponse(nil, pks)
			},
			wantErr: store.ErrIncomplete, wantRequests: 3, wantCalls: 3,
		},
		{
			name: "unprocessed_until_the_deadline",
			handle: func(pks []string, n int) (int, any) {
				return 200, batchGetResponse(nil, pks)
			},
			timeout: 30 * time.Millisecond,
			wantErr: store.ErrIncomplete, wantRequests: -1, wantCalls: -1,
		},
		{
			name: "throttled_then_success",
			handle: func(pks []string, n int) (int, any) {
				if n == 1 {
					return 400, apiError("ProvisionedThroughputExceededException", "slow down")
				}
				return 200, batchGetResponse(pks, nil)
			},
			wantRequests: 2, wantCalls: 1, // the SDK retries within one call
		},
		{
			name: "throttled_forever",
			handle: func(pks []string, n int) (int, any) {
				return 400, apiError("ThrottlingException", "slow down")
			},
			wantErr: store.ErrUnavailable, wantRequests: 3, wantCalls: 1,
		},
		{
			name: "server_error",
			handle: func(pks []string, n int) (int, any) {
				return 500, apiError("InternalServerError", "boom")
			},
			wantErr: store.ErrUnavailable, wantRequests: 3, wantCalls: 1,
		},
		{
			name: "validation_error",
			handle: func(pks []string, n int) (int, any) {
				return 400, apiError("ValidationException", "bad key")
			},
			wantErr: store.ErrInvalid, wantRequests: 1, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// With a timeout, the context ends tt.timeout after the first retry reached the fake
			// (so the first answer, with its unprocessed keys, has arrived), not after the call
			// started: on a loaded machine (race detector, other test binaries) the first HTTP
			// round trip alone can take longer than the timeout, and that is a timeout of the
			// backend, not unprocessed keys left at the deadline.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fake, srv := newFake(t, func(op string, req map[string]any, n int) (int, any) {
				if tt.timeout > 0 && n == 2 {
					time.AfterFunc(tt.timeout, cancel)
				}
				return tt.handle(requestedKeys(req), n)
			})
			obs := &calls{}
			s := fakeStore(t, srv.URL, obs, func(c *dynamodb.Config) {
				c.UnprocessedRetries = 2
				if tt.timeout > 0 {
					c.UnprocessedRetries = 1000
				}
			})
			ks := keys(3)
			got := make([]store.StaticValue, len(ks))
			err := s.ReadStaticKeys(ctx, ks, got)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("want error %v, got %v (values %v)", tt.wantErr, err, got)
				}
				if store.BackendOf(err) != "dynamodb" {
					t.Fatalf("want a dynamodb BackendError, got %#v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				for i, k := range ks {
					if got[i].Str != "v:"+k.String() || got[i].TS != 1000 {
						t.Fatalf("key %s: got %#v", k, got[i])
					}
				}
			}
			if tt.wantRequests >= 0 && fake.count("BatchGetItem") != tt.wantRequests {
				t.Fatalf("want %d requests, got %d", tt.wantRequests, fake.count("BatchGetItem"))
			}
			if tt.wantCalls >= 0 && obs.get("BatchGetItem") != tt.wantCalls {
				t.Fatalf("want %d BatchGetItem calls observed, got %d", tt.wantCalls, obs.get("BatchGetItem"))
			}
		})
	}
}

func TestBatchGetItemSplitsDedupesAndRunsConcurrently(t *testing.T) {
	const n, wantCalls = 500, 5
	var (
		mu          sync.Mutex
		inFlight    int
		maxInFlight int
		release     = make(chan struct{})
		once        sync.Once
	)
	fake, srv := newFake(t, func(op string, req map[string]any, _ int) (int, any) {
		pks := requestedKeys(req)
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		if inFlight >= 2 {
			once.Do(func() { close(release) })
		}
		mu.Unlock()
		// Sequential calls would never see a second request in flight: hold the first until one
		// arrives (or give up after a while, and the assertion below fails).
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		seen := map[string]bool{}
		for _, pk := range pks {
			if seen[pk] {
				return 400, apiError("ValidationException", "Provided list of item keys contains duplicates")
			}
			seen[pk] = true
		}
		if len(pks) > 100 {
			return 400, apiError("ValidationException", "Too many items requested for the BatchGetItem call")
		}
		return 200, batchGetResponse(pks, nil)
	})
	obs := &calls{}
	s := fakeStore(t, srv.URL, obs, nil)
	ks := keys(n)
	ks = append(ks, ks[:50]...) // repeats are fetched once
	got := make([]store.StaticValue, len(ks))
	if err := s.ReadStaticKeys(context.Background(), ks, got); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v.Kind != store.String {
			t.Fatalf("value %d (%s) not read: %v", i, ks[i], v)
		}
	}
	if c := obs.get("BatchGetItem"); c != wantCalls {
		t.Fatalf("want %d BatchGetItem calls, got %d", wantCalls, c)
	}
	if fake.count("BatchGetItem") != wantCalls {
		t.Fatalf("want %d requests, got %d", wantCalls, fake.count("BatchGetItem"))
	}
	if maxInFlight < 2 {
		t.Fatalf("BatchGetItem calls ran one at a time")
	}
}

func TestBatchWriteItemUnprocessedItems(t *testing.T) {
	tests := []struct {
		name         string
		forever      bool
		wantErr      error
		wantRequests int
	}{
		{"retried_until_done", false, nil, 2 + 1}, // batch of 25 (5 left once) and a batch of 5
		{"unprocessed_forever", true, store.ErrIncomplete, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			retried := map[string]bool{} // sort keys sent back as unprocessed
			fake, srv := newFake(t, func(op string, req map[string]any, n int) (int, any) {
				reqs := req["RequestItems"].(map[string]any)[fakeTable].([]any)
				mu.Lock()
				defer mu.Unlock()
				if len(reqs) > 25 {
					return 400, apiError("ValidationException", "too many items")
				}
				if len(reqs) == 25 && (n == 1 || tt.forever) || tt.forever {
					left := reqs[len(reqs)-5:]
					for _, r := range left {
						item := r.(map[string]any)["PutRequest"].(map[string]any)["Item"].(map[string]any)
						retried[item["sk"].(map[string]any)["N"].(string)] = true
					}
					return 200, map[string]any{"UnprocessedItems": map[string]any{fakeTable: left}}
				}
				if len(reqs) == 5 && n > 1 && !tt.forever {
					// the retry must carry exactly the unprocessed items, with their expiry
					for _, r := range reqs {
						item := r.(map[string]any)["PutRequest"].(map[string]any)["Item"].(map[string]any)
						if _, ok := item["exp"]; !ok {
							return 400, apiError("ValidationException", "retried item lost exp")
						}
					}
				}
				return 200, map[string]any{}
			})
			s := fakeStore(t, srv.URL, nil, func(c *dynamodb.Config) { c.UnprocessedRetries = 3; c.Concurrency = 1 })
			var ws []store.ActionWrite
			k := store.Key{Prefix: "u", ID: "1", Feature: "clicks"}
			for i := range 30 {
				ws = append(ws, store.ActionWrite{Key: k, TS: int64(1000 + i), Member: fmt.Sprint(i), MaxCount: 100, TTL: time.Hour})
			}
			ws = append(ws, ws[0]) // a redelivery in the same call is one item
			err := s.WriteActions(context.Background(), ws)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("want %v, got %v", tt.wantErr, err)
			}
			if tt.wantRequests >= 0 && fake.count("BatchWriteItem") != tt.wantRequests {
				t.Fatalf("want %d BatchWriteItem requests, got %d", tt.wantRequests, fake.count("BatchWriteItem"))
			}
			if tt.wantErr == nil {
				second := fake.body("BatchWriteItem", 1)["RequestItems"].(map[string]any)[fakeTable].([]any)
				if len(second) != 5 {
					t.Fatalf("want the retry to carry the 5 unprocessed items, got %d", len(second))
				}
				for _, r := range second {
					sk := r.(map[string]any)["PutRequest"].(map[string]any)["Item"].(map[string]any)["sk"].(map[string]any)["N"].(string)
					if !retried[sk] {
						t.Fatalf("retry carried item %s that was not unprocessed", sk)
					}
				}
			}
		})
	}
}

func TestWriteStaticOlderEventIsNotAnError(t *testing.T) {
	fake, srv := newFake(t, func(op string, req map[string]any, n int) (int, any) {
		if req["ConditionExpression"] == nil {
			return 400, apiError("ValidationException", "unconditional put")
		}
		return 400, apiError("ConditionalCheckFailedException", "The conditional request failed")
	})
	obs := &calls{}
	s := fakeStore(t, srv.URL, obs, nil)
	err := s.WriteStatic(context.Background(), []store.StaticWrite{{Key: keys(1)[0], Value: store.StringValue("x"), TS: 1}})
	if err != nil {
		t.Fatalf("want no error for an older event, got %v", err)
	}
	if fake.count("PutItem") != 1 || obs.get("PutItem") != 1 {
		t.Fatalf("want one PutItem, got %d requests, %d observed", fake.count("PutItem"), obs.get("PutItem"))
	}
}

func TestUnreachableEndpointIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	s := fakeStore(t, url, nil, func(c *dynamodb.Config) { c.MaxAttempts = 1 })
	ctx := context.Background()
	ops := []struct {
		name string
		call func() error
	}{
		{"ping", func() error { return s.Ping(ctx) }},
		{"read_static", func() error { return s.ReadStaticKeys(ctx, keys(2), make([]store.StaticValue, 2)) }},
		{"write_static", func() error {
			return s.WriteStatic(ctx, []store.StaticWrite{{Key: keys(1)[0], Value: store.IntValue(1), TS: 1}})
		}},
		{"read_actions", func() error {
			_, err := s.ReadActions(ctx, []store.ActionQuery{{Key: keys(1)[0], Count: 3}})
			return err
		}},
		{"write_actions", func() error {
			return s.WriteActions(ctx, []store.ActionWrite{{Key: keys(1)[0], TS: 1, Member: "m"}})
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.call()
			if !errors.Is(err, store.ErrUnavailable) || store.BackendOf(err) != "dynamodb" {
				t.Fatalf("want a dynamodb BackendError wrapping ErrUnavailable, got %v", err)
			}
		})
	}
}
