package model

import (
	"bytes"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

func TestMarshalTimeMatchesGqlgen(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 10, 15, 8, 12, 0, 0, time.UTC),
		time.Date(2026, 10, 15, 8, 12, 0, 123456789, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("KST", 9*3600)),
		{},
	} {
		var got, want bytes.Buffer
		MarshalTime(tm).MarshalGQL(&got)
		graphql.MarshalTime(tm).MarshalGQL(&want)
		if got.String() != want.String() {
			t.Fatalf("%v: got %s, want %s", tm, got.String(), want.String())
		}
	}
}
