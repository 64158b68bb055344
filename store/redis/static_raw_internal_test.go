package redis

import (
	"strconv"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/store"
)

// A malformed or cut raw HMGET reply is an error, never a value read from the wrong bytes.
func TestDecodeRESPRowRejectsMalformedReplies(t *testing.T) {
	field := string(encodeField(nil, store.IntValue(42), 7))
	good := "*2\r\n$" + itoa(len(field)) + "\r\n" + field + "\r\n_\r\n"
	row := make([]store.StaticValue, 2)
	var miss []int
	if _, err := decodeRESPRow([]byte(good), row, 0, func(j int) { miss = append(miss, j) }); err != nil {
		t.Fatal(err)
	}
	if row[0].Kind != store.Int || row[0].Num != 42 || row[0].TS != 7 || len(miss) != 1 || miss[0] != 1 {
		t.Fatalf("row %+v, missing %v", row, miss)
	}
	for _, bad := range []string{
		"",
		"*2\r\n",                              // cut after the header
		good[:len(good)-3],                    // cut in the last field
		"*3" + good[2:],                       // more fields than asked
		"*2\r\n$99\r\n" + field + "\r\n_\r\n", // length past the end
		good + "$1\r\nx\r\n",                  // bytes after the last field
		"+OK\r\n",                             // not an array
		"*2\r\n:5\r\n_\r\n",                   // a field that is not a string
		"*2\r\n$" + itoa(len(field)) + "\n" + field, // LF without CR
	} {
		if _, err := decodeRESPRow([]byte(bad), make([]store.StaticValue, 2), 0, func(int) {}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	_, err := decodeRESPRow([]byte("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"), row, 0, func(int) {})
	if err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Fatalf("error reply: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The one-pass event time parse agrees with the general one and leaves anything else to it.
func TestParseEventTime(t *testing.T) {
	for text, want := range map[string]int64{"0:x": 0, "1700000000000:x": 1700000000000, "999999999999999999:": 999999999999999999,
		"12345678:x": 12345678, "01234567:x": 1234567, "987654321:": 987654321, "1733011122334:\x00\x01": 1733011122334} {
		if ts, colon, ok := parseEventTime(text); !ok || ts != want || text[colon] != ':' {
			t.Errorf("%q: %d %d %v", text, ts, colon, ok)
		}
	}
	for _, text := range []string{":x", "-5:x", "12a:x", "1234567890123456789:x", "17", "", "1234567/9:x", "12345678", "1234567890", "\xff2345678:x"} {
		if _, _, ok := parseEventTime(text); ok {
			t.Errorf("%q: accepted", text)
		}
	}
	if _, err := decodeField("-5:"+string(store.IntValue(1).AppendBinary(nil)), 0, new(store.StaticValue)); err != nil {
		t.Errorf("negative event time: %v", err) // the general parse still reads it
	}
}

// An HGETALL reply is decoded by field name, in any order, skipping the fields not asked for
// and reporting in order those it lacks; a malformed or cut reply is an error, never a value
// read from the wrong bytes.
func TestDecodeRESPHash(t *testing.T) {
	bulk := func(s string) string { return "$" + itoa(len(s)) + "\r\n" + s + "\r\n" }
	a, b := string(encodeField(nil, store.IntValue(42), 7)), string(encodeField(nil, store.StringValue("x"), 8))
	features := []string{"a", "b", "c", "gone"}
	reply := func(header string) string {
		return header + "\r\n" + bulk("old") + bulk("junk, not decoded") + bulk("b") + bulk(b) + bulk("gone") + bulk("n10") + bulk("a") + bulk(a)
	}
	d := newHashDecoder(features)
	for _, good := range []string{reply("*8"), reply("%4")} {
		for range 2 { // the second time the positions are known
			row := make([]store.StaticValue, 4)
			var miss []int
			_, n, err := decodeRESPHash([]byte(good), row, 6, d, func(j int) { miss = append(miss, j) })
			if err != nil || n != 4 {
				t.Fatalf("%q: %d fields, %v", good, n, err)
			}
			if row[0].Kind != store.Int || row[0].Num != 42 || row[0].TS != 7 || row[1].Str != "x" || row[1].TS != 8 || row[2].Kind != store.Absent || row[3].Kind != store.Absent {
				t.Fatalf("row %+v", row)
			}
			if len(miss) != 1 || miss[0] != 2 { // "gone" is a live negative entry at 6 (until 10)
				t.Fatalf("missing %v", miss)
			}
		}
	}
	// at 11 the negative entry has expired: a miss, reported in order
	var miss []int
	row := []store.StaticValue{{Value: store.IntValue(1)}, {}, {Value: store.IntValue(1)}, {Value: store.IntValue(1)}}
	if _, _, err := decodeRESPHash([]byte(reply("*8")), row, 11, newHashDecoder(features), func(j int) { miss = append(miss, j) }); err != nil || len(miss) != 2 || miss[0] != 2 || miss[1] != 3 || row[2].Kind != store.Absent || row[3].Kind != store.Absent {
		t.Fatalf("missing %v, row %+v, %v", miss, row, err)
	}
	for _, empty := range []string{"*0\r\n", "%0\r\n"} {
		miss = nil
		if _, n, err := decodeRESPHash([]byte(empty), make([]store.StaticValue, 4), 0, newHashDecoder(features), func(j int) { miss = append(miss, j) }); err != nil || n != 0 || len(miss) != 4 {
			t.Fatalf("%q: %d fields, missing %v, %v", empty, n, miss, err)
		}
	}
	good := reply("*8")
	for _, bad := range []string{
		"",
		"*8\r\n",                          // cut after the header
		good[:len(good)-3],                // cut in the last value
		"*7" + good[2:],                   // an odd array
		"*10" + good[2:],                  // more pairs than sent
		good + bulk("c"),                  // bytes after the last field
		"*2\r\n" + bulk("a") + "$-1\r\n",  // a null value
		"*2\r\n_\r\n" + bulk(a),           // a null name
		"*2\r\n" + bulk("a") + ":5\r\n",   // a value that is not a string
		"*2\r\n" + bulk("a") + bulk("7:"), // a malformed value
		"*4\r\n" + bulk("a") + bulk(a) + bulk("a") + bulk(a), // a field twice
		"+OK\r\n",
		"*2\r\n$1\r\na\n" + bulk(a), // LF without CR
	} {
		if _, _, err := decodeRESPHash([]byte(bad), make([]store.StaticValue, 4), 0, newHashDecoder(features), func(int) {}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	_, _, err := decodeRESPHash([]byte("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"), row, 0, d, func(int) {})
	if err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Fatalf("error reply: %v", err)
	}
}

// Features found by name: more than 8 go through a map, and a field at the same position as in
// the previous hash is compared with that one alone.
func TestHashDecoderFind(t *testing.T) {
	for _, n := range []int{3, 20} {
		var features []string
		for j := range n {
			features = append(features, "f"+itoa(j))
		}
		d := newHashDecoder(features)
		for round := range 2 {
			for p := range n + 1 {
				name, want := "f"+itoa(n-1-p), n-1-p
				if p == n {
					name, want = "other", -1
				}
				if j := d.find(name, p); j != want {
					t.Fatalf("%d features, round %d: %s at %d: %d, want %d", n, round, name, p, j, want)
				}
			}
		}
		if d.find("f0", 0) != 0 || d.find("f1", 0) != 1 {
			t.Fatalf("%d features: a field at another position", n)
		}
	}
	// a first hash in the order of the features needs no map
	var features []string
	for j := range 20 {
		features = append(features, "f"+itoa(j))
	}
	d := newHashDecoder(features)
	for p, f := range features {
		if d.find(f, p) != p {
			t.Fatalf("%s at %d", f, p)
		}
	}
	if d.index != nil {
		t.Fatal("built the map for fields in order")
	}
}
