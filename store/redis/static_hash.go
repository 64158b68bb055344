package redis

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/featuregraph/featuregraph/store"
)

// A static read asks for some of the fields of each entity hash. It is sent as one HMGET per
// entity with the fields asked for, or as one HGETALL per entity when the read asks for at
// least two thirds of the fields the hashes hold (wholeHashWins), the fields not asked for
// being skipped while the reply is decoded. Redis pays per HMGET field an argument it parses,
// a lookup (a linear scan in a listpack-encoded hash, which a hash of up to 128 short fields
// is) and a reply; HGETALL walks the hash once, and the client writes no field names but reads
// twice the elements (go-redis's raw reader copies each). Measured on Redis 7.0
// (docs/performance.md, "HMGET or HGETALL"): 100 entities × 50 fields cost Redis 2.4–2.5 ms
// and the client 1.5–1.6 ms by HMGET, 0.6–0.7 ms and 1.4–1.5 ms by HGETALL; for 30 of the 50
// fields HMGET costs both together less (1.9–2.1 ms against 2.6–3.7) and Redis more (1.2–1.3
// against 0.8–1.0): from two thirds up, HGETALL costs less in total and Redis far less.
//
// How many fields a hash holds is learnt from the HGETALL replies, per key prefix (entity
// kind): the mean over the entities of the last read that read whole hashes (a missing hash
// counts 0). A prefix not read yet reads whole hashes (which tells the size); a prefix read by
// HMGET reads whole hashes again every relearnEvery-th read, so that a hash that grew or
// shrank (features added or dropped, values expired) is noticed.

// relearnEvery is how often (in HMGET reads of one prefix) a read takes whole hashes anyway,
// to learn their size again.
const relearnEvery = 256

// wholeHashWins reports whether reading whole hashes of about fields fields beats HMGET of
// asked of them: from two thirds of the fields up.
func wholeHashWins(asked int, fields int64) bool { return 3*int64(asked) >= 2*fields }

// staticReadMode forces a way of reading (tests, benchmarks); readAuto decides per read.
type staticReadMode int32

const (
	readAuto staticReadMode = iota
	readHMGET
	readHGETALL
)

// hashStat is what the store knows about the hashes of one prefix.
type hashStat struct {
	fields atomic.Int64  // mean fields per hash (rounded up) in the last whole-hash read
	reads  atomic.Uint64 // HMGET reads of the prefix
}

// hashSizes holds a *hashStat per key prefix.
type hashSizes struct{ m sync.Map }

// stat returns the prefix's hashStat, creating it on first use.
func (h *hashSizes) stat(prefix string) *hashStat {
	if v, ok := h.m.Load(prefix); ok {
		return v.(*hashStat)
	}
	v, _ := h.m.LoadOrStore(prefix, new(hashStat))
	return v.(*hashStat)
}

// wholeHashes decides how a read of asked fields per entity of prefix is sent: true for
// HGETALL.
func (s *Store) wholeHashes(prefix string, asked int) (*hashStat, bool) {
	switch staticReadMode(s.readMode.Load()) {
	case readHMGET:
		return nil, false
	case readHGETALL:
		return s.sizes.stat(prefix), true
	}
	st := s.sizes.stat(prefix)
	if wholeHashWins(asked, st.fields.Load()) { // also a prefix not read yet (0 fields)
		return st, true
	}
	return st, st.reads.Add(1)%relearnEvery == 0
}

// hashDecoder carries what decodeRESPHash learns from one hash to the next of a read.
type hashDecoder struct {
	features []string
	seen     []bool // per feature: decoded from the current hash
	// order is, for each position of the previous hash decoded, its field's name and index in
	// features (-1: not asked for). Hashes of one kind are mostly written in one order, so the
	// field at position p is first compared with order[p] alone.
	order []fieldAt
	index map[string]int32 // the features by name, built on first need (more than 8 features)
}

type fieldAt struct {
	name string // a view of an earlier reply, alive until the read returns
	j    int32
}

func newHashDecoder(features []string) *hashDecoder {
	return &hashDecoder{features: features, seen: make([]bool, len(features)), order: make([]fieldAt, 0, len(features))}
}

