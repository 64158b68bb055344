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
