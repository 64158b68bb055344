// Package resolvers answers GraphQL queries from the feature stores. resolvers_gen.go (generated
// from the registry) binds every entity and feature; the hand-written files here do the work
// once for all of them: batched entity loading with only the selected static features, action
// reads with count/lastNSec, joins, and the error presenter.
package resolvers

import (
	"fmt"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// Config holds the serving limits.
type Config struct {
	// MaxIDs is the most ids one batch field (users(ids:)) accepts. Default 1000.
	MaxIDs int
	// MaxCount caps the count argument of every action field, on top of the feature's
	// maxCount. Default 10000.
	MaxCount int
	// Recorder counts feature reads (Prometheus metrics). Default nil: not counted.
	Recorder Recorder
}

// Recorder is told how many values of a feature a request read.
type Recorder interface {
	FeatureRead(entity, feature string, n int)
}

type nopRecorder struct{}

func (nopRecorder) FeatureRead(string, string, int) {}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{MaxIDs: 1000, MaxCount: 10000} }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.MaxIDs < 1 {
		return fmt.Errorf("resolvers: max ids %d must be at least 1", c.MaxIDs)
	}
	if c.MaxCount < 1 {
		return fmt.Errorf("resolvers: max count %d must be at least 1", c.MaxCount)
	}
	return nil
}

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