// find returns the index in features of the field name at position p of a hash, -1 if it is
// not asked for. Before any hash has a field at p, the guess is features[p] (a read asking for
// the features in the order they were written).
func (d *hashDecoder) find(name string, p int) int {
	if p < len(d.order) {
		if d.order[p].name == name {
			return int(d.order[p].j)
		}
	} else if p == len(d.order) && p < len(d.features) && d.features[p] == name {
		d.order = append(d.order, fieldAt{name, int32(p)})
		return p
	}
	j := -1
	if len(d.features) <= 8 {
		for k, f := range d.features {
			if f == name {
				j = k
				break
			}
		}
	} else {
		if d.index == nil {
			d.index = make(map[string]int32, len(d.features))
			for k, f := range d.features {
				d.index[f] = int32(k)
			}
		}
		if k, ok := d.index[name]; ok {
			j = int(k)
		}
	}
	if p < len(d.order) {
		d.order[p] = fieldAt{name, int32(j)}
	} else if p == len(d.order) {
		d.order = append(d.order, fieldAt{name, int32(j)})
	}
	return j
}

// decodeRESPHash decodes one HGETALL reply, as raw RESP bytes (RESP2: an array of field, value,
// field, value…; RESP3: a map), into row, the values of the fields named by d.features,
// straight from the reply; fields not asked for are skipped, undecoded. It calls miss(j), in
// order, for each feature Redis knows nothing about (no such field, or an expired negative
// entry), and returns how many fields the hash holds. An error reply is returned as an error
// that is a goredis.Error. On an error j is the field it is about (len(row): none).
func decodeRESPHash(raw []byte, row []store.StaticValue, nowMs int64, d *hashDecoder, miss func(j int)) (j, fields int, err error) {
	line, rest, err := respLine(raw)
	if err != nil {
		return len(row), 0, err
	}
	var n int
	switch line[0] {
	case '-':
		return len(row), 0, respError(line[1:])
	case '!':
		m, err := respLen(line)
		if err != nil || m < 0 || len(rest) < m {
			return len(row), 0, errMalformedRESP
		}
		return len(row), 0, respError(rest[:m])
	case '*':
		if n, err = respLen(line); err != nil || n < 0 || n%2 != 0 {
			return len(row), 0, fmt.Errorf("%w: HGETALL answered %q", errMalformedRESP, truncate(string(line)))
		}
		n /= 2
	case '%':
		if n, err = respLen(line); err != nil || n < 0 {
			return len(row), 0, fmt.Errorf("%w: HGETALL answered %q", errMalformedRESP, truncate(string(line)))
		}
	default:
		return len(row), 0, fmt.Errorf("%w: reply %q is not an array", errMalformedRESP, truncate(string(line)))
	}
	seen := d.seen[:len(row)]
	clear(seen)
	for p := range n {
		var name, text string
		var ok bool
		if name, ok, rest, err = nextBulk(rest); err != nil {
			return len(row), 0, err
		}
		if !ok {
			return len(row), 0, fmt.Errorf("%w: a null field name", errMalformedRESP)
		}
		if text, ok, rest, err = nextBulk(rest); err != nil {
			return len(row), 0, err
		}
		if !ok {
			return len(row), 0, fmt.Errorf("%w: a null value", errMalformedRESP)
		}
		j := d.find(name, p)
		if j < 0 {
			continue // a field not asked for
		}
		if seen[j] {
			return j, 0, fmt.Errorf("%w: field %q twice", errMalformedRESP, truncate(name))
		}
		seen[j] = true
		known, err := decodeField(text, nowMs, &row[j])
		if err != nil {
			return j, 0, err
		}
		if !known {
			seen[j] = false // reported below, in order
		}
	}
	if len(rest) != 0 {
		return len(row), 0, fmt.Errorf("%w: %d bytes after the last field", errMalformedRESP, len(rest))
	}
	for j, ok := range seen {
		if !ok {
			row[j] = store.StaticValue{}
			miss(j)
		}
	}
	return len(row), n, nil
}

// nextBulk reads the bulk string at the start of b as a view of b: ok false for a null
// (RESP2 "$-1", RESP3 "_").
func nextBulk(b []byte) (text string, ok bool, rest []byte, err error) {
	if size, k := bulkHeader(b); k > 0 { // the common case, read in one pass
		if len(b) < k+size+2 || b[k+size] != '\r' || b[k+size+1] != '\n' {
			return "", false, nil, errMalformedRESP
		}
		return unsafeString(b[k : k+size]), true, b[k+size+2:], nil
	}
	line, rest, err := respLine(b)
	if err != nil {
		return "", false, nil, err
	}
	switch line[0] {
	case '_':
		return "", false, rest, nil
	case '$':
		size, err := respLen(line)
		if err != nil {
			return "", false, nil, err
		}
		if size < 0 {
			return "", false, rest, nil
		}
		if len(rest) < size+2 || rest[size] != '\r' || rest[size+1] != '\n' {
			return "", false, nil, errMalformedRESP
		}
		return unsafeString(rest[:size]), true, rest[size+2:], nil
	}
	return "", false, nil, fmt.Errorf("%w: field reply %q", errMalformedRESP, truncate(string(line)))
}
