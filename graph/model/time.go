package model

import (
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/serving"
)

// MarshalTime writes the Time scalar: RFC 3339 with nanoseconds, formatted into a stack buffer.
// RFC 3339 text never needs JSON escaping, so it skips graphql.MarshalTime's strconv.Quote,
// which showed up at 7% of a user-vector request (one timestamp per event).
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		var buf [48]byte
		b := append(buf[:0], '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
		_, _ = w.Write(b)
	})
}

// UnmarshalTime (serving.UnmarshalTime) reads the Time scalar as gqlgen's own Time does (RFC 3339), with an error that
// says what was given and what is expected.
func UnmarshalTime(v any) (time.Time, error) { return serving.UnmarshalTime(v) }
