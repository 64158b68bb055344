package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/playground"
	"github.com/featuregraph/featuregraph/registry"
)

// Generation is everything the gateway serves that depends on the registry: the GraphQL server
// (the executor and its compiled plans, the parsed-query and APQ caches, the cost table, the
// registry extension), the playground page (its example query) and the catalog. It is built
// whole by Build, off to the side, and published at once by Publish; it never changes after.
//
// A GraphQL request loads the published generation once, when it is admitted, and runs on it
// to the end: an answer never mixes two registries, and a request in flight during a reload
// finishes on the registry it started with. The previous generation is garbage once its last
// request ends. The limits, admission, metrics and the store are the gateway's, shared by every
// generation.
type Generation struct {
	reg     *registry.Registry
	info    RegistryInfo
	gql     http.Handler
	page    http.Handler // nil when the playground is off
	catalog http.Handler // nil when the catalog is off
}

// RegistryInfo names a registry being served.
type RegistryInfo struct {
	// Fingerprint identifies the registry (the live registry's hash of its files; see
	// registry/source). Empty: none given.
	Fingerprint string
	// LoadedAt is when it was taken.
	LoadedAt time.Time
}

// Registry is the generation's registry.
func (gen *Generation) Registry() *registry.Registry { return gen.reg }

// Info names the generation's registry.
func (gen *Generation) Info() RegistryInfo { return gen.info }

// Build builds the generation of reg without publishing it: an error leaves the gateway serving
// what it served.
func (g *Gateway) Build(reg *registry.Registry, info RegistryInfo) (*Generation, error) {
	gql, err := g.buildGraphQL(reg, info)
	if err != nil {
		return nil, err
	}
	gen := &Generation{reg: reg, info: info, gql: gql}
	if g.cfg.Playground {
		gen.page = playground.Page(playground.Config{Endpoint: "/graphql", DefaultQuery: catalog.RegistryExample(reg)})
	}
	if g.cfg.Catalog {
		cc := catalog.Config{Peers: g.cfg.CatalogPeers, Offline: g.cfg.Offline, Registry: g.cfg.RegistryStatus}
		if g.cfg.Playground {
			cc.Playground = "/"
		}
		if g.cfg.Metrics != nil {
			cc.Figures = g.cfg.Metrics
		}
		gen.catalog = catalog.New(reg, cc)
	}
	return gen, nil
}

// Publish makes gen the generation served: requests admitted from now on use it.
func (g *Gateway) Publish(gen *Generation) { g.gen.Store(gen) }

// Serving is the generation being served.
func (g *Gateway) Serving() *Generation { return g.gen.Load() }

// registryStatus is what /readyz says about the registry.
func (g *Gateway) registryStatus() catalog.RegistryStatus {
	if g.cfg.RegistryStatus != nil {
		return g.cfg.RegistryStatus()
	}
	info := g.gen.Load().info
	return catalog.RegistryStatus{Fingerprint: info.Fingerprint, LoadedAt: info.LoadedAt}
}

// registryExtension adds extensions.registry to every answer (Config.RegistryExtension): the
// fingerprint of the generation whose server it belongs to, so it is the registry that
// answered.
type registryExtension struct{ fingerprint string }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = registryExtension{}

func (registryExtension) ExtensionName() string                   { return "RegistryExtension" }
func (registryExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (e registryExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["registry"] = map[string]string{"fingerprint": e.fingerprint}
	return resp
}
