package redis

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

// Static features are entity-major: one hash per entity, at "<prefix>#<id>", with one field per
// feature. A field holds the event time and the value, "<ts>:<value>": ts the event time in
// Unix ms as decimal text, value the compact binary form of store.Value (store.AppendBinary:
// a kind byte, then varints, IEEE 754 bytes or length-prefixed text; no JSON for scalars).
// A field "n<until>" is a negative entry: the source of truth holds no value for the feature,
// and that is known until the Unix ms time until (the field is a miss after that). A read is
// one command per entity, every entity of the call in one pipeline (one key per entity, so
// Cluster-safe): HGETALL when it asks for most of the fields the hashes hold, else HMGET of
// only the features asked for (static_hash.go). A write is one script per entity that sets a
// field only when its event time is not older than the stored one; a negative entry never
// replaces a value.

// EntityKey returns the Redis key of an entity's static hash: "<prefix>#<id>".
func EntityKey(prefix, id string) string { return prefix + "#" + id }

// setStatic writes the fields of one entity hash. ARGV[1] is the expiry in ms (0: leave the
// expiry as it is), then triples (ts, field, encoded): ts "n" marks a negative entry, written
// only over a missing field or another negative entry; any other ts is written unless the
// stored field holds a newer event. Returns the number of fields written.
var setStatic = goredis.NewScript(`
local fields = {}
for i = 2, #ARGV, 3 do fields[#fields + 1] = ARGV[i + 1] end
local cur = redis.call('HMGET', KEYS[1], unpack(fields))
local set = {}
for j = 1, #fields do
  local i = 2 + (j - 1) * 3
  local c = cur[j]
  local ok
  if ARGV[i] == 'n' then
    ok = (not c) or string.byte(c, 1) == 110
  else
    ok = true
    if c and string.byte(c, 1) ~= 110 then
      local cts = tonumber(string.match(c, '^(-?%d+):'))
      if cts and cts > tonumber(ARGV[i]) then ok = false end
    end
  end
  if ok then
    set[#set + 1] = fields[j]
    set[#set + 1] = ARGV[i + 2]
  end
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return #set / 2
`)

// ReadStatic implements store.StaticReader: features Redis does not hold, or holds a negative
// entry for, are Absent.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	_, err := s.ReadStaticCached(ctx, q, out, nil)
	return err
}

// getStatic (Config.StaticScript) reads the fields ARGV of the entity hashes KEYS and answers
// one string per hash: its HMGET answer as MessagePack (cmsgpack, built into Redis's Lua). One
// reply string per entity instead of one per field is what the client parses and allocates,
// and the features are sent once per call instead of once per entity.
var getStatic = goredis.NewScript(getStaticSource)

const getStaticSource = `
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = cmsgpack.pack(redis.call('HMGET', k, unpack(ARGV)))
end
return out
`

// maxKeysPerRead bounds the entities of one getStatic call, so that one script does not hold
// Redis for long (a call of 100 entities × 50 features runs in about a millisecond).
const maxKeysPerRead = 128

// ReadStaticCached reads q and appends to missing the indexes of out that Redis knows nothing
// about (no field, or an expired negative entry); those are Absent in out, as are the features
// a negative entry says have no value. It reads with one HMGET per entity, or with
// Config.StaticScript one getStatic call per at most maxKeysPerRead entities; either way one
// pipeline.
func (s *Store) ReadStaticCached(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error) {
	if err := q.Check(out); err != nil {
		return missing, &store.BackendError{Backend: backend, Op: "read static", Err: err}
	}
	if len(out) == 0 {
		return missing, nil
	}
	if s.cfg.StaticScript {
		return s.readStaticScript(ctx, q, out, missing)
	}
	return s.readStaticHMGET(ctx, q, out, missing)
}

