package main

import (
	"context"
	"fmt"

	"github.com/featuregraph/featuregraph/codegen"
)

// runGenerate regenerates the schema, models, glue and gqlgen code. It must run from the module
// root (where gqlgen.yml is), as `go generate ./...` does.
func runGenerate(_ context.Context, e *cmdEnv) error {
	if err := codegen.Generate(".", e.opts.features); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "generated", codegen.SchemaFile, codegen.ModelsFile, codegen.GlueFile, "and graph/generated.go")
	return nil
}
