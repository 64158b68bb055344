package dynamodb

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomAV builds a random attribute value of every type, strings with escapes and unicode.
func randomAV(r *rand.Rand, depth int) attrValue {
	strs := []string{"", "plain", "quote\" and \\ back", "line\nbreak\ttab\r", "\x00\x01\x1f ctl", "ünïcödé 日本 🎉", "</script>&<>", "\u2028\u2029", "12.5", string([]byte{0xff, 'a'})}
	str := func() string { return strs[r.IntN(len(strs))] }
	k := r.IntN(10)
	if depth > 3 {
		k = r.IntN(5)
	}
	switch k {
	case 0:
		return attrS(str())
	case 1:
		return attrNum([]string{"0", "-12", "1.5e300", "0.000000000000001", "12345678901234567890123456789012345678"}[r.IntN(5)])
	case 2:
		return attrBool(r.IntN(2) == 0)
	case 3:
		return attrValue{kind: avNULL, boolean: true}
	case 4:
		return attrValue{kind: avB, str: "aGVsbG8="}
	case 5, 6:
		var elems []field
		for n := r.IntN(4); n > 0; n-- {
			elems = append(elems, field{val: randomAV(r, depth+1)})
		}
		return attrValue{kind: avL, elems: elems}
	case 7, 8:
		var elems []field
		for n := r.IntN(4); n > 0; n-- {
			elems = append(elems, field{name: str() + string(rune('a'+n)), val: randomAV(r, depth+1)})
		}
		return attrValue{kind: avM, elems: elems}
	}
	kinds := []avKind{avSS, avNS, avBS}
	ek := map[avKind]avKind{avSS: avS, avNS: avN, avBS: avB}
	kind := kinds[r.IntN(3)]
	var elems []field
	for n := 1 + r.IntN(3); n > 0; n-- {
		elems = append(elems, field{val: attrValue{kind: ek[kind], str: []string{"1", "x", "2.5"}[n%3]}})
	}
	return attrValue{kind: kind, elems: elems}
}

// toJSON is the value as encoding/json would hold DynamoDB JSON: the reference for the codec.
func toJSON(v attrValue) any {
	var x any
	switch v.kind {
	case avS, avN, avB:
		x = strings.ToValidUTF8(v.str, "\ufffd")
	case avBOOL, avNULL:
		x = v.boolean
	case avM:
		m := map[string]any{}
		for _, f := range v.elems {
			m[strings.ToValidUTF8(f.name, "\ufffd")] = toJSON(f.val)
		}
		x = m
	default:
		l := []any{}
		for _, f := range v.elems {
			if v.kind == avL {
				l = append(l, toJSON(f.val))
			} else {
				l = append(l, f.val.str)
			}
		}
		x = l
	}
	return map[string]any{avTypeNames[v.kind]: x}
}

// TestCodecAgainstEncodingJSON: what appendAV writes is valid JSON that encoding/json reads
// as the value; what encoding/json writes (escaping differently: \u003c, \u2028...) jsonReader
// reads back as the value.
func TestCodecAgainstEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		v := randomAV(r, 0)
		want := toJSON(v)
		var got any
		enc := appendAV(nil, v)
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("value %d: appendAV wrote invalid JSON %s: %v", i, enc, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("value %d: encoding/json reads %s as %#v, want %#v", i, enc, got, want)
		}
		std, _ := json.Marshal(want)
		for _, in := range [][]byte{std, enc, []byte(" \n" + strings.ReplaceAll(string(std), ":", " :\t") + " ")} {
			rd := jsonReader{b: in}
			back, err := rd.av()
			if err != nil {
				t.Fatalf("value %d: jsonReader on %s: %v", i, in, err)
			}
			if !reflect.DeepEqual(normalize(toJSON(back)), normalize(want)) {
				t.Fatalf("value %d: jsonReader reads %s as %#v, want %#v", i, in, toJSON(back), want)
			}
		}
	}
}

// normalize makes a decoded value comparable (SS/NS/BS elements as strings).
func normalize(x any) any {
	switch v := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	}
	return x
}

func TestReaderRejectsMalformed(t *testing.T) {
	for _, in := range []string{``, `{`, `{"S":}`, `{"S":"x"`, `{"S":"x","N":"1"}`, `{"Q":"x"}`, `{}`, `{"BOOL":maybe}`, `{"S":"\q"}`, `{"S":"a` + "\n" + `b"}`, `{"L":[{"S":"x"},]}`, `{"M":{"a":1}}`} {
		rd := jsonReader{b: []byte(in)}
		if _, err := rd.av(); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestDecodeAllocations: decoding a BatchGetItem answer costs one allocation per item, per
// container and per distinct string, not one per attribute value.
func TestDecodeAllocations(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Responses":{"t":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"pk":{"S":"u#1#f"},"ts":{"N":"17"},"v":{"M":{"name":{"S":"x"},"ok":{"BOOL":true},"n":{"NULL":true}}}}`)
	}
	b.WriteString(`]},"UnprocessedKeys":{}}`)
	body := []byte(b.String())
	allocs := testing.AllocsPerRun(20, func() {
		rd := jsonReader{b: body}
		_ = rd.object(func(key []byte) error {
			return rd.object(func([]byte) error {
				_, err := rd.items()
				return err
			})
		})
	})
	// Per item: the item slice, the M's slice, the pk, ts and name strings (5); plus the
	// items slice growing, the name map and the stack.
	if allocs > 100*5+30 {
		t.Fatalf("%.0f allocations for 100 items", allocs)
	}
}