// readStaticHMGET reads q in one pipeline of one command per entity, HMGET of the features
// asked for or HGETALL (wholeHashes, static_hash.go), and appends to missing the indexes of out
// that Redis knows nothing about (no field, or an expired negative entry); those are Absent in
// out, as are the features a negative entry says have no value.
//
// Each reply is read as its raw RESP bytes (goredis.RawCmd) and decoded from them: the client
// allocates a buffer per entity instead of a string per field (and the []string), so the
// allocations of a read are O(entities), not O(values).
func (s *Store) readStaticHMGET(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error) {
	nf := len(q.Features)
	stat, whole := s.wholeHashes(q.Prefix, nf)
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.RawCmd, len(q.IDs))
	// The arguments are pointers to strings (go-redis writes a *string as the string): to the
	// caller's feature names and to keys built in one buffer, so no string is copied or boxed
	// per argument (P2's 100 HMGETs have 5,200).
	var proto []any
	verb := "HMGET"
	if whole {
		verb = "HGETALL"
		proto = []any{"hgetall", nil}
	} else {
		proto = make([]any, 2+nf)
		proto[0] = "hmget"
		for j := range q.Features {
			proto[2+j] = &q.Features[j]
		}
	}
	size := 0
	for _, id := range q.IDs {
		size += len(q.Prefix) + 1 + len(id)
	}
	kb := make([]byte, 0, size) // never grows: the keys view it
	keys := make([]string, len(q.IDs))
	for i, id := range q.IDs {
		start := len(kb)
		kb = append(append(append(kb, q.Prefix...), '#'), id...)
		keys[i] = unsafeString(kb[start:])
	}
	// The arguments of all the commands in one slice, reused across reads (P2's 100 HMGETs of
	// 52 are 83 KB): go-redis holds them only until Exec returns.
	ap := argsPool.Get().(*[]any)
	defer func() { clear(*ap); argsPool.Put(ap) }()
	if n := len(q.IDs) * len(proto); cap(*ap) < n {
		*ap = make([]any, n)
	} else {
		*ap = (*ap)[:n]
	}
	args := *ap
	for i := range q.IDs {
		a := args[i*len(proto) : (i+1)*len(proto) : (i+1)*len(proto)]
		copy(a, proto)
		a[1] = &keys[i]
		cmds[i] = goredis.NewRawCmd(ctx, a...)
		_ = pipe.Process(ctx, cmds[i])
	}
	if err := s.exec(ctx, "read static", pipe); err != nil {
		return missing, err
	}
	now := time.Now().UnixMilli()
	var d *hashDecoder
	if whole {
		d = newHashDecoder(q.Features)
	}
	fields := 0
	for i := range cmds {
		raw := cmds[i].Val()
		row := out[i*nf : (i+1)*nf]
		miss := func(j int) { missing = append(missing, i*nf+j) }
		var j, n int
		var err error
		if whole {
			j, n, err = decodeRESPHash(raw, row, now, d, miss)
			fields += n
		} else {
			j, err = decodeRESPRow(raw, row, now, miss)
		}
		if err != nil {
			var rerr goredis.Error
			if errors.As(err, &rerr) {
				return missing, wrap("read static", err)
			}
			field := ""
			if j < nf {
				field = " field " + q.Features[j]
			}
			return missing, &store.BackendError{Backend: backend, Op: "read static", Err: fmt.Errorf("%w: %s %s%s: %v", store.ErrInvalid, verb, EntityKey(q.Prefix, q.IDs[i]), field, err)}
		}
	}
	if whole {
		stat.fields.Store(int64((fields + len(cmds) - 1) / len(cmds)))
	}
	return missing, nil
}

var argsPool = sync.Pool{New: func() any { return new([]any) }}

// respError is an error reply found in a raw RESP reply ("-ERR ..." or a RESP3 blob error).
type respError string

func (e respError) Error() string { return string(e) }
func (respError) RedisError()     {}

