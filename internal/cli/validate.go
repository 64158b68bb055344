package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/featuregraph/featuregraph/internal/app"
)

// validateCmd is `featuregraph validate`: load the registry and print every problem.
type validateCmd struct{ features string }

func (c *validateCmd) flags(fs *flag.FlagSet) { app.FeaturesFlag(fs, &c.features) }

func (c *validateCmd) run(_ context.Context, e *env) error {
	reg, _, err := app.LoadRegistry(c.features, nil)
	if err != nil {
		return err
	}
	n := 0
	for _, en := range reg.Entities {
		n += len(en.Features())
	}
	fmt.Fprintf(e.stdout, "%s: valid: %d entities, %d features, %d streams\n", c.features, len(reg.Entities), n, len(reg.Streams))
	return nil
}
