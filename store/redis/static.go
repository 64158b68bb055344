package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

// Static values are a cache only: DynamoDB holds the truth. Each is a hash at the feature's key
// with fields ts (event time, ms), t (a one-letter type tag) and v (the value as text):
//
//	i int64 (decimal)   f float64   s string   b bool (1/0)   t time.Time (RFC 3339, nanoseconds)
//	j json.RawMessage (the JSON text)   x anything else, e.g. []any and map[string]any, as JSON
//	n nil
//
// so every canonical value reads back as the same Go value, except that lists and maps come
// back JSON-decoded (numbers as json.Number), which registry.Coerce turns canonical again.

// setStatic stores a value unless the cached one is newer, and sets or clears its expiry.
var setStatic = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'ts')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'ts', ARGV[1], 't', ARGV[2], 'v', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
`)

// ReadStatic implements store.StaticReader with one pipeline of HMGETs.
func (s *Store) ReadStatic(ctx context.Context, keys []store.Key) (map[store.Key]store.StaticValue, error) {
	out := make(map[store.Key]store.StaticValue, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pipe := s.client.Pipeline()
	cmds := make(map[store.Key]*goredis.SliceCmd, len(keys))
	for _, k := range keys {
		if _, ok := cmds[k]; !ok {
			cmds[k] = pipe.HMGet(ctx, k.String(), "ts", "t", "v")
		}
	}
	if err := s.exec(ctx, "read static", pipe); err != nil {
		return nil, err
	}
	for k, cmd := range cmds {
		vals := cmd.Val()
		if len(vals) != 3 || vals[0] == nil {
			continue
		}
		tsText, _ := vals[0].(string)
		tag, _ := vals[1].(string)
		text, _ := vals[2].(string)
		ts, err := strconv.ParseInt(tsText, 10, 64)
		if err != nil {
			return nil, &store.BackendError{Backend: backend, Op: "read static", Err: fmt.Errorf("%w: key %s: bad ts %q", store.ErrInvalid, k, tsText)}
		}
		v, err := decodeStatic(tag, text)
		if err != nil {
			return nil, &store.BackendError{Backend: backend, Op: "read static", Err: fmt.Errorf("%w: key %s: %v", store.ErrInvalid, k, err)}
		}
		out[k] = store.StaticValue{Value: v, TS: ts}
	}
	return out, nil
}

// WriteStatic implements store.StaticWriter. Entries expire after Config.StaticTTL (if set).
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	return s.WriteStaticTTL(ctx, writes, s.cfg.StaticTTL)
}

// WriteStaticTTL is WriteStatic with an explicit expiry (0: none). A write older than the cached
// value is ignored; each key is one script run, all in one round trip.
func (s *Store) WriteStaticTTL(ctx context.Context, writes []store.StaticWrite, ttl time.Duration) error {
	if len(writes) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, w := range writes {
		tag, text, err := encodeStatic(w.Value)
		if err != nil {
			return &store.BackendError{Backend: backend, Op: "write static", Err: fmt.Errorf("%w: key %s: %v", store.ErrInvalid, w.Key, err)}
		}
		setStatic.Eval(ctx, pipe, []string{w.Key.String()}, w.TS, tag, text, ttl.Milliseconds())
	}
	return s.exec(ctx, "write static", pipe)
}

// DeleteStatic drops cached static values (the tiered store invalidates on write).
func (s *Store) DeleteStatic(ctx context.Context, keys []store.Key) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k.String()) // one key per DEL: keys may live in different Cluster slots
	}
	return s.exec(ctx, "delete static", pipe)
}

func encodeStatic(v any) (tag, text string, err error) {
	switch x := v.(type) {
	case nil:
		return "n", "", nil
	case int64:
		return "i", strconv.FormatInt(x, 10), nil
	case int:
		return "i", strconv.Itoa(x), nil
	case float64:
		return "f", strconv.FormatFloat(x, 'g', -1, 64), nil
	case string:
		return "s", x, nil
	case bool:
		if x {
			return "b", "1", nil
		}
		return "b", "0", nil
	case time.Time:
		return "t", x.UTC().Format(time.RFC3339Nano), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return "", "", fmt.Errorf("invalid JSON value")
		}
		return "j", string(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", "", err
	}
	return "x", string(b), nil
}

func decodeStatic(tag, text string) (any, error) {
	switch tag {
	case "n":
		return nil, nil
	case "i":
		return strconv.ParseInt(text, 10, 64)
	case "f":
		return strconv.ParseFloat(text, 64)
	case "s":
		return text, nil
	case "b":
		return text == "1", nil
	case "t":
		return time.Parse(time.RFC3339Nano, text)
	case "j":
		return json.RawMessage(text), nil
	case "x":
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown type tag %q", tag)
}
