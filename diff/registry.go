package diff

import (
	"fmt"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// Compare classifies every change from base to head: the generated schemas are compared for
// what clients see, the registries for what stored data and ingestion see.
func Compare(base, head *registry.Registry) (*Report, error) {
	bs, err := loadSchema("base", schema.SDL(base))
	if err != nil {
		return nil, err
	}
	hs, err := loadSchema("head", schema.SDL(head))
	if err != nil {
		return nil, err
	}
	r := &Report{}
	compareSchemas(r, bs, hs)
	compareStored(r, base, head)
	r.sort()
	return r, nil
}

// compareStored adds the changes that orphan, misread or trim stored values, and the registry
// changes the schema does not show (ingestion rules, retention raised).
func compareStored(r *Report, base, head *registry.Registry) {
	for _, be := range base.Entities {
		he := head.Entity(be.Name)
		if he == nil {
			continue // the schema diff reports the removed types and fields
		}
		if be.Prefix != he.Prefix {
			r.add(BreakingData, "prefix-changed", be.Name, "entity %s: prefix %q → %q: every stored value of the entity is under the old keys and reads as missing", be.Name, be.Prefix, he.Prefix)
		}
		if be.IDType != he.IDType {
			r.add(BreakingData, "id-type-changed", be.Name, "entity %s: id type %s → %s: stored keys and joins to it were written with the old ids", be.Name, be.IDType, he.IDType)
		}
		var removed, added []*registry.Feature
		for _, bf := range be.Features() {
			hf := he.Feature(bf.Name)
			if hf == nil {
				removed = append(removed, bf)
				continue
			}
			compareFeature(r, bf, hf)
		}
		for _, hf := range he.Features() {
			if be.Feature(hf.Name) == nil {
				added = append(added, hf)
			}
		}
		// A feature renamed in the YAML is stored under a new key: nothing stored under the old
		// name is read by the new one.
		for _, bf := range removed {
			for _, hf := range added {
				if storedShape(bf) == storedShape(hf) {
					subj := be.Name + "." + bf.Name
					r.add(BreakingData, "feature-renamed", subj, "feature %s looks renamed to %s.%s: its stored values stay under %s#<id>#%s and the new name reads none of them",
						subj, he.Name, hf.Name, be.Prefix, bf.Name)
					break
				}
			}
		}
	}
}

func compareFeature(r *Report, bf, hf *registry.Feature) {
	subj := bf.Entity.Name + "." + bf.Name
	if bf.OnDemand() || hf.OnDemand() {
		compareOnDemand(r, subj, bf, hf)
		return
	}
	if bf.FeatureType != hf.FeatureType {
		r.add(BreakingData, "feature-type-changed", subj, "feature %s: %s → %s: the stored values are of the other kind and are misread", subj, bf.FeatureType, hf.FeatureType)
		return
	}
	if eventsString(bf) != eventsString(hf) {
		r.add(Safe, "ingestion-changed", subj, "feature %s: its ingestion rules (events, filters, paths) changed; they apply to events ingested from now on", subj)
	}
	if bf.Limits != hf.Limits {
		r.add(Safe, "limits-changed", subj, "feature %s: value limits %s → %s: events ingested from now on over them are rejected; stored values stay", subj, bf.Limits, hf.Limits)
	}
	if bf.FeatureType == registry.Static {
		if bf.Type != hf.Type || bf.Container != hf.Container {
			r.add(BreakingData, "value-type-changed", subj, "feature %s: value type %s → %s: stored values are misread or fail to decode until rewritten",
				subj, staticType(bf), staticType(hf))
		}
		compareHistory(r, subj, bf, hf)
		if fmt.Sprint(bf.DefaultValue) != fmt.Sprint(hf.DefaultValue) {
			r.add(Safe, "default-value-changed", subj, "feature %s: defaultValue %v → %v: answered for entities with no stored value", subj, orNull(bf.DefaultValue), orNull(hf.DefaultValue))
		}
		return
	}
	for _, bfl := range bf.Fields {
		hfl := hf.Field(bfl.Name)
		if hfl == nil {
			continue // the schema diff reports the removed field
		}
		fs := subj + "." + bfl.Name
		if bfl.Type != hfl.Type {
			r.add(BreakingData, "value-type-changed", fs, "field %s of stored events: type %s → %s: stored events are misread", fs, bfl.Type, hfl.Type)
		}
		// Adding or dropping a join changes only the schema (reported there); a new target
		// reads the stored ids as another entity's.
		if bfl.Join != hfl.Join && bfl.Join != "" && hfl.Join != "" {
			r.add(BreakingData, "join-target-changed", fs, "field %s joins %s → %s: stored ids refer to %s", fs, bfl.Join, hfl.Join, bfl.Join)
		}
	}
	switch {
	case hf.MaxCount < bf.MaxCount:
		r.add(BreakingData, "max-count-lowered", subj, "feature %s: maxCount %d → %d: stored series are trimmed to %d events on their next write", subj, bf.MaxCount, hf.MaxCount, hf.MaxCount)
	case hf.MaxCount > bf.MaxCount:
		r.add(Safe, "max-count-raised", subj, "feature %s: maxCount %d → %d", subj, bf.MaxCount, hf.MaxCount)
	}
	switch {
	case ttlLess(hf.TTL, bf.TTL):
		r.add(BreakingData, "ttl-lowered", subj, "feature %s: ttl %s → %s: stored events older than %s are no longer answered", subj, ttlString(bf.TTL), ttlString(hf.TTL), ttlString(hf.TTL))
	case ttlLess(bf.TTL, hf.TTL):
		r.add(Safe, "ttl-raised", subj, "feature %s: ttl %s → %s (events already expired stay gone)", subj, ttlString(bf.TTL), ttlString(hf.TTL))
	}
	if bf.Dedupe != hf.Dedupe {
		r.add(BreakingData, "dedupe-toggled", subj, "feature %s: dedupe %t → %t: stored members are encoded the other way, so repeats of stored events are no longer recognised",
			subj, bf.Dedupe, hf.Dedupe)
	}
	if bf.DefaultCount != hf.DefaultCount {
		r.add(Safe, "default-count-changed", subj, "feature %s: defaultCount %d → %d: queries without count get that many events", subj, bf.DefaultCount, hf.DefaultCount)
	}
}

// compareHistory classifies a change of a static feature's history option: dropping it makes
// asOf on the feature an error (and keeps no more versions); a shorter historyTTL forgets
// versions sooner.
func compareHistory(r *Report, subj string, bf, hf *registry.Feature) {
	switch {
	case bf.History && !hf.History:
		r.add(BreakingClient, "history-removed", subj, "feature %s: history: true → false: point-in-time queries (asOf) selecting it become errors, and no more versions are kept", subj)
	case !bf.History && hf.History:
		r.add(Safe, "history-added", subj, "feature %s: keeps history from now on: asOf answers versions written from now on (earlier times answer the default or null)", subj)
	case bf.History && ttlLess(hf.HistoryTTL, bf.HistoryTTL):
		r.add(BreakingData, "history-ttl-lowered", subj, "feature %s: historyTTL %s → %s: versions older than %s are no longer answered",
			subj, ttlString(bf.HistoryTTL), ttlString(hf.HistoryTTL), ttlString(hf.HistoryTTL))
	}
}

// ttlLess reports whether a keeps events for less time than b (0 = forever).
func ttlLess(a, b time.Duration) bool {
	if a == b || a == 0 {
		return false
	}
	return b == 0 || a < b
}

func ttlString(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

func orNull(v any) any {
	if v == nil {
		return "null"
	}
	return v
}

func staticType(f *registry.Feature) string {
	if f.Container == "" || f.Container == registry.Single {
		return string(f.Type)
	}
	return fmt.Sprintf("%s %s", f.Container, f.Type)
}

// storedShape is what a feature's stored values look like, to recognise a rename.
func storedShape(f *registry.Feature) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%d|%d|%t|", f.FeatureType, f.Type, f.Container, f.MaxCount, f.TTL, f.Dedupe)
	for _, fl := range f.Fields {
		fmt.Fprintf(&b, "%s:%s:%s,", fl.Name, fl.Type, fl.Join)
	}
	b.WriteString(eventsText(f, false))
	return b.String()
}

// eventsString is a canonical text of a feature's ingestion rules.
func eventsString(f *registry.Feature) string { return eventsText(f, true) }

// eventsText is eventsString, without the fields' targets unless withTargets (a static
// feature's event field targets the feature's own name, which a rename changes).
func eventsText(f *registry.Feature, withTargets bool) string {
	var b strings.Builder
	for _, es := range f.Events {
		fmt.Fprintf(&b, "[%s|%s|%s|%s|%s|", es.StreamName, es.Topic, es.SubTopic, es.EntityID, es.Timestamp)
		for _, fl := range es.Filters {
			fmt.Fprintf(&b, "%s:%s:%s:%v,", fl.Path, fl.Type, fl.Op, fl.Values)
		}
		b.WriteString("|")
		for _, ef := range es.Fields {
			target := ""
			if withTargets {
				target = ef.Target()
			}
			fmt.Fprintf(&b, "%s>%s:%s:%t,", ef.Path, target, ef.Type, ef.Required)
		}
		b.WriteString("]")
	}
	return b.String()
}
