package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/featuregraph/featuregraph/internal/app"
)

// generateCmd is `featuregraph generate`.
type generateCmd struct{ features string }

func (c *generateCmd) flags(fs *flag.FlagSet) { app.FeaturesFlag(fs, &c.features) }

// run regenerates the schema, models, glue and gqlgen code by running the generator
// (./codegen/cmd/generate) with the Go toolchain, as `go generate ./...` does. It must run from the
// module root (where gqlgen.yml is). The generator is not linked into this binary: it pulls in
// gqlgen's code generator and golang.org/x/tools, which serving never needs.
func (c *generateCmd) run(ctx context.Context, e *env) error {
	if _, err := os.Stat("gqlgen.yml"); err != nil {
		return fmt.Errorf("generate must run from the featuregraph module root (no gqlgen.yml here): %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./codegen/cmd/generate", "--features", c.features)
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("generate: go run ./codegen/cmd/generate: %w", err)
	}
	fmt.Fprintln(e.stdout, "generated schema/schema.graphqls, graph/model/models_gen.go, resolvers/resolvers_gen.go and graph/generated.go")
	return nil
}
