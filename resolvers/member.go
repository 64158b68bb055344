package resolvers

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/featuregraph/featuregraph/graph/model"
)

// Stored members are compact JSON objects written by store.EncodeMember. The generated glue
// decodes them field by field with these helpers instead of encoding/json's reflection: this is
// the hottest loop of an action read (one member per event).

var errMember = errors.New("not a JSON object")

// memberFields calls set with every top-level key and raw value of the JSON object b.
func memberFields(b []byte, set func(key string, raw []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errMember
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errMember
		}
		end, err := skipValue(b, i)
		if err != nil {
			return err
		}
		key, err := unquote(b[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errMember
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := set(key, b[i:vend]); err != nil {
			return err
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return errMember
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return nil
		default:
			return errMember
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errMember
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errMember
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipValue(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMember
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errMember
	}
	return j, nil
}

func unquote(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		plain := true
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(raw) {
			return string(raw[1 : len(raw)-1]), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func isNull(raw []byte) bool { return string(raw) == "null" }

func memberInt(raw []byte) (*int, error) {
	if isNull(raw) {
		return nil, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func memberFloat(raw []byte) (*float64, error) {
	if isNull(raw) {
		return nil, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func memberString(raw []byte) (*string, error) {
	if isNull(raw) {
		return nil, nil
	}
	s, err := unquote(raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func memberBoolean(raw []byte) (*bool, error) {
	switch string(raw) {
	case "null":
		return nil, nil
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, errors.New("not a boolean")
}

func memberTime(raw []byte) (*time.Time, error) {
	s, err := memberString(raw)
	if s == nil || err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func memberJSON(raw []byte) (*model.JSON, error) {
	if isNull(raw) {
		return nil, nil
	}
	j := model.JSON(append([]byte(nil), raw...))
	return &j, nil
}
