package registry

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// when is 2026-10-15T08:12:00Z, epoch seconds 1792051920.
var when = time.Date(2026, 10, 15, 8, 12, 0, 0, time.UTC)

// TestCoerceEveryTypeAndContainer coerces two values of every type, given in non-canonical forms,
// in every container: a single value, a list (order and repeats kept), a set (sorted, repeats
// dropped) and a map.
func TestCoerceEveryTypeAndContainer(t *testing.T) {
	samples := []struct {
		typ    Type
		a, b   any // raw inputs; a sorts before b once canonical
		ca, cb any // canonical forms
	}{
		{Int, json.Number("1"), "2", int64(1), int64(2)},
		{Float, "0.5", json.Number("1.5"), 0.5, 1.5},
		{String, json.Number("1"), "b", "1", "b"},
		{Boolean, "false", true, false, true},
		{Time, "2026-10-15T17:12:00+09:00", json.Number("1792051980000"), when, when.Add(time.Minute)},
		{JSON, []any{int64(1)}, map[string]any{"k": "v"}, json.RawMessage(`[1]`), json.RawMessage(`{"k":"v"}`)},
	}
	for _, s := range samples {
		cases := []struct {
			container Container
			in, want  any
		}{
			{Single, s.a, s.ca},
			{"", s.b, s.cb}, // no container is a single value
			{List, []any{s.b, s.a, s.b}, []any{s.cb, s.ca, s.cb}},
			{Set, []any{s.b, s.a, s.b}, []any{s.ca, s.cb}},
			{Map, map[string]any{"x": s.a, "y": s.b}, map[string]any{"x": s.ca, "y": s.cb}},
		}
		for _, c := range cases {
			t.Run(string(s.typ)+"/"+string(c.container), func(t *testing.T) {
				got, err := Coerce(s.typ, c.container, c.in)
				if err != nil {
					t.Fatalf("Coerce(%s, %q, %#v): %v", s.typ, c.container, c.in, err)
				}
				if !equalValue(got, c.want) {
					t.Errorf("Coerce(%s, %q, %#v) = %#v, want %#v", s.typ, c.container, c.in, got, c.want)
				}
			})
		}
	}
}

