package store

import (
	"encoding/json"
	"strconv"
)

// TimeField is the member field that makes every event distinct when a feature does not dedupe.
// It sorts before any registry field name (those start with a letter).
const TimeField = "_t"

// EncodeMember builds the member of an action event: the fields as compact JSON with sorted
// keys (encoding/json sorts map keys, so equal fields give equal bytes). When dedupe is false
// the event time is added under TimeField, so repeats of the same fields stay separate events
// while a redelivery of the same event still maps to the same member.
func EncodeMember(fields map[string]any, ts int64, dedupe bool) (string, error) {
	if !dedupe {
		m := make(map[string]any, len(fields)+1)
		for k, v := range fields {
			m[k] = v
		}
		m[TimeField] = json.Number(strconv.FormatInt(ts, 10))
		fields = m
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
