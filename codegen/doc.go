// Package codegen turns a feature registry into the GraphQL schema (schema/*.graphqls), the Go
// models bound to it (graph/model) and the resolver glue (resolvers/*_gen.go), then runs gqlgen
// to produce the execution code (graph/). Output is deterministic: the same registry gives
// byte-identical files. `go generate ./...` and `featuregraph generate` both call Generate.
package codegen