func TestCoerce(t *testing.T) {
	tests := []struct {
		name      string
		typ       Type
		container Container
		in        any
		want      any
		wantErr   string // substring; "" = no error
	}{
		// Int.
		{"int64", Int, Single, int64(-7), int64(-7), ""},
		{"int", Int, Single, 7, int64(7), ""},
		{"int32", Int, Single, int32(7), int64(7), ""},
		{"whole float64", Int, Single, 7.0, int64(7), ""},
		{"json.Number exponent", Int, Single, json.Number("1e3"), int64(1000), ""},
		{"numeric string with spaces", Int, Single, " 42 ", nil, "want Int"},
		{"Go digit separators", Int, Single, "1_000", nil, "want Int"},
		{"Go hex float", Float, Single, "0x1p-2", nil, "want Float"},
		{"plus sign", Float, Single, "+1.5", nil, "want Float"},
		{"Inf", Float, Single, "Inf", nil, "want Float"},
		{"leading zero", Int, Single, "007", nil, "want Int"},
		{"decimal text with exponent", Float, Single, "1.5e2", 150.0, ""},
		{"whole float string", Int, Single, "5.0", int64(5), ""},
		{"max int64 string", Int, Single, "9223372036854775807", int64(math.MaxInt64), ""},
		{"fractional float64", Int, Single, 5.5, nil, "want Int, got number 5.5"},
		{"fractional json.Number", Int, Single, json.Number("1.5"), nil, `want Int, got "1.5"`},
		{"float64 beyond 2^53", Int, Single, 1e20, nil, "want Int"},
		{"word", Int, Single, "abc", nil, `want Int, got "abc"`},
		{"bool as Int", Int, Single, true, nil, "want Int, got boolean true"},
		{"null Int", Int, Single, nil, nil, "want Int, got null"},
		{"list as Int", Int, Single, []any{int64(1)}, nil, "want Int, got a list"},
		{"object as Int", Int, Single, map[string]any{}, nil, "want Int, got an object"},

		// Float.
		{"float64", Float, Single, 2.25, 2.25, ""},
		{"float32", Float, Single, float32(1.5), 1.5, ""},
		{"int64 as Float", Float, Single, int64(2), 2.0, ""},
		{"int as Float", Float, Single, 2, 2.0, ""},
		{"json.Number Float", Float, Single, json.Number("-1.25e2"), -125.0, ""},
		{"numeric string Float", Float, Single, "3.5", 3.5, ""},
		{"NaN string", Float, Single, "NaN", nil, `want Float, got "NaN"`},
		{"Inf string", Float, Single, "+Inf", nil, `want Float, got "+Inf"`},
		// A non-finite float64 (YAML .nan/.inf decode to one) cannot be served as a GraphQL Float
		// or stored as JSON: it must fail here like the string forms above.
		{"NaN float64", Float, Single, math.NaN(), nil, "want Float"},
		{"Inf float64", Float, Single, math.Inf(1), nil, "want Float"},
		{"word Float", Float, Single, "abc", nil, `want Float, got "abc"`},
		{"bool as Float", Float, Single, false, nil, "want Float, got boolean false"},

		// String.
		{"string", String, Single, "héllo", "héllo", ""},
		{"json.Number as String", String, Single, json.Number("12.50"), "12.50", ""},
		{"int64 as String", String, Single, int64(12), "12", ""},
		{"int as String", String, Single, 12, "12", ""},
		{"float64 as String", String, Single, 1.5, "1.5", ""},
		{"large float64 as String", String, Single, 1e21, "1000000000000000000000", ""},
		{"bool as String", String, Single, true, nil, "want String, got boolean true"},
		{"object as String", String, Single, map[string]any{"a": 1}, nil, "want String, got an object"},

		// Boolean.
		{"bool", Boolean, Single, true, true, ""},
		{"string true", Boolean, Single, "true", true, ""},
		{"string 0", Boolean, Single, " 0 ", false, ""},
		{"string yes", Boolean, Single, "yes", nil, `want Boolean, got string "yes"`},
		{"number as Boolean", Boolean, Single, int64(1), nil, "want Boolean, got number 1"},

		// Time: RFC 3339, epoch seconds, epoch milliseconds.
		{"RFC 3339", Time, Single, "2026-10-15T08:12:00Z", when, ""},
		{"RFC 3339 with zone", Time, Single, "2026-10-15T17:12:00+09:00", when, ""},
		{"RFC 3339 nanoseconds", Time, Single, "2026-10-15T08:12:00.123456789Z", when.Add(123456789), ""},
		{"epoch seconds int64", Time, Single, int64(1792051920), when, ""},
		{"epoch seconds float64", Time, Single, 1792051920.5, when.Add(500 * time.Millisecond), ""},
		{"epoch seconds string", Time, Single, "1792051920", when, ""},
		{"epoch seconds json.Number", Time, Single, json.Number("1792051920"), when, ""},
		{"epoch ms int64", Time, Single, int64(1792051920123), when.Add(123 * time.Millisecond), ""},
		{"epoch ms int", Time, Single, 1792051920000, when, ""},
		{"epoch ms json.Number", Time, Single, json.Number("1792051920000"), when, ""},
		{"epoch ms string", Time, Single, "1792051920000", when, ""},
		{"time.Time in a zone", Time, Single, when.In(time.FixedZone("KST", 9*3600)), when, ""},
		{"time words", Time, Single, "yesterday", nil, `want a time (RFC 3339 or epoch seconds/milliseconds), got "yesterday"`},
		{"time without zone", Time, Single, "2026-10-15T08:12:00", nil, "want a time"},
		{"bool as Time", Time, Single, true, nil, "want a time (RFC 3339 or epoch seconds/milliseconds), got boolean true"},
		{"null Time", Time, Single, nil, nil, "want Time, got null"},

		// JSON.
		{"object as JSON", JSON, Single, map[string]any{"b": int64(1), "a": []any{true}}, json.RawMessage(`{"a":[true],"b":1}`), ""},
		{"raw JSON compacted", JSON, Single, json.RawMessage("{ \"a\" : [ 1, 2 ] }\n"), json.RawMessage(`{"a":[1,2]}`), ""},
		{"string as JSON", JSON, Single, "x", json.RawMessage(`"x"`), ""},
		{"number as JSON", JSON, Single, json.Number("1.50"), json.RawMessage(`1.50`), ""},
		{"invalid raw JSON", JSON, Single, json.RawMessage(`{"a":`), nil, "want JSON, got invalid JSON text"},
		{"unencodable JSON", JSON, Single, make(chan int), nil, "want JSON"},

		// Lists and sets.
		{"list of mixed forms", Int, List, []any{int64(3), "1", json.Number("3")}, []any{int64(3), int64(1), int64(3)}, ""},
		{"typed Go slice", String, List, []string{"b", "a"}, []any{"b", "a"}, ""},
		{"empty list", Int, List, []any{}, []any{}, ""},
		{"set of Int sorted and deduped", Int, Set, []any{int64(3), int64(1), "3", 2.0}, []any{int64(1), int64(2), int64(3)}, ""},
		{"set of String sorted bytewise", String, Set, []any{"b", "B", "a", "b"}, []any{"B", "a", "b"}, ""},
		{"set of Time deduped by instant", Time, Set, []any{"2026-10-15T17:12:00+09:00", int64(1792051920), "2026-10-15T08:11:00Z"},
			[]any{when.Add(-time.Minute), when}, ""},
		{"set of JSON deduped by compact text", JSON, Set, []any{json.RawMessage(`{ "k": "v" }`), map[string]any{"k": "v"}, []any{}},
			[]any{json.RawMessage(`[]`), json.RawMessage(`{"k":"v"}`)}, ""},
		{"set of Float", Float, Set, []any{2.5, "0.5", int64(2), 2.5}, []any{0.5, 2.0, 2.5}, ""},
		{"bad list item", Int, List, []any{int64(1), "x"}, nil, `item 1: want Int, got "x"`},
		{"null list item", String, Set, []any{nil}, nil, "item 0: want String, got null"},
		{"scalar as list", Int, List, "1,2", nil, `want a list of Int, got string "1,2"`},
		{"bytes as list", Int, List, []byte("12"), nil, "want a list of Int"},
		{"null list", Int, Set, nil, nil, "want a list of Int, got null"},

		// Maps.
		{"map of Int", Int, Map, map[string]any{"a": "1", "b": json.Number("2")}, map[string]any{"a": int64(1), "b": int64(2)}, ""},
		{"empty map", String, Map, map[string]any{}, map[string]any{}, ""},
		{"bad map value", Int, Map, map[string]any{"a": int64(1), "b": "x"}, nil, `key "b": want Int, got "x"`},
		{"list as map", Float, Map, []any{1.0}, nil, "want a map of string to Float, got a list"},

		// Unknown type or container.
		{"unknown type", Type("Decimal"), Single, "1", nil, `unknown type "Decimal"`},
		{"unknown container", Int, Container("bag"), []any{int64(1)}, nil, `unknown container "bag"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Coerce(tt.typ, tt.container, tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Coerce(%s, %s, %#v) = %#v; want error containing %q", tt.typ, tt.container, tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Coerce(%s, %s, %#v) error %q; want it to contain %q", tt.typ, tt.container, tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Coerce(%s, %s, %#v): %v", tt.typ, tt.container, tt.in, err)
			}
			if !equalValue(got, tt.want) {
				t.Errorf("Coerce(%s, %s, %#v) = %#v, want %#v", tt.typ, tt.container, tt.in, got, tt.want)
			}
		})
	}
}

// TestCoerceErrorNamesTheType: a value of the wrong kind is an error that says what was wanted.
func TestCoerceErrorNamesTheType(t *testing.T) {
	wrong := map[Type]any{Int: true, Float: "x", String: false, Boolean: int64(1), Time: true, JSON: func() {}}
	for _, typ := range Types {
		for _, c := range Containers {
			in := wrong[typ]
			switch c {
			case List, Set:
				in = []any{in}
			case Map:
				in = map[string]any{"k": in}
			}
			_, err := Coerce(typ, c, in)
			if err == nil {
				t.Errorf("Coerce(%s, %s, %#v) succeeded; want an error", typ, c, in)
				continue
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(string(typ))) {
				t.Errorf("Coerce(%s, %s) error %q does not name the type", typ, c, err)
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      any
		want    time.Time
		wantErr bool
	}{
		{in: "2026-10-15T08:12:00Z", want: when},
		{in: " 2026-10-15T08:12:00.5Z ", want: when.Add(500 * time.Millisecond)},
		{in: int64(0), want: time.Unix(0, 0)},
		{in: int64(-1), want: time.Unix(-1, 0)},
		{in: 1792051920, want: when},
		{in: 1792051920.25, want: when.Add(250 * time.Millisecond)},
		// Below 1e11 a number is seconds (1e11 s is the year 5138), from 1e11 on milliseconds.
		{in: int64(99_999_999_999), want: time.Unix(99_999_999_999, 0)},
		{in: int64(100_000_000_000), want: time.UnixMilli(100_000_000_000)},
		{in: json.Number("1792051920000"), want: when},
		{in: "1792051920000", want: when},
		{in: when.In(time.FixedZone("X", -3600)), want: when},
		{in: "", wantErr: true},
		{in: "15 Oct 2026", wantErr: true},
		{in: json.Number("soon"), wantErr: true},
		{in: nil, wantErr: true},
		{in: []any{}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseTime(%#v) = %v; want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%#v) = %v, %v; want %v in UTC", tt.in, got, err, tt.want.UTC())
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "720h", want: 720 * time.Hour},
		{in: "30d", want: 720 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "d", wantErr: true},
		{in: "30 days", wantErr: true},
		{in: "3600", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
