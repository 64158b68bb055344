package store

import (
	"math"
	"testing"
	"time"
)

func codecValues() []Value {
	return []Value{
		IntValue(0), IntValue(-42), IntValue(math.MaxInt64), IntValue(math.MinInt64),
		FloatValue(3.25), FloatValue(-0.0), FloatValue(1e300),
		StringValue(""), StringValue("héllo, 세계 \x00"),
		BoolValue(true), BoolValue(false),
		TimeValue(time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)),
		JSONValue(`{"a":[1,2.5,null]}`),
		ListValue([]Value{}), ListValue([]Value{IntValue(3), IntValue(1)}),
		MapValue([]string{}, []Value{}), MapValue([]string{"a", "b"}, []Value{FloatValue(1.5), FloatValue(2)}),
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, v := range codecValues() {
		b := v.AppendBinary([]byte("prefix"))[len("prefix"):]
		got, rest, err := DecodeBinary(b)
		if err != nil || len(rest) != 0 || !Equal(got, v) {
			t.Fatalf("%v: decoded %v, rest %q, %v", v, got, rest, err)
		}
		for n := range len(b) { // every truncation is an error, never a wrong value
			if got, _, err := DecodeBinary(b[:n]); err == nil {
				t.Fatalf("%v truncated to %d bytes decoded as %v", v, n, got)
			}
		}
	}
}

// DecodeBinaryTo answers as DecodeBinary does, overwriting every field of its target (a pooled
// buffer holds the previous read's values), and Absent on an error.
func TestDecodeBinaryToMatchesDecodeBinary(t *testing.T) {
	stale := MapValue([]string{"k"}, []Value{StringValue("stale")})
	stale.Num, stale.Float, stale.Str = 7, 7.5, "stale"
	for _, v := range codecValues() {
		b := append(v.AppendBinary(nil), "tail"...)
		for n := range len(b) + 1 {
			want, wantRest, wantErr := DecodeBinary(b[:n])
			got := stale
			rest, err := DecodeBinaryTo(b[:n], &got)
			if (err == nil) != (wantErr == nil) || string(rest) != string(wantRest) || !Equal(got, want) ||
				got.Num != want.Num || got.Float != want.Float || got.Str != want.Str || len(got.Items) != len(want.Items) || len(got.Keys) != len(want.Keys) {
				t.Fatalf("%v[:%d]: DecodeBinaryTo %+v, rest %q, %v; DecodeBinary %+v, rest %q, %v", v, n, got, rest, err, want, wantRest, wantErr)
			}
		}
	}
}

func TestDecodeBinaryRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{{}, {99}, {byte(List), 0xff, 0xff, 0xff, 0xff, 0x0f}, {byte(String), 10, 'a'}} {
		if v, _, err := DecodeBinary(b); err == nil {
			t.Fatalf("%v decoded as %v", b, v)
		}
	}
}

func TestEqualAndSize(t *testing.T) {
	vs := codecValues()
	for i, a := range vs {
		for j, b := range vs {
			if Equal(a, b) != (i == j) {
				t.Fatalf("Equal(%v, %v) = %v", a, b, Equal(a, b))
			}
		}
		if a.Size() <= 0 {
			t.Fatalf("%v has size %d", a, a.Size())
		}
	}
	if StringValue("0123456789").Size() != StringValue("").Size()+10 {
		t.Fatal("a string's bytes must count")
	}
}
