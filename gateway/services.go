package gateway

import (
	"github.com/featuregraph/featuregraph/plan"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/service"
)

// services is the fetcher of the registry's service features: Config.Services, else clients
// with the default options that report their calls and cache lookups to Metrics (backend and
// cache "service:<name>"). A registry without services gets none (plan builds its empty set).
func (g *Gateway) services(reg *registry.Registry) plan.ServiceFetcher {
	if g.cfg.Services != nil {
		return g.cfg.Services
	}
	if len(reg.Services) == 0 || g.cfg.Metrics == nil {
		return nil
	}
	set, err := service.New(reg, service.Config{Observer: g.cfg.Metrics})
	if err != nil {
		return nil // the defaults validate; plan.New builds its own set
	}
	return set
}
