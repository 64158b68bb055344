// Package model holds the Go types bound to the GraphQL schema. models_gen.go is generated from
// the feature registry; this file (hand-written) holds the JSON scalar.
package model

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSON is the JSON scalar: any JSON value, kept as compact text.
type JSON json.RawMessage

// MarshalGQL writes the JSON text as is.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(j)
}

// UnmarshalGQL accepts any input value.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("JSON: %w", err)
	}
	*j = b
	return nil
}

// UnmarshalJSON keeps the raw text (action event members hold JSON fields as raw JSON).
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// MarshalJSON writes the raw text.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}
