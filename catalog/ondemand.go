package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// onDemandView is where an on-demand feature's value comes from: a service (its name, endpoint
// and call options, never its headers: they may hold tokens) or an expression.
type onDemandView struct {
	Service     string   `json:"service,omitempty"`
	Method      string   `json:"method,omitempty"`
	URL         string   `json:"url,omitempty"`
	Field       string   `json:"field,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	BatchSize   int      `json:"batchSize,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	CacheTTL    string   `json:"cacheTTL,omitempty"`
	Expr        string   `json:"expr,omitempty"`
	Arguments   []string `json:"arguments,omitempty"`
}

func onDemandSource(f *registry.Feature) *onDemandView {
	switch f.FeatureType {
	case registry.ServiceFeature:
		h := f.Source.HTTP
		v := &onDemandView{Service: f.Source.Name, Method: h.Method, URL: h.URL, Field: f.SourceField,
			Timeout: h.Timeout.String(), BatchSize: h.BatchSize, Concurrency: h.Concurrency}
		if h.PerID() {
			v.BatchSize = 1
		}
		if h.CacheTTL > 0 {
			v.CacheTTL = duration(h.CacheTTL)
		}
		return v
	case registry.DerivedFeature:
		v := &onDemandView{Expr: strings.TrimSpace(f.Expr)}
		for _, a := range f.Arguments {
			d, _ := json.Marshal(a.DefaultValue)
			v.Arguments = append(v.Arguments, fmt.Sprintf("%s: %s = %s", schema.ArgumentName(a), a.Type, d))
		}
		return v
	}
	return nil
}
