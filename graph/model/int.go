package model

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/serving"
)

// MarshalInt writes the Int scalar as gqlgen's own Int does. Stored values are not range
// checked on output: a value an older event stored beyond 32 bits is still answered.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int argument or variable (serving.UnmarshalInt). The GraphQL specification's Int is a signed
// 32-bit integer, and a value outside that range is a coercion error (gqlgen's Int accepts 64
// bits). Entity ids beyond 2^31-1 need `idType: String`.
func UnmarshalInt(v any) (int, error) { return serving.UnmarshalInt(v) }
