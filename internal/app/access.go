package app

import (
	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/gateway"
)

// AccessPart re-reads the clients file at path and compiles it against every registry a reload
// takes, and swaps the policy into g with that registry: a feature the reload adds is readable
// by the clients whose grants match it (a name, glob, tag or owner), and a clients file that no
// longer fits the registry (a granted feature removed, say) refuses the reload with its problem,
// the old registry and policy serving on. The OIDC key set is kept when the file's oidc block
// is unchanged. Add it before GatewayPart: the policy is published before the plans.
func AccessPart(g *gateway.Gateway, path string) Part {
	return Part{Name: "access", Build: func(gen *Generation) (func(), error) {
		p, err := auth.LoadFile(path, gen.Registry, auth.Options{Previous: g.Policy()})
		if err != nil {
			return nil, err
		}
		return func() { g.SetPolicy(p) }, nil
	}}
}
