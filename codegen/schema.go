package codegen

import (
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// The SDL and the fingerprint are rendered by package schema, which the server imports without
// the generator.

// SDL renders the GraphQL schema of a registry (schema.SDL).
func SDL(reg *registry.Registry) []byte { return schema.SDL(reg) }

// Fingerprint identifies the schema a registry produces (schema.Fingerprint).
func Fingerprint(reg *registry.Registry) string { return schema.Fingerprint(reg) }

func staticGQLType(f *registry.Feature) string { return schema.StaticGQLType(f) }
func mapEntryType(t registry.Type) string      { return schema.MapEntryType(t) }
func mapTypes(reg *registry.Registry) []registry.Type {
	return schema.MapTypes(reg)
}
