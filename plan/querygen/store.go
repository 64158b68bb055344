package querygen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Store is a deterministic store.Reader over a registry: every key's value (or its absence) and
// every series' events follow from a hash of the key and the seed, so both executors of a
// differential test read the same data without any writes. About one value in a hundred and one
// member in sixty is malformed (a stored value of the wrong type). Faults make reads fail.
type Store struct {
	reg    *registry.Registry
	seed   uint64
	base   int64 // newest event time, Unix ms
	ids    int
	faults atomic.Uint32
}

// Fault selects which reads fail.
type Fault uint32

// The faults.
const (
	NoFault      Fault = 0
	StaticFault  Fault = 1 // every static read fails
	ActionFault  Fault = 2 // every action read fails
	TimeoutFault Fault = 4 // every read waits for the request deadline
)

// ErrInjected is the error of a failing read, wrapped in a store.BackendError of backend "fake".
var ErrInjected = errors.New("injected failure")

var (
	_ store.Reader              = (*Store)(nil)
	_ store.StaticHistoryReader = (*Store)(nil)
)

// NewStore returns a store whose events end at now; ids is Options.IDs.
func NewStore(reg *registry.Registry, seed uint64, ids int) *Store {
	if ids == 0 {
		ids = 30
	}
	return &Store{reg: reg, seed: seed, base: time.Now().Add(-5 * time.Minute).UnixMilli(), ids: ids}
}

// SetFault sets the faults of the following reads.
func (s *Store) SetFault(f Fault) { s.faults.Store(uint32(f)) }

func (s *Store) fail(ctx context.Context, f Fault, op string) error {
	cur := Fault(s.faults.Load())
	if cur&TimeoutFault != 0 {
		<-ctx.Done()
		return &store.BackendError{Backend: "fake", Op: op, Err: ctx.Err()}
	}
	if cur&f != 0 {
		return &store.BackendError{Backend: "fake", Op: op, Err: ErrInjected}
	}
	return nil
}

func (s *Store) hash(parts ...string) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, s.seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum64()
}

func (s *Store) feature(k store.Key) *registry.Feature {
	for _, e := range s.reg.Entities {
		if e.Prefix == k.Prefix {
			return e.Feature(k.Feature)
		}
	}
	return nil
}

// ReadStatic implements store.StaticReader.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	if err := q.Check(out); err != nil {
		return err
	}
	if err := s.fail(ctx, StaticFault, "read static"); err != nil {
		return err
	}
	for i := range out {
		k := q.Key(i)
		out[i] = store.StaticValue{}
		f := s.feature(k)
		if f == nil {
			continue
		}
		h := s.hash(k.String())
		switch {
		case h%10 < 2:
			continue // absent
		case h%101 == 0: // a value of another type than the registry's
			bad := store.MapValue([]string{"bad"}, []store.Value{store.BoolValue(true)})
			if f.Container == registry.Map {
				bad = store.StringValue("bad")
			}
			out[i] = store.StaticValue{Value: bad, TS: 1}
			continue
		}
		v, err := registry.ToValue(f.Type, f.Container, s.value(f, h/10))
		if err != nil {
			panic(err) // every generated value has the feature's type
		}
		out[i] = store.StaticValue{Value: v, TS: 1}
	}
	return nil
}

func (s *Store) value(f *registry.Feature, h uint64) any {
	switch f.Container {
	case registry.List, registry.Set:
		items := make([]any, h%4)
		for i := range items {
			items[i] = scalar(f.Type, h/7+uint64(i)*131)
		}
		return items
	case registry.Map:
		m := map[string]any{}
		for i := range h % 4 {
			m[fmt.Sprintf("k%d", (h/5+i*7)%9)] = scalar(f.Type, h/11+i*17)
		}
		return m
	}
	return scalar(f.Type, h)
}

var strs = []string{"plain", `q"uote`, "tab\tand\nnewline", "유니코드", "ctl\u0001", `back\slash`, "", "</script>"}

var jsons = []string{`{"a":1,"b":[true,null]}`, `[1,2.5]`, `"text"`, `42`, `{}`}

