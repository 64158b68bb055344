package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/featuregraph/featuregraph/internal/buildinfo"
)

// versionCmd is `featuregraph version`: the build information (the admin endpoint's
// /buildinfo, in one line).
type versionCmd struct{}

func (versionCmd) flags(*flag.FlagSet) {}

func (versionCmd) run(_ context.Context, e *env) error {
	fmt.Fprintln(e.stdout, "featuregraph", buildinfo.Read().Short())
	return nil
}
