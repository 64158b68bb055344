package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// compareOnDemand classifies the changes of a feature that is on demand (service or derived)
// in base or head. Nothing of an on-demand feature is stored, so its own changes are safe for
// stored data (the schema diff reports what clients see: its type, its arguments); a stored
// feature that becomes on demand leaves its stored values unread.
func compareOnDemand(r *Report, subj string, bf, hf *registry.Feature) {
	switch {
	case !bf.OnDemand():
		r.add(BreakingData, "feature-type-changed", subj, "feature %s: %s → %s: its stored values are no longer read (the feature is answered on demand)", subj, bf.FeatureType, hf.FeatureType)
		return
	case !hf.OnDemand():
		r.add(Safe, "feature-type-changed", subj, "feature %s: %s → %s: answered from the stores from now on (nothing is stored for it yet)", subj, bf.FeatureType, hf.FeatureType)
		return
	case bf.FeatureType != hf.FeatureType:
		r.add(Safe, "source-changed", subj, "feature %s: %s → %s: %s → %s", subj, bf.FeatureType, hf.FeatureType, onDemandSource(bf), onDemandSource(hf))
		return
	}
	if b, h := onDemandSource(bf), onDemandSource(hf); b != h {
		code := "source-changed"
		if bf.FeatureType == registry.DerivedFeature {
			code = "expression-changed"
		}
		r.add(Safe, code, subj, "feature %s: %s → %s: answered so from the next request", subj, b, h)
	}
	if fmt.Sprint(bf.DefaultValue) != fmt.Sprint(hf.DefaultValue) {
		r.add(Safe, "default-value-changed", subj, "feature %s: defaultValue %v → %v: answered for entities the service has no value for", subj, orNull(bf.DefaultValue), orNull(hf.DefaultValue))
	}
}

// onDemandSource is a canonical text of where an on-demand feature's value comes from: its
// service (name, every option of its http block, the field read), or its expression.
func onDemandSource(f *registry.Feature) string {
	if f.FeatureType == registry.DerivedFeature {
		return "expr `" + strings.Join(strings.Fields(f.Expr), " ") + "`"
	}
	if f.Source == nil {
		return "no source"
	}
	h := f.Source.HTTP
	var headers []string
	for k, v := range h.Headers {
		headers = append(headers, k+"="+v)
	}
	sort.Strings(headers)
	return fmt.Sprintf("service %s (%s %s, timeout %s, batchSize %d, concurrency %d, cacheTTL %s, negativeCacheTTL %s, maxResponseBytes %d, headers [%s]) field %s",
		f.Source.Name, h.Method, h.URL, h.Timeout, h.BatchSize, h.Concurrency, h.CacheTTL, h.NegativeCacheTTL, h.MaxResponseBytes, strings.Join(headers, " "), f.SourceField)
}
