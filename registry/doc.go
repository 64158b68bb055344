// Package registry is the feature registry: it loads the YAML feature definitions under a
// directory, validates them strictly (every problem reported at once, each with file, line and
// the fix) and produces the typed model that the code generator, the resolvers and ingestion
// share. Nothing in featuregraph runs on an invalid registry.
package registry
