// Command generate regenerates the schema, models, resolver glue and gqlgen execution code from
// the feature registry. `go generate ./...` runs it from the module root; it imports nothing that
// is generated, so it works even when the generated code is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/featuregraph/featuregraph/codegen"
)

func main() {
	features := flag.String("features", "./features", "directory of the feature registry (*.yaml)")
	flag.Parse()
	if err := codegen.Generate(".", *features); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
