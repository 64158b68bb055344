package dynamodb

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// attrValue is a DynamoDB attribute value, as the JSON protocol carries it
// ({"S": "..."}, {"N": "12"}, {"M": {...}}...). One struct for every type keeps a decoded item
// in one slice without an allocation per value: a scalar is kind and str (B as its base64
// text), a BOOL is boolean, a container (L, M, SS, NS, BS) is elems (an L's and a set's
// elements have no name).
type attrValue struct {
	kind    avKind
	boolean bool
	str     string
	elems   []field
}

type avKind uint8

const (
	avNone avKind = iota
	avS
	avN
	avB
	avBOOL
	avNULL
	avL
	avM
	avSS
	avNS
	avBS
)

var avTypeNames = [...]string{avS: "S", avN: "N", avB: "B", avBOOL: "BOOL", avNULL: "NULL", avL: "L", avM: "M", avSS: "SS", avNS: "NS", avBS: "BS"}

// field is an attribute of an item or a map (name and value) or an element of a list.
type field struct {
	name string
	val  attrValue
}

// item is a DynamoDB item: its attributes in the order DynamoDB sent them (or they were set).
type item []field

// get returns the attribute name, or nil.
func (it item) get(name string) *attrValue {
	for i := range it {
		if it[i].name == name {
			return &it[i].val
		}
	}
	return nil
}

// set replaces or adds the attribute name.
func (it *item) set(name string, v attrValue) {
	if p := it.get(name); p != nil {
		*p = v
		return
	}
	*it = append(*it, field{name, v})
}

// del removes the attribute name.
func (it *item) del(name string) {
	for i := range *it {
		if (*it)[i].name == name {
			*it = append((*it)[:i], (*it)[i+1:]...)
			return
		}
	}
}

func attrS(s string) attrValue   { return attrValue{kind: avS, str: s} }
func attrNum(n string) attrValue { return attrValue{kind: avN, str: n} }
func attrN(n int64) attrValue    { return attrValue{kind: avN, str: strconv.FormatInt(n, 10)} }
func attrBool(b bool) attrValue  { return attrValue{kind: avBOOL, boolean: b} }

// ---- encoding

// appendAV appends v as DynamoDB JSON.
func appendAV(b []byte, v attrValue) []byte {
	b = append(b, `{"`...)
	b = append(b, avTypeNames[v.kind]...)
	b = append(b, `":`...)
	switch v.kind {
	case avS, avN, avB:
		b = appendString(b, v.str)
	case avBOOL, avNULL:
		b = strconv.AppendBool(b, v.boolean)
	case avM:
		b = appendItem(b, v.elems)
	default: // L and sets
		b = append(b, '[')
		for i, e := range v.elems {
			if i > 0 {
				b = append(b, ',')
			}
			if v.kind == avL {
				b = appendAV(b, e.val)
			} else {
				b = appendString(b, e.val.str)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendItem appends the attributes as a JSON object of attribute values.
func appendItem(b []byte, it []field) []byte {
	b = append(b, '{')
	for i, f := range it {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.name)
		b = append(b, ':')
		b = appendAV(b, f.val)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ---- decoding

// jsonReader is a small JSON scanner over one response body: what the client decodes is
// read straight into attrValues, without reflection or an intermediate tree.
type jsonReader struct {
	b []byte
	i int
	// stack holds the fields of the items, maps and lists being read; each is copied out into
	// a slice of its exact size when complete (one allocation per container).
	stack []field
	// names interns the attribute names of the answer: items repeat them.
	names map[string]string
}

var errJSON = errors.New("malformed JSON")

func (r *jsonReader) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errJSON, what, r.i)
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		return r.fail(fmt.Sprintf("want %q", c))
	}
	r.i++
	return nil
}

// null consumes a null and reports whether there was one.
func (r *jsonReader) null() bool {
	if r.peek() == 'n' && len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "null" {
		r.i += 4
		return true
	}
	return false
}

// object calls fn for every key of an object; fn reads the value. key is valid only during
// the call (it may point into the body). A null is an empty object.
func (r *jsonReader) object(fn func(key []byte) error) error {
	if r.null() {
		return nil
	}
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.i++
		return nil
	}
	for {
		key, err := r.strBytes()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return r.fail("want , or }")
		}
	}
}

// array calls fn for every element; fn reads it. A null is an empty array.
func (r *jsonReader) array(fn func() error) error {
	if r.null() {
		return nil
	}
	if err := r.expect('['); err != nil {
		return err
	}
	if r.peek() == ']' {
		r.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return nil
		default:
			return r.fail("want , or ]")
		}
	}
}

// strBytes reads a string: a slice of the body when it has no escapes, else a new buffer.
func (r *jsonReader) strBytes() ([]byte, error) {
	if r.peek() != '"' {
		return nil, r.fail("want a string")
	}
	r.i++
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := r.b[start:r.i]
			r.i++
			return s, nil
		}
		if c == '\\' {
			return r.unescape(start)
		}
		if c < 0x20 {
			return nil, r.fail("control character in a string")
		}
		r.i++
	}
	return nil, r.fail("unterminated string")
}

