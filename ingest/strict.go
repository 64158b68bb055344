package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Strict values. Every ingestion path (push, Kafka, load) reads JSON with DecodeJSON and checks
// every converted value with checkValue, so that what is stored is exactly what was sent and
// stays cheap to read:
//
//   - JSON text must be valid UTF-8 (encoding/json would silently replace invalid bytes with
//     U+FFFD) and hold no duplicate object key (encoding/json keeps the last one, so two
//     readers of one event could disagree) and no NUL character;
//   - numbers must be exactly the feature's type (registry: no fraction for an Int, no Float
//     that underflows to 0 or overflows);
//   - a value must respect its feature's registry.Limits: string bytes (a String value or item,
//     a JSON value's text, an action field's string) and elements (a list's or set's items, a
//     map's entries); strings from typeless sources (CSV, Parquet) must be valid UTF-8 without NUL.
//
// A value that breaks one of these is rejected naming the feature, the field and the rule, and
// nothing of its event is written (Dispatch drops the event's other writes too): a hostile event
// is not half-applied.

// ErrRejectedValue is matched (errors.Is) by the error of a value that breaks a strict-value
// rule or a limit.
var ErrRejectedValue = errors.New("value rejected")

// maxJSONDepth bounds the nesting of an event.
const maxJSONDepth = 256

// DecodeJSON decodes one JSON value strictly (see above): objects as map[string]any, arrays as
// []any, numbers as json.Number. Trailing data is an error.
func DecodeJSON(data []byte) (any, error) {
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// checkJSON is the strict part of DecodeJSON, in one pass over the text without decoding it:
// valid UTF-8, no NUL escape (a raw NUL is invalid JSON already), no duplicate key in an
// object, at most maxJSONDepth levels. Syntax errors are left to the decoder that follows.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("invalid UTF-8 at byte %d", invalidUTF8At(data))
	}
	type frame struct {
		obj       bool
		expectKey bool
		keys      int                 // start of this object's keys in the keys stack
		set       map[string]struct{} // the keys, once the object has many
	}
	var stack []frame
	var keys [][]byte // the keys of the open objects (while few), as raw or unescaped bytes
	const few = 32
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return fmt.Errorf("nested more than %d levels deep", maxJSONDepth)
			}
			stack = append(stack, frame{obj: data[i] == '{', expectKey: data[i] == '{', keys: len(keys)})
		case '}', ']':
			if len(stack) > 0 {
				keys = keys[:stack[len(stack)-1].keys]
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].expectKey = true
			}
		case '"':
			j, escaped := i+1, false
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					escaped = true
					if j+5 < len(data) && data[j+1] == 'u' && string(data[j+2:j+6]) == "0000" {
						return errors.New("a string holds a NUL character (\\u0000)")
					}
					j++
				}
				j++
			}
			raw := data[i+1 : min(j, len(data))]
			i = j
			if len(stack) == 0 || !stack[len(stack)-1].expectKey {
				continue
			}
			f := &stack[len(stack)-1]
			f.expectKey = false
			key := raw
			if escaped {
				var k string
				if err := json.Unmarshal(data[i-len(raw)-1:min(i+1, len(data))], &k); err != nil {
					continue // invalid: the decoder reports it
				}
				key = []byte(k)
			}
			if f.set == nil && len(keys)-f.keys < few {
				for _, k := range keys[f.keys:] {
					if bytes.Equal(k, key) {
						return fmt.Errorf("duplicate key %q (which one counts would be ambiguous)", key)
					}
				}
				keys = append(keys, key)
				continue
			}
			if f.set == nil {
				f.set = make(map[string]struct{}, 2*few)
				for _, k := range keys[f.keys:] {
					f.set[string(k)] = struct{}{}
				}
			}
			if _, dup := f.set[string(key)]; dup {
				return fmt.Errorf("duplicate key %q (which one counts would be ambiguous)", key)
			}
			f.set[string(key)] = struct{}{}
		}
	}
	return nil
}

// checkValue checks a converted static value against its feature's limits.
func checkValue(f *registry.Feature, v store.Value) error {
	l := f.Limits
	switch v.Kind {
	case store.String, store.JSON:
		return checkString(l, v.Str, v.Kind == store.JSON)
	case store.List, store.Map:
		if len(v.Items) > l.MaxElements {
			return fmt.Errorf("%w: %d elements, more than the feature's limit of %d (registry limits: maxElements)", ErrRejectedValue, len(v.Items), l.MaxElements)
		}
		for i, it := range v.Items {
			if err := checkValue(f, it); err != nil {
				if v.Kind == store.Map {
					return fmt.Errorf("key %q: %w", v.Keys[i], err)
				}
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		for _, k := range v.Keys {
			if err := checkString(l, k, false); err != nil {
				return fmt.Errorf("a map key: %w", err)
			}
		}
	}
	return nil
}

// checkField checks one converted field of an action event.
func checkField(f *registry.Feature, v any) error {
	switch x := v.(type) {
	case string:
		return checkString(f.Limits, x, false)
	case json.RawMessage:
		return checkString(f.Limits, string(x), true)
	}
	return nil
}

func checkString(l registry.Limits, s string, jsonText bool) error {
	what := "string"
	if jsonText {
		what = "JSON text"
	}
	switch {
	case len(s) > l.MaxStringBytes:
		return fmt.Errorf("%w: %s of %d bytes, more than the feature's limit of %d (registry limits: maxStringBytes)", ErrRejectedValue, what, len(s), l.MaxStringBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8 (byte %d)", ErrRejectedValue, what, invalidUTF8At([]byte(s)))
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s holds a NUL character", ErrRejectedValue, what)
	}
	return nil
}

// rejects reports whether err (a conversion error) rejects its whole event: a strict-value rule
// or a limit broken, or a number that is not exactly the feature's type.
func rejects(err error) bool {
	return errors.Is(err, ErrRejectedValue) || errors.Is(err, registry.ErrNotExact)
}
