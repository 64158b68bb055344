package resolvers

import (
	"errors"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/graph/model"
	"github.com/featuregraph/featuregraph/store"
)

// Stored members are compact JSON objects written by store.EncodeMember. The generated glue
// decodes them field by field with these helpers instead of encoding/json's reflection: this is
// the hottest loop of an action read (one member per event).

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
	s, err := store.UnquoteMember(raw)
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