// decodeRESPRow decodes one HMGET reply, as raw RESP bytes (RESP2 or RESP3: an array of bulk
// strings, each field's value or a null for a missing one), into row, straight from the reply
// (no string per field), calling miss(j) for each feature Redis knows nothing about. An error
// reply is returned as an error that is a goredis.Error. On an error j is the field it is about
// (len(row): none).
func decodeRESPRow(raw []byte, row []store.StaticValue, nowMs int64, miss func(j int)) (j int, err error) {
	line, rest, err := respLine(raw)
	if err != nil {
		return len(row), err
	}
	switch line[0] {
	case '-':
		return len(row), respError(line[1:])
	case '!':
		n, err := respLen(line)
		if err != nil || len(rest) < n {
			return len(row), errMalformedRESP
		}
		return len(row), respError(rest[:n])
	case '*':
	default:
		return len(row), fmt.Errorf("%w: reply %q is not an array", errMalformedRESP, truncate(string(line)))
	}
	n, err := respLen(line)
	if err != nil {
		return len(row), err
	}
	if n != len(row) {
		return len(row), fmt.Errorf("answered %d fields for %d", n, len(row))
	}
	for j := range row {
		var text string
		if size, k := bulkHeader(rest); k > 0 { // the common case, read in one pass
			if len(rest) < k+size+2 || rest[k+size] != '\r' || rest[k+size+1] != '\n' {
				return j, errMalformedRESP
			}
			text = unsafeString(rest[k : k+size])
			rest = rest[k+size+2:]
			goto decode
		}
		if line, rest, err = respLine(rest); err != nil {
			return j, err
		}
		switch line[0] {
		case '_': // RESP3 null
		case '$':
			size, err := respLen(line)
			if err != nil {
				return j, err
			}
			if size >= 0 { // "$-1": RESP2 null
				if len(rest) < size+2 || rest[size] != '\r' || rest[size+1] != '\n' {
					return j, errMalformedRESP
				}
				text = unsafeString(rest[:size])
				rest = rest[size+2:]
			}
		default:
			return j, fmt.Errorf("%w: field reply %q", errMalformedRESP, truncate(string(line)))
		}
	decode:
		known, err := decodeField(text, nowMs, &row[j])
		if err != nil {
			return j, err
		}
		if !known {
			miss(j)
		}
	}
	if len(rest) != 0 {
		return len(row), fmt.Errorf("%w: %d bytes after the last field", errMalformedRESP, len(rest))
	}
	return len(row), nil
}

var errMalformedRESP = errors.New("malformed RESP reply")

// bulkHeader reads the header of a bulk string, "$<1 to 9 digits>\r\n", at the start of b: the
// string's length and the header's; k 0 when b starts with anything else (a null, an error, a
// malformed header: the general path reads those and names the problem).
func bulkHeader(b []byte) (n, k int) {
	if len(b) < 4 || b[0] != '$' {
		return 0, 0
	}
	for i := 1; i < len(b) && i <= 10; i++ {
		c := b[i]
		if c == '\r' {
			if i == 1 || i+1 == len(b) || b[i+1] != '\n' {
				return 0, 0
			}
			return n, i + 2
		}
		if c < '0' || c > '9' {
			return 0, 0
		}
		n = n*10 + int(c-'0')
	}
	return 0, 0
}

// respLine splits the first line of b (without its CRLF) from the rest.
func respLine(b []byte) (line, rest []byte, err error) {
	i := bytes.IndexByte(b, '\n')
	if i < 2 || b[i-1] != '\r' {
		return nil, nil, errMalformedRESP
	}
	return b[:i-1], b[i+1:], nil
}

