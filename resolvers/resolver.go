// Package resolvers answers GraphQL queries from the feature stores. resolvers_gen.go (generated
// from the registry) binds every entity and feature; the hand-written files here do the work
// once for all of them: batched entity loading with only the selected static features, action
// reads with count/lastNSec, joins, and the error presenter.
package resolvers

import (
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/graph"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/serving"
)

// Config holds the serving limits (serving.Config).
type Config = serving.Config

// Recorder is told how many values of a feature a request read (serving.Recorder).
type Recorder = serving.Recorder

type nopRecorder = serving.NopRecorder

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return serving.DefaultConfig() }

// Resolver is the gqlgen ResolverRoot. Stores are reached through the per-request loaders
// (resolvers/loader), which the HTTP handler puts in every request's context.
type Resolver struct {
	reg *registry.Registry
	cfg Config
	// staticByField maps entity → GraphQL field name → static feature.
	staticByField map[string]map[string]*registry.Feature
	// actionByField maps entity → GraphQL field name → action feature name.
	actionByField map[string]map[string]string
}

// New returns the resolver for reg. It fails when reg does not produce the schema this binary
// was generated from (run `go generate ./...` and rebuild), so a registry edit can never serve a
// schema that does not match it.
func New(reg *registry.Registry, cfg Config) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if fp := schema.Fingerprint(reg); fp != SchemaFingerprint {
		return nil, fmt.Errorf("the feature registry gives schema %s but this binary serves schema %s: "+
			"the YAML changed since the last generation; run `go generate ./...` and rebuild", fp, SchemaFingerprint)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	r := &Resolver{reg: reg, cfg: cfg,
		staticByField: map[string]map[string]*registry.Feature{},
		actionByField: map[string]map[string]string{},
	}
	for entity, features := range bound {
		e := reg.Entity(entity)
		if e == nil {
			return nil, fmt.Errorf("resolvers: entity %q is not in the registry", entity)
		}
		m := map[string]*registry.Feature{}
		acts := map[string]string{}
		for _, name := range features {
			f := e.Feature(name)
			if f == nil {
				return nil, fmt.Errorf("resolvers: feature %s.%s is not in the registry", entity, name)
			}
			if f.FeatureType == registry.Static {
				m[f.GraphQLName()] = f
			} else {
				acts[f.GraphQLName()] = f.Name
			}
		}
		r.staticByField[entity] = m
		r.actionByField[entity] = acts
	}
	return r, nil
}

// NewExecutableSchema is gqlgen's generated executor (package graph) over these resolvers: the
// typed reference the run-time executor (package plan) is tested against, byte for byte
// (plan/diff_test.go), and measured against (bench -executor gqlgen). It serves only the
// registry this binary was generated from (New checks), and reads through the per-request
// dataloaders (store/loader's Middleware), which gateway.Config.Schema installs.
func NewExecutableSchema(reg *registry.Registry, cfg Config) (graphql.ExecutableSchema, error) {
	res, err := New(reg, cfg)
	if err != nil {
		return nil, err
	}
	return graph.NewExecutableSchema(graph.Config{Resolvers: res}), nil
}
