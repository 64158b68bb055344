package model

import (
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt writes the Int scalar as gqlgen's own Int does. Stored values are not range
// checked on output: a value an older event stored beyond 32 bits is still answered.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int argument or variable. The GraphQL specification's Int is a signed
// 32-bit integer, and a value outside that range is a coercion error (gqlgen's Int accepts 64
// bits). Entity ids beyond 2^31-1 need `idType: String`.
func UnmarshalInt(v any) (int, error) {
	n, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("Int cannot represent non 32-bit signed integer value: %d", n)
	}
	return int(n), nil
}
