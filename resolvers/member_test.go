package resolvers

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

func fieldsOf(b string) (map[string]string, error) {
	out := map[string]string{}
	err := store.MemberFields([]byte(b), func(k string, raw []byte) error {
		out[k] = string(raw)
		return nil
	})
	return out, err
}

func TestMemberFields(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		{in: `{}`, want: map[string]string{}},
		{in: `{"_t":1700000000000,"article_id":101,"source":"feed"}`, want: map[string]string{"_t": "1700000000000", "article_id": "101", "source": `"feed"`}},
		{in: ` { "a" : -1.5e3 , "b":null ,"c":true}`, want: map[string]string{"a": "-1.5e3", "b": "null", "c": "true"}},
		{in: `{"s":"quote \" and \\ and }","j":{"x":[1,{"y":"]"}],"z":"}"},"k":[]}`, want: map[string]string{"s": `"quote \" and \\ and }"`, "j": `{"x":[1,{"y":"]"}],"z":"}"}`, "k": "[]"}},
		{in: `{"esc\u0061ped":1}`, want: map[string]string{"escaped": "1"}},
		{in: ``, bad: true},
		{in: `[1]`, bad: true},
		{in: `{"a":1`, bad: true},
		{in: `{"a" 1}`, bad: true},
		{in: `{"a":"unterminated}`, bad: true},
		{in: `{"a":{"b":1}`, bad: true},
		{in: `{a:1}`, bad: true},
		{in: `{"a":1,}`, bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := fieldsOf(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

func TestMemberValues(t *testing.T) {
	if v, err := memberInt([]byte("42")); err != nil || *v != 42 {
		t.Fatalf("int: %v %v", v, err)
	}
	if v, err := memberInt([]byte("null")); err != nil || v != nil {
		t.Fatalf("null int: %v %v", v, err)
	}
	if _, err := memberInt([]byte(`"42"`)); err == nil {
		t.Fatal("a string is not an Int")
	}
	if v, err := memberString([]byte(`"caf\u00e9 \"x\""`)); err != nil || *v != `café "x"` {
		t.Fatalf("escaped string: %v %v", v, err)
	}
	if v, err := memberTime([]byte(`"2026-10-15T08:12:00.5Z"`)); err != nil || !v.Equal(time.Date(2026, 10, 15, 8, 12, 0, 5e8, time.UTC)) {
		t.Fatalf("time: %v %v", v, err)
	}
	if v, err := memberFloat([]byte(`0.25`)); err != nil || *v != 0.25 {
		t.Fatalf("float: %v %v", v, err)
	}
	if v, err := memberBoolean([]byte(`false`)); err != nil || *v {
		t.Fatalf("bool: %v %v", v, err)
	}
	if v, err := memberJSON([]byte(`{"a":[1]}`)); err != nil || string(*v) != `{"a":[1]}` {
		t.Fatalf("json: %v %v", v, err)
	}
}

// The scanner agrees with encoding/json on every object encoding/json accepts, and never panics.
func FuzzMemberFields(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x"}`, `{"s":"\"}","j":{"x":[1,{"y":"]"}]}}`, `{"a":null}`, `{"a":1`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fieldsOf(s)
		var want map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &want) != nil || want == nil {
			return // encoding/json rejects it: any answer but a panic is fine
		}
		if err != nil {
			t.Fatalf("%q: scanner rejects what encoding/json accepts: %v", s, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d keys, encoding/json found %d", s, len(got), len(want))
		}
		for k, v := range want {
			var a, b any
			_ = json.Unmarshal(v, &a)
			if json.Unmarshal([]byte(got[k]), &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("%q: key %q: got %s, encoding/json %s", s, k, got[k], v)
			}
		}
	})
}