func scalar(t registry.Type, h uint64) any {
	switch t {
	case registry.Int:
		return int64(h%2000) - 1000
	case registry.Float:
		return float64(int64(h%100000)-50000) / 64
	case registry.String:
		return strs[h%uint64(len(strs))] + fmt.Sprint(h%5)
	case registry.Boolean:
		return h%2 == 0
	case registry.Time:
		return time.UnixMilli(1.7e12 + int64(h%1e10)).UTC()
	case registry.JSON:
		return json.RawMessage(jsons[h%uint64(len(jsons))])
	}
	return nil
}

// ReadStaticAsOf implements store.StaticHistoryReader: a feature with `history: true` has up to
// 4 versions per key, a day apart, the newest at the store's base time; the value of version j
// follows from the key and j (a version may be malformed, as current values may).
func (s *Store) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	if err := s.fail(ctx, StaticFault, "read static as of"); err != nil {
		return nil, err
	}
	out := map[store.Key]store.StaticValue{}
	for _, k := range keys {
		f := s.feature(k)
		if f == nil || !f.History {
			continue
		}
		h := s.hash(k.String(), "history")
		for j := range int(h % 5) {
			ts := s.base - int64(j)*24*3600*1000
			if ts > asOf {
				continue
			}
			vh := s.hash(k.String(), "version", fmt.Sprint(j))
			if vh%101 == 0 {
				out[k] = store.StaticValue{Value: store.MapValue([]string{"bad"}, []store.Value{store.BoolValue(true)}), TS: ts}
				if f.Container == registry.Map {
					out[k] = store.StaticValue{Value: store.StringValue("bad"), TS: ts}
				}
				break
			}
			v, err := registry.ToValue(f.Type, f.Container, s.value(f, vh/10))
			if err != nil {
				panic(err)
			}
			out[k] = store.StaticValue{Value: v, TS: ts}
			break
		}
	}
	return out, nil
}

// Base is the time of the newest event of every series, Unix ms: asOf instants around it reach
// events and versions.
func (s *Store) Base() int64 { return s.base }

// ReadActions implements store.ActionReader: up to 9 events per series, ten hours apart,
// newest first, filtered by the query's MaxTS (asOf), filter, MinTS and Count.
func (s *Store) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	if err := s.fail(ctx, ActionFault, "read actions"); err != nil {
		return nil, err
	}
	out := make(map[store.ActionQuery][]store.ActionEvent, len(qs))
	for _, q := range qs {
		f := s.feature(q.Key)
		if f == nil {
			out[q] = nil
			continue
		}
		h := s.hash(q.Key.String())
		var evs []store.ActionEvent
		for j := range int(h % 10) {
			ts := s.base - int64(j)*10*3600*1000
			if q.MaxTS > 0 && ts > q.MaxTS {
				continue // after asOf
			}
			if ts < q.MinTS || len(evs) >= q.Count {
				break
			}
			m := s.member(f, h+uint64(j)*7919, ts)
			if !q.Filter.Match(m) {
				continue
			}
			evs = append(evs, store.ActionEvent{TS: ts, Member: m})
		}
		out[q] = evs
	}
	return out, nil
}

func (s *Store) member(f *registry.Feature, h uint64, ts int64) string {
	if h%61 == 0 && len(f.Fields) > 0 {
		return fmt.Sprintf(`{%q:{"not":"a %s"}}`, f.Fields[0].Name, f.Fields[0].Type)
	}
	fields := map[string]any{}
	for i, fl := range f.Fields {
		x := h/3 + uint64(i)*613
		switch x % 9 {
		case 0:
			continue // missing
		case 1:
			fields[fl.Name] = nil
			continue
		}
		if fl.Join != "" {
			if t := s.reg.Entity(fl.Join); t != nil && t.IDType == registry.String {
				fields[fl.Name] = fmt.Sprintf("s%d", 1+x%uint64(s.ids+5))
			} else {
				fields[fl.Name] = 1 + x%uint64(s.ids+5)
			}
			continue
		}
		v := scalar(fl.Type, x)
		if t, ok := v.(time.Time); ok {
			v = t.Format(time.RFC3339Nano)
		}
		fields[fl.Name] = v
	}
	m, err := store.EncodeMember(fields, ts, f.Dedupe)
	if err != nil {
		panic(err) // every value above encodes
	}
	return m
}