func (r *jsonReader) unescape(start int) ([]byte, error) {
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return out, nil
		case c < 0x20:
			return nil, r.fail("control character in a string")
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru, ok := r.hex4()
			if !ok {
				return nil, r.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(ru) {
				save := r.i
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					r.i += 2
					if lo, ok := r.hex4(); ok {
						if dec := utf16.DecodeRune(ru, lo); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
				}
				r.i = save
				ru = utf8.RuneError
			}
			out = utf8.AppendRune(out, ru)
		default:
			return nil, r.fail("bad escape")
		}
	}
	return nil, r.fail("unterminated string")
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	r.i += 4
	return v, true
}

func (r *jsonReader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

func (r *jsonReader) boolean() (bool, error) {
	switch r.peek() {
	case 't':
		if len(r.b)-r.i >= 4 && string(r.b[r.i:r.i+4]) == "true" {
			r.i += 4
			return true, nil
		}
	case 'f':
		if len(r.b)-r.i >= 5 && string(r.b[r.i:r.i+5]) == "false" {
			r.i += 5
			return false, nil
		}
	}
	return false, r.fail("want true or false")
}

// int reads a JSON number as an integer (a fraction is dropped).
func (r *jsonReader) int() (int64, error) {
	r.ws()
	start := r.i
	for r.i < len(r.b) && (r.b[r.i] == '-' || r.b[r.i] == '+' || r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E' || r.b[r.i] >= '0' && r.b[r.i] <= '9') {
		r.i++
	}
	s := string(r.b[start:r.i])
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, r.fail("want a number")
	}
	return int64(f), nil
}

// skip reads past one value of any type.
func (r *jsonReader) skip() error {
	switch c := r.peek(); {
	case c == '{':
		return r.object(func([]byte) error { return r.skip() })
	case c == '[':
		return r.array(r.skip)
	case c == '"':
		_, err := r.strBytes()
		return err
	case c == 't' || c == 'f':
		_, err := r.boolean()
		return err
	case r.null():
		return nil
	case c == '-' || c >= '0' && c <= '9':
		_, err := r.int()
		return err
	}
	return r.fail("want a value")
}

// name returns the attribute name, allocating once per distinct name of an answer.
func (r *jsonReader) name(b []byte) string {
	switch string(b) {
	case "pk", "sk", "v", "ts", "m", "exp":
		return attrName(b)
	}
	if s, ok := r.names[string(b)]; ok {
		return s
	}
	if r.names == nil {
		r.names = make(map[string]string)
	}
	s := string(b)
	if len(r.names) < 256 {
		r.names[s] = s
	}
	return s
}

// attrName returns the attribute name, without allocating for the names the store uses.
func attrName(b []byte) string {
	switch string(b) {
	case "pk":
		return "pk"
	case "sk":
		return "sk"
	case "v":
		return "v"
	case "ts":
		return "ts"
	case "m":
		return "m"
	case "exp":
		return "exp"
	}
	return string(b)
}

// item reads an item (an object of attribute values).
func (r *jsonReader) item() (item, error) {
	base := len(r.stack)
	err := r.object(func(key []byte) error {
		name := r.name(key)
		v, err := r.av()
		if err != nil {
			return fmt.Errorf("attribute %q: %w", name, err)
		}
		r.stack = append(r.stack, field{name, v})
		return nil
	})
	return r.pop(base), err
}

// pop returns the fields pushed since base in a new slice, and drops them from the stack.
func (r *jsonReader) pop(base int) []field {
	n := len(r.stack) - base
	if n == 0 {
		return nil
	}
	out := make([]field, n)
	copy(out, r.stack[base:])
	clear(r.stack[base:])
	r.stack = r.stack[:base]
	return out
}

// items reads an array of items.
func (r *jsonReader) items() ([]item, error) {
	var out []item
	err := r.array(func() error {
		it, err := r.item()
		out = append(out, it)
		return err
	})
	return out, err
}

// av reads an attribute value ({"<type>": value}).
func (r *jsonReader) av() (attrValue, error) {
	var v attrValue
	err := r.object(func(key []byte) error {
		if v.kind != avNone {
			return r.fail("attribute value with two types")
		}
		var err error
		switch string(key) {
		case "S":
			v.kind = avS
			v.str, err = r.str()
		case "N":
			v.kind = avN
			v.str, err = r.str()
		case "B":
			v.kind = avB
			v.str, err = r.str()
		case "BOOL":
			v.kind = avBOOL
			v.boolean, err = r.boolean()
		case "NULL":
			v.kind = avNULL
			v.boolean, err = r.boolean()
		case "M":
			v.kind = avM
			v.elems, err = r.item()
		case "L":
			v.kind = avL
			base := len(r.stack)
			err = r.array(func() error {
				e, err := r.av()
				r.stack = append(r.stack, field{val: e})
				return err
			})
			v.elems = r.pop(base)
		case "SS", "NS", "BS":
			v.kind = map[string]avKind{"SS": avSS, "NS": avNS, "BS": avBS}[string(key)]
			ek := map[avKind]avKind{avSS: avS, avNS: avN, avBS: avB}[v.kind]
			base := len(r.stack)
			err = r.array(func() error {
				s, err := r.str()
				r.stack = append(r.stack, field{val: attrValue{kind: ek, str: s}})
				return err
			})
			v.elems = r.pop(base)
		default:
			return r.fail(fmt.Sprintf("unknown attribute type %q", key))
		}
		return err
	})
	if err == nil && v.kind == avNone {
		err = r.fail("attribute value without a type")
	}
	return v, err
}

// bytes decodes a B value.
func (v attrValue) bytes() ([]byte, error) { return base64.StdEncoding.DecodeString(v.str) }