// respLen reads the length of an array or bulk-string line ("*3", "$12", "$-1": -1).
func respLen(line []byte) (int, error) {
	if len(line) == 3 && line[1] == '-' && line[2] == '1' {
		return -1, nil
	}
	if len(line) < 2 || len(line) > 11 {
		return 0, errMalformedRESP
	}
	n := 0
	for _, c := range line[1:] {
		if c < '0' || c > '9' {
			return 0, errMalformedRESP
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// readStaticScript reads q with getStatic, all calls in one pipeline: one call per at most
// maxKeysPerRead entities, and on a Cluster per slot (a script's keys must share one).
func (s *Store) readStaticScript(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error) {
	nf := len(q.Features)
	groups := s.readGroups(q)
	cmds := make([]*goredis.StringSliceCmd, len(groups))
	run := func(verb, script string) error {
		pipe := s.client.Pipeline()
		for g, ents := range groups {
			if cmds[g] != nil && cmds[g].Err() == nil {
				continue
			}
			args := make([]any, 0, 3+len(ents)+nf)
			args = append(args, verb, script, len(ents))
			for _, e := range ents {
				args = append(args, EntityKey(q.Prefix, q.IDs[e]))
			}
			for _, f := range q.Features {
				args = append(args, f)
			}
			cmds[g] = goredis.NewStringSliceCmd(ctx, args...)
			if len(ents) > 0 {
				cmds[g].SetFirstKeyPos(3) // the Cluster client routes by it
			}
			_ = pipe.Process(ctx, cmds[g])
		}
		return s.exec(ctx, "read static", pipe)
	}
	// EVALSHA first; a server without the script (first use, restart, SCRIPT FLUSH) answers
	// NOSCRIPT and those calls are sent again with EVAL, which also loads it.
	err := run("evalsha", getStatic.Hash())
	if err != nil && (goredis.HasErrorPrefix(err, "NOSCRIPT") || anyNoScriptRead(cmds)) {
		err = run("eval", getStaticSource)
	}
	if err != nil {
		return missing, err
	}
	now := time.Now().UnixMilli()
	for g, ents := range groups {
		replies := cmds[g].Val()
		if len(replies) != len(ents) {
			return missing, &store.BackendError{Backend: backend, Op: "read static", Err: fmt.Errorf("%w: static read answered %d entities for %d", store.ErrInvalid, len(replies), len(ents))}
		}
		for x, e := range ents {
			if j, err := decodeEntity(replies[x], out[e*nf:(e+1)*nf], now, func(j int) { missing = append(missing, e*nf+j) }); err != nil {
				field := ""
				if j < nf {
					field = " field " + q.Features[j]
				}
				return missing, &store.BackendError{Backend: backend, Op: "read static", Err: fmt.Errorf("%w: %s%s: %v", store.ErrInvalid, EntityKey(q.Prefix, q.IDs[e]), field, err)}
			}
		}
	}
	if len(groups) > 1 {
		slices.Sort(missing) // groups are not in entity order on a Cluster
	}
	return missing, nil
}

// readGroups splits the entities of q into the calls of one read: in order, at most
// maxKeysPerRead each, and on a Cluster one slot each.
func (s *Store) readGroups(q store.StaticQuery) [][]int {
	var groups [][]int
	if _, cluster := s.client.(*goredis.ClusterClient); cluster {
		bySlot := map[uint16]int{}
		for e, id := range q.IDs {
			sl := slot(EntityKey(q.Prefix, id))
			g, ok := bySlot[sl]
			if !ok || len(groups[g]) == maxKeysPerRead {
				g = len(groups)
				bySlot[sl] = g
				groups = append(groups, nil)
			}
			groups[g] = append(groups[g], e)
		}
		return groups
	}
	all := make([]int, len(q.IDs))
	for e := range all {
		all[e] = e
	}
	for len(all) > 0 {
		n := min(len(all), maxKeysPerRead)
		groups = append(groups, all[:n:n])
		all = all[n:]
	}
	return groups
}

func anyNoScriptRead(cmds []*goredis.StringSliceCmd) bool {
	for _, c := range cmds {
		if c != nil && c.Err() != nil && goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// decodeEntity decodes one entity's getStatic reply (the HMGET answer as a MessagePack array:
// a string per field, false for a missing one) into row, straight from the reply (no string
// per field), calling miss(j) for each feature Redis knows nothing about. On an error j is the
// field it is about (len(row): none).
func decodeEntity(reply string, row []store.StaticValue, nowMs int64, miss func(j int)) (j int, err error) {
	n, reply, err := msgpackArrayLen(reply)
	if err != nil {
		return len(row), err
	}
	if n != len(row) {
		return len(row), fmt.Errorf("%d fields for %d", n, len(row))
	}
	for j := range row {
		var text string
		var ok bool
		if text, ok, reply, err = msgpackString(reply); err != nil {
			return j, err
		}
		if !ok {
			text = ""
		}
		known, err := decodeField(text, nowMs, &row[j])
		if err != nil {
			return j, err
		}
		if !known {
			miss(j)
		}
	}
	if reply != "" {
		return len(row), fmt.Errorf("%d bytes after the last field", len(reply))
	}
	return len(row), nil
}

var errMsgpack = errors.New("malformed MessagePack reply")

// msgpackArrayLen reads the header of a MessagePack array (fixarray, array 16 or array 32).
func msgpackArrayLen(b string) (int, string, error) {
	switch {
	case b == "":
	case b[0]&0xf0 == 0x90:
		return int(b[0] & 0x0f), b[1:], nil
	case b[0] == 0xdc && len(b) >= 3:
		return int(b[1])<<8 | int(b[2]), b[3:], nil
	case b[0] == 0xdd && len(b) >= 5:
		return int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4]), b[5:], nil
	}
	return 0, "", errMsgpack
}

// msgpackString reads a MessagePack string (fixstr, str 8/16/32; cmsgpack writes Lua strings
// so) as a view of b, or nil or false (ok false: no such field).
func msgpackString(b string) (s string, ok bool, rest string, err error) {
	if b == "" {
		return "", false, "", errMsgpack
	}
	var n, h int
	switch c := b[0]; {
	case c == 0xc0 || c == 0xc2: // nil, false
		return "", false, b[1:], nil
	case c&0xe0 == 0xa0:
		n, h = int(c&0x1f), 1
	case c == 0xd9 && len(b) >= 2:
		n, h = int(b[1]), 2
	case c == 0xda && len(b) >= 3:
		n, h = int(b[1])<<8|int(b[2]), 3
	case c == 0xdb && len(b) >= 5:
		n, h = int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]), 5
	default:
		return "", false, "", errMsgpack
	}
	if len(b)-h < n {
		return "", false, "", errMsgpack
	}
	return b[h : h+n], true, b[h+n:], nil
}

// decodeField decodes one stored field into *sv, which it overwrites whole (Absent unless the
// field holds a value); known is false for a missing field or an expired negative entry.
func decodeField(text string, nowMs int64, sv *store.StaticValue) (known bool, err error) {
	if text == "" {
		*sv = store.StaticValue{}
		return false, nil
	}
	if text[0] == 'n' {
		*sv = store.StaticValue{}
		until, err := strconv.ParseInt(text[1:], 10, 64)
		if err != nil {
			return false, fmt.Errorf("bad negative entry %q", text)
		}
		return nowMs < until, nil
	}
	ts, colon, ok := parseEventTime(text)
	if !ok {
		colon = bytes.IndexByte(unsafeBytes(text), ':')
		if colon <= 0 {
			*sv = store.StaticValue{}
			return false, fmt.Errorf("no event time in %q", truncate(text))
		}
		if ts, err = strconv.ParseInt(text[:colon], 10, 64); err != nil {
			*sv = store.StaticValue{}
			return false, fmt.Errorf("bad event time %q", text[:colon])
		}
	}
	rest, err := store.DecodeBinaryTo(unsafeBytes(text[colon+1:]), &sv.Value)
	if err == nil && (len(rest) > 0 || sv.Kind == store.Absent) {
		err = fmt.Errorf("malformed value %q", truncate(text))
	}
	if err != nil {
		*sv = store.StaticValue{}
		return false, err
	}
	sv.TS = ts
	return true, nil
}

// parseEventTime reads the common form of a field's event time, up to 18 decimal digits (no
// sign) before the ':', in one pass; ok false sends any other text to the general parse, which
// also names the problem.
func parseEventTime(text string) (ts int64, colon int, ok bool) {
	i := 0
	if len(text) > 8 { // Unix ms have 13 digits: the first eight at once
		if v, ok := eightDigits(text); ok {
			ts, i = int64(v), 8
		}
	}
	for ; i < len(text) && i <= 18; i++ {
		c := text[i]
		if c == ':' {
			return ts, i, i > 0
		}
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		ts = ts*10 + int64(c-'0')
	}
	return 0, 0, false
}

// eightDigits reads the first 8 bytes of s (len(s) >= 8) as decimal digits, all at once (SWAR:
// the bytes as one little-endian word, pairs, then quads, then the eight combined).
func eightDigits(s string) (uint64, bool) {
	v := binary.LittleEndian.Uint64(unsafeBytes(s[:8]))
	// every byte in 0x30-0x3f, and +6 still is: '0'-'9'
	if v&0xf0f0f0f0f0f0f0f0 != 0x3030303030303030 || (v+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 != 0x3030303030303030 {
		return 0, false
	}
	v = (v & 0x0f0f0f0f0f0f0f0f) * 2561 >> 8
	v = (v & 0x00ff00ff00ff00ff) * 6553601 >> 16
	return (v & 0x0000ffff0000ffff) * 42949672960001 >> 32, true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// encodeField is the stored form of a value: "<ts>:<binary value>".
func encodeField(dst []byte, v store.Value, ts int64) []byte {
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, ':')
	return v.AppendBinary(dst)
}

// WriteStatic implements store.StaticWriter: one script per entity, all in one round trip.
// Hashes expire after Config.StaticTTL (if set).
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	return s.FillStatic(ctx, writes, nil, 0)
}

// FillStatic writes values (never over a newer one) and negative entries for the keys in
// absent (never over a value), valid until negativeUntil (Unix ms): one script per entity, all
// in one round trip. The tiered store refills Redis with it after reading DynamoDB.
func (s *Store) FillStatic(ctx context.Context, writes []store.StaticWrite, absent []store.Key, negativeUntil int64) error {
	if len(writes)+len(absent) == 0 {
		return nil
	}
	type entity struct {
		args  []any
		field map[string]int // feature -> index of its ts in args
	}
	order := make([]string, 0, 1)
	byKey := make(map[string]*entity, 1)
	// set queues one field; of two writes of one field in this call, the newer event is kept
	// (the later on equal times), as if they had been written one after the other.
	set := func(k store.Key, ts int64, negative bool, encoded string) {
		ek := EntityKey(k.Prefix, k.ID)
		e := byKey[ek]
		if e == nil {
			e = &entity{args: []any{s.cfg.StaticTTL.Milliseconds()}, field: map[string]int{}}
			byKey[ek] = e
			order = append(order, ek)
		}
		tsArg := "n"
		if !negative {
			tsArg = strconv.FormatInt(ts, 10)
		}
		if i, dup := e.field[k.Feature]; dup {
			prev := e.args[i].(string)
			switch {
			case negative && prev != "n":
				return // a negative entry never replaces a value
			case !negative && prev != "n":
				if p, _ := strconv.ParseInt(prev, 10, 64); p > ts {
					return
				}
			}
			e.args[i], e.args[i+2] = tsArg, encoded
			return
		}
		e.field[k.Feature] = len(e.args)
		e.args = append(e.args, tsArg, k.Feature, encoded)
	}
	for _, w := range writes {
		if w.Value.Kind == store.Absent {
			return &store.BackendError{Backend: backend, Op: "write static", Err: fmt.Errorf("%w: key %s: no value", store.ErrInvalid, w.Key)}
		}
		set(w.Key, w.TS, false, string(encodeField(nil, w.Value, w.TS)))
	}
	neg := "n" + strconv.FormatInt(negativeUntil, 10)
	for _, k := range absent {
		set(k, 0, true, neg)
	}
	// EVALSHA first (the script is not resent every time); a server that does not have the
	// script yet (first use, restart, SCRIPT FLUSH) answers NOSCRIPT and gets EVAL, which also
	// loads it.
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(order))
	for i, ek := range order {
		cmds[i] = setStatic.EvalSha(ctx, pipe, []string{ek}, byKey[ek].args...)
	}
	err := s.exec(ctx, "write static", pipe)
	if err == nil || !goredis.HasErrorPrefix(err, "NOSCRIPT") && !anyNoScript(cmds) {
		return err
	}
	pipe = s.client.Pipeline()
	for i, ek := range order {
		if cmds[i].Err() != nil {
			setStatic.Eval(ctx, pipe, []string{ek}, byKey[ek].args...)
		}
	}
	return s.exec(ctx, "write static", pipe)
}

func anyNoScript(cmds []*goredis.Cmd) bool {
	for _, c := range cmds {
		if c.Err() != nil && goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// DeleteStatic drops the static hashes of the given entities (tests, operators).
func (s *Store) DeleteStatic(ctx context.Context, keys []store.Key) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, EntityKey(k.Prefix, k.ID)) // one key per DEL: keys may live in different Cluster slots
	}
	return s.exec(ctx, "delete static", pipe)
}

// unsafeString views b as a string without copying; b must not be modified while it is used.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unsafeBytes views s as bytes without copying; the bytes must not be modified.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
